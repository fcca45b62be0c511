// Checker tests on a simulated clock with a scripted fake prober: no
// sleeps, no sockets; time is advanced explicitly.
#include "checker/checker.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <map>

#include "config/loader.h"

namespace maglev {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// Answers every probe after `latency` with the scripted outcome for the
// address (pass by default). Records every probe start.
class FakeRunner : public ProbeRunner {
 public:
  explicit FakeRunner(SimDispatcher& d) : d_(d) {}
  void Run(const ProbeSpec& spec, std::function<void(ProbeResult)> done) override {
    std::string addr = spec.address.ToString();
    starts_.push_back({addr, d_.Now()});
    ++count_[addr];
    if (hold_.count(addr)) {
      held_.push_back(std::move(done));
      return;
    }
    bool ok = !failing_.count(addr);
    ProbeResult r{ok, ok ? "L7OK" : "L7STS", ok ? "HTTP 200" : "HTTP 503", latency_};
    // The result arrives after `latency_`, from a timer the runner owns (so a
    // delivery still pending at the end of a test is simply cancelled).
    timers_.push_back(d_.CreateTimer([done, r] { done(r); }));
    timers_.back()->Enable(latency_);
  }
  void Fail(const std::string& a) { failing_.insert(a); }
  void Heal(const std::string& a) { failing_.erase(a); }
  void Hold(const std::string& a) { hold_.insert(a); }
  int count(const std::string& a) const {
    auto it = count_.find(a);
    return it == count_.end() ? 0 : it->second;
  }
  std::vector<std::pair<std::string, MonoTime>> starts_;
  std::vector<std::function<void(ProbeResult)>> held_;
  std::vector<std::unique_ptr<Timer>> timers_;
  Duration latency_ = milliseconds(10);

 private:
  SimDispatcher& d_;
  std::set<std::string> failing_, hold_;
  std::map<std::string, int> count_;
};

const char* kBase = R"(
maglev:
  vpp:
    lb:
      ipv4-src-address: 192.0.2.1
  healthchecks:
    hc:
      type: http
      port: 80
      interval: 2s
      fast-interval: 500ms
      down-interval: 10s
      timeout: 1s
      rise: 2
      fall: 3
  backends:
    a: { address: 127.0.0.1, healthcheck: hc }
    b: { address: 127.0.0.2, healthcheck: hc }
    s: { address: 127.0.0.3 }
    unused: { address: 127.0.0.4, healthcheck: hc }
  frontends:
    web:
      address: 192.0.2.80
      port: 80
      pools:
        - name: primary
          backends: { a: {}, b: { weight: 50 } }
        - name: fallback
          backends: { s: {} }
    api:
      address: 192.0.2.81
      port: 443
      pools:
        - name: main
          backends: { a: {} }
)";

std::shared_ptr<const Config> Parse(const std::string& yaml) {
  ConfigResult r = ParseConfig(yaml);
  EXPECT_TRUE(r.ok()) << r.error;
  return r.config;
}

std::string Replace(std::string s, const std::string& from, const std::string& to) {
  auto pos = s.find(from);
  EXPECT_NE(pos, std::string::npos) << from;
  if (pos != std::string::npos) s.replace(pos, from.size(), to);
  return s;
}

class CheckerTest : public ::testing::Test {
 protected:
  CheckerTest() : runner_(d_), checker_(d_, runner_, CheckerOptions{1234, 0.10}) {
    checker_.AddListener([this](const CheckerEvent& e) { events_.push_back(e); });
  }
  std::vector<CheckerEvent> Transitions(const std::string& backend) {
    std::vector<CheckerEvent> out;
    for (auto& e : events_)
      if (e.kind == CheckerEvent::Kind::kBackendTransition && e.backend == backend)
        out.push_back(e);
    return out;
  }
  SimDispatcher d_;
  FakeRunner runner_;
  Checker checker_;
  std::vector<CheckerEvent> events_;
};

TEST_F(CheckerTest, OneSessionPerBackendAndUnreferencedNotProbed) {
  checker_.Start(Parse(kBase));
  EXPECT_EQ(checker_.BackendNames(), (std::vector<std::string>{"a", "b", "s"}));
  d_.Advance(seconds(60));
  EXPECT_EQ(runner_.count("127.0.0.4"), 0);  // unused: not probed
  EXPECT_EQ(runner_.count("127.0.0.3"), 0);  // static: never probed
  // `a` is used by two frontends but probed once per interval: at most
  // 60s / (2s * 0.9) + 1 probes.
  EXPECT_GT(runner_.count("127.0.0.1"), 20);
  EXPECT_LE(runner_.count("127.0.0.1"), 60 / 1.8 + 2);
  // Its transition event names both frontends. (Starting is not a
  // transition: the first event is the first probe's.)
  auto t = Transitions("a");
  ASSERT_GE(t.size(), 1u);
  EXPECT_EQ(t[0].transition.from, BackendState::kUnknown);
  EXPECT_EQ(t[0].transition.to, BackendState::kUp);
  EXPECT_EQ(t[0].frontends, (std::vector<std::string>{"api", "web"}));
}

TEST_F(CheckerTest, StaticBackendIsUpAtOnce) {
  checker_.Start(Parse(kBase));
  EXPECT_EQ(checker_.StateOf("s"), BackendState::kUp);
  EXPECT_EQ(checker_.StateOf("a"), BackendState::kUnknown);
  auto snap = checker_.GetBackend("s");
  ASSERT_TRUE(snap);
  EXPECT_EQ(snap->transitions[0].code, "static");
}

TEST_F(CheckerTest, FirstProbesAreSpreadOverTheFirstInterval) {
  std::string yaml = kBase;
  // 200 backends on one check.
  std::string backends, pool;
  for (int i = 0; i < 200; ++i) {
    backends += "    n" + std::to_string(i) + ": { address: 127.1.0." + std::to_string(i + 1) +
                ", healthcheck: hc }\n";
    pool += "n" + std::to_string(i) + ": {}, ";
  }
  yaml = Replace(yaml, "    unused:", backends + "    unused:");
  yaml = Replace(yaml, "backends: { a: {} }", "backends: { a: {}, " + pool + "}");
  checker_.Start(Parse(yaml));
  MonoTime t0 = d_.Now();
  d_.Advance(seconds(2));
  std::set<std::string> probed;
  int in_first_half = 0;
  for (auto& [addr, at] : runner_.starts_) {
    if (probed.insert(addr).second && at - t0 < seconds(1)) ++in_first_half;
  }
  EXPECT_EQ(probed.size(), 202u);  // every checked backend once within the first interval
  // Not a thundering herd: roughly half start in each half of the interval.
  EXPECT_GT(in_first_half, 60);
  EXPECT_LT(in_first_half, 142);
}

TEST_F(CheckerTest, IntervalsFollowTheCounterWithJitter) {
  checker_.Start(Parse(kBase));
  d_.Advance(seconds(30));  // `a` fully up by now
  runner_.starts_.clear();
  d_.Advance(seconds(40));
  std::vector<MonoTime> at;
  for (auto& [addr, t] : runner_.starts_)
    if (addr == "127.0.0.1") at.push_back(t);
  ASSERT_GT(at.size(), 10u);
  for (size_t i = 1; i < at.size(); ++i) {
    Duration gap = at[i] - at[i - 1];
    EXPECT_GE(gap, milliseconds(1800));                                 // 2s - 10%
    EXPECT_LE(gap, milliseconds(2200) + CheckerOptions{}.timer_slack);  // 2s + 10% (+ grid)
  }
  // Now it fails: fast interval while degraded, down-interval when fully down.
  runner_.Fail("127.0.0.1");
  runner_.starts_.clear();
  d_.Advance(seconds(60));
  at.clear();
  for (auto& [addr, t] : runner_.starts_)
    if (addr == "127.0.0.1") at.push_back(t);
  ASSERT_GT(at.size(), 6u);
  // Counter 4 -> 3 -> 2 -> 1 (down) -> 0: the first gap after the first
  // failure is fast (counter 3), ... once at 0 the gaps are ~10s.
  Duration first = at[1] - at[0];
  EXPECT_GE(first, milliseconds(450));
  EXPECT_LE(first, milliseconds(550));
  Duration last = at.back() - at[at.size() - 2];
  EXPECT_GE(last, milliseconds(9000));
  EXPECT_LE(last, milliseconds(11000));
  EXPECT_EQ(checker_.StateOf("a"), BackendState::kDown);
}

TEST_F(CheckerTest, RiseAndFallProduceTransitionsWithCodes) {
  runner_.Fail("127.0.0.2");
  checker_.Start(Parse(kBase));
  d_.Advance(seconds(3));
  EXPECT_EQ(checker_.StateOf("b"), BackendState::kDown);
  auto t = Transitions("b");
  ASSERT_EQ(t.size(), 1u);  // no unknown -> unknown "start"
  EXPECT_EQ(t[0].transition.from, BackendState::kUnknown);
  EXPECT_EQ(t[0].transition.to, BackendState::kDown);
  EXPECT_EQ(t[0].transition.code, "L7STS");
  EXPECT_EQ(t[0].transition.detail, "HTTP 503");
  runner_.Heal("127.0.0.2");
  d_.Advance(seconds(25));
  EXPECT_EQ(checker_.StateOf("b"), BackendState::kUp);
  auto snap = checker_.GetBackend("b");
  ASSERT_TRUE(snap);
  EXPECT_EQ(snap->counter, 4);
  EXPECT_EQ(snap->transitions[0].to, BackendState::kUp);
  EXPECT_EQ(snap->transitions[0].code, "L7OK");
  EXPECT_GT(snap->stats.duration_count, 0u);
  EXPECT_GT((snap->stats.results[{"http", "L7OK"}]), 0u);
}

TEST_F(CheckerTest, PauseStopsProbesAndResumeRestartsThem) {
  checker_.Start(Parse(kBase));
  d_.Advance(seconds(10));
  ASSERT_TRUE(checker_.Pause("a").ok());
  EXPECT_EQ(checker_.StateOf("a"), BackendState::kPaused);
  int before = runner_.count("127.0.0.1");
  d_.Advance(seconds(60));
  EXPECT_EQ(runner_.count("127.0.0.1"), before);  // flat while paused
  auto r = checker_.Resume("a");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->state, BackendState::kUnknown);
  d_.Advance(milliseconds(100));
  EXPECT_EQ(runner_.count("127.0.0.1"), before + 1);  // probed at once
  EXPECT_EQ(checker_.StateOf("a"), BackendState::kUp);
  // History kept across pause/resume: up, paused, unknown, up.
  auto snap = checker_.GetBackend("a");
  ASSERT_GE(snap->transitions.size(), 4u);
  EXPECT_EQ(snap->transitions[2].to, BackendState::kPaused);
  EXPECT_EQ(snap->transitions[3].to, BackendState::kUp);
  EXPECT_EQ(snap->transitions[3].from, BackendState::kUnknown);
}

TEST_F(CheckerTest, ResultOfAProbeInFlightAtPauseIsIgnored) {
  runner_.Hold("127.0.0.1");
  checker_.Start(Parse(kBase));
  d_.Advance(seconds(3));
  ASSERT_EQ(runner_.held_.size(), 1u);
  ASSERT_TRUE(checker_.Pause("a").ok());
  runner_.held_[0](ProbeResult{false, "L7STS", "HTTP 503", {}});
  EXPECT_EQ(checker_.StateOf("a"), BackendState::kPaused);
}

TEST_F(CheckerTest, DisableEnableAndPreconditions) {
  checker_.Start(Parse(kBase));
  d_.Advance(seconds(10));
  auto d = checker_.Disable("a");
  ASSERT_TRUE(d.ok());
  EXPECT_FALSE(d->enabled);
  size_t n = events_.size();
  ASSERT_TRUE(checker_.Disable("a").ok());  // no-op, no event
  EXPECT_EQ(events_.size(), n);
  EXPECT_EQ(checker_.Pause("a").status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(checker_.Resume("a").status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(checker_.Pause("nope").status().code(), absl::StatusCode::kNotFound);
  int before = runner_.count("127.0.0.1");
  d_.Advance(seconds(30));
  EXPECT_EQ(runner_.count("127.0.0.1"), before);
  ASSERT_TRUE(checker_.Enable("a").ok());
  ASSERT_TRUE(checker_.Enable("a").ok());  // no-op
  d_.Advance(milliseconds(100));
  EXPECT_EQ(checker_.StateOf("a"), BackendState::kUp);
  // Static backends come back up at once on enable.
  ASSERT_TRUE(checker_.Disable("s").ok());
  EXPECT_EQ(checker_.StateOf("s"), BackendState::kDisabled);
  ASSERT_TRUE(checker_.Enable("s").ok());
  EXPECT_EQ(checker_.StateOf("s"), BackendState::kUp);
}

TEST_F(CheckerTest, FailoverThroughEffectiveWeightsAndFrontendEvents) {
  runner_.Fail("127.0.0.1");
  runner_.Fail("127.0.0.2");
  checker_.Start(Parse(kBase));
  d_.Advance(seconds(3));
  auto e = checker_.Effective("web");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->active_pool, 1);
  EXPECT_EQ(e->pools[1].backends[0].effective_weight, 100);
  EXPECT_EQ(checker_.Effective("api")->state, FrontendState::kDown);
  runner_.Heal("127.0.0.2");
  d_.Advance(seconds(30));
  e = checker_.Effective("web");
  EXPECT_EQ(e->active_pool, 0);
  EXPECT_EQ(e->pools[0].backends[1].effective_weight, 50);
  EXPECT_EQ(e->pools[1].backends[0].effective_weight, 0);
  bool saw_api_down = false;
  for (auto& ev : events_)
    if (ev.kind == CheckerEvent::Kind::kFrontendState && ev.frontends[0] == "api" &&
        ev.frontend_to == FrontendState::kDown)
      saw_api_down = true;
  EXPECT_TRUE(saw_api_down);
  EXPECT_EQ(checker_.Effective("nope").status().code(), absl::StatusCode::kNotFound);
}

// Failover to another pool, fail-back and the loss of the last backend are
// frontend events naming the old and new active pool and the reason, even
// when the frontend's own state (up) does not change.
TEST_F(CheckerTest, ActivePoolChangesAreFrontendEvents) {
  checker_.Start(Parse(kBase));
  d_.Advance(seconds(5));  // a, b up: web on primary, api on main
  auto frontend_events = [this](const std::string& fe) {
    std::vector<CheckerEvent> out;
    for (auto& e : events_)
      if (e.kind == CheckerEvent::Kind::kFrontendState && e.frontends[0] == fe) out.push_back(e);
    return out;
  };
  ASSERT_FALSE(frontend_events("web").empty());
  EXPECT_EQ(frontend_events("web").back().active_pool_to, "primary");
  events_.clear();

  ASSERT_TRUE(checker_.Disable("a").ok());
  EXPECT_TRUE(frontend_events("web").empty());  // b still carries primary
  auto api = frontend_events("api");
  ASSERT_EQ(api.size(), 1u);  // api lost its last backend
  EXPECT_EQ(api[0].frontend_from, FrontendState::kUp);
  EXPECT_EQ(api[0].frontend_to, FrontendState::kDown);
  EXPECT_EQ(api[0].active_pool_from, "main");
  EXPECT_EQ(api[0].active_pool_to, "");
  EXPECT_EQ(api[0].reason, "no pool has an up backend");

  ASSERT_TRUE(checker_.Disable("b").ok());
  auto web = frontend_events("web");
  ASSERT_EQ(web.size(), 1u);  // failover: still up, on the fallback pool
  EXPECT_EQ(web[0].frontend_from, FrontendState::kUp);
  EXPECT_EQ(web[0].frontend_to, FrontendState::kUp);
  EXPECT_EQ(web[0].active_pool_from, "primary");
  EXPECT_EQ(web[0].active_pool_to, "fallback");
  EXPECT_EQ(web[0].reason, "pool primary has no up backend");

  events_.clear();
  ASSERT_TRUE(checker_.Enable("b").ok());
  d_.Advance(seconds(1));
  web = frontend_events("web");
  ASSERT_EQ(web.size(), 1u);  // fail-back
  EXPECT_EQ(web[0].active_pool_from, "fallback");
  EXPECT_EQ(web[0].active_pool_to, "primary");
  EXPECT_EQ(web[0].reason, "pool primary has an up backend again");
}

TEST_F(CheckerTest, SetWeightValidatesAndEmits) {
  checker_.Start(Parse(kBase));
  d_.Advance(seconds(5));
  EXPECT_EQ(checker_.SetWeight("web", "primary", "a", 101).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(checker_.SetWeight("web", "primary", "a", -1).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(checker_.SetWeight("nope", "primary", "a", 1).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(checker_.SetWeight("web", "nope", "a", 1).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(checker_.SetWeight("web", "primary", "s", 1).code(), absl::StatusCode::kNotFound);
  events_.clear();
  ASSERT_TRUE(checker_.SetWeight("web", "primary", "a", 30).ok());
  ASSERT_FALSE(events_.empty());
  EXPECT_EQ(events_[0].kind, CheckerEvent::Kind::kWeightChange);
  EXPECT_EQ(checker_.Effective("web")->pools[0].backends[0].effective_weight, 30);
  EXPECT_EQ(checker_.Effective("web")->pools[0].backends[0].configured_weight, 30);
}

TEST_F(CheckerTest, ReloadKeepsUnchangedChecksRunning) {
  checker_.Start(Parse(kBase));
  d_.Advance(seconds(20));
  auto before = checker_.GetBackend("a");
  ASSERT_EQ(before->state, BackendState::kUp);
  ASSERT_TRUE(checker_.Disable("b").ok());
  ASSERT_TRUE(checker_.SetWeight("web", "primary", "a", 10).ok());
  // Reload: a description changes, a new backend joins, `s` is removed.
  std::string yaml = Replace(kBase, "        - name: fallback\n          backends: { s: {} }\n",
                             "        - name: fallback\n          backends: { n: {} }\n");
  yaml =
      Replace(yaml, "    unused:", "    n: { address: 127.0.0.9, healthcheck: hc }\n    unused:");
  events_.clear();
  int probes_a = runner_.count("127.0.0.1");
  checker_.Reload(Parse(yaml));
  auto after = checker_.GetBackend("a");
  EXPECT_EQ(after->state, BackendState::kUp);
  EXPECT_EQ(after->counter, before->counter);
  EXPECT_EQ(after->transitions.size(), before->transitions.size());  // no restart
  EXPECT_TRUE(Transitions("a").empty());
  // Runtime state survives: b still disabled, a's runtime weight kept.
  EXPECT_EQ(checker_.StateOf("b"), BackendState::kDisabled);
  EXPECT_EQ(checker_.Effective("web")->pools[0].backends[0].configured_weight, 10);
  // s removed (event), n started unknown.
  auto ts = Transitions("s");
  ASSERT_EQ(ts.size(), 1u);
  EXPECT_EQ(ts[0].transition.to, BackendState::kRemoved);
  EXPECT_EQ(ts[0].frontends, (std::vector<std::string>{"web"}));
  EXPECT_FALSE(checker_.GetBackend("s").has_value());
  EXPECT_EQ(checker_.StateOf("n"), BackendState::kUnknown);
  // a keeps probing on its schedule without interruption.
  d_.Advance(seconds(10));
  EXPECT_GE(runner_.count("127.0.0.1"), probes_a + 4);
  EXPECT_EQ(checker_.StateOf("n"), BackendState::kUp);
}

TEST_F(CheckerTest, ReloadRestartsChangedChecksAndAppliesYamlChanges) {
  checker_.Start(Parse(kBase));
  d_.Advance(seconds(20));
  ASSERT_TRUE(checker_.SetWeight("web", "primary", "b", 10).ok());
  ASSERT_TRUE(checker_.Disable("a").ok());
  // rise changes (restart of a and b); b's YAML weight changes (runtime
  // weight dropped); a's YAML `enabled` is untouched (stays disabled).
  std::string yaml = Replace(kBase, "      rise: 2", "      rise: 3");
  yaml = Replace(yaml, "b: { weight: 50 }", "b: { weight: 60 }");
  checker_.Reload(Parse(yaml));
  EXPECT_EQ(checker_.StateOf("b"), BackendState::kUnknown);
  EXPECT_EQ(checker_.GetBackend("b")->counter, 2);  // rise-1 of the new check
  EXPECT_EQ(checker_.GetBackend("b")->transitions[0].code, "restart");
  EXPECT_EQ(checker_.StateOf("a"), BackendState::kDisabled);
  EXPECT_EQ(checker_.Effective("web")->pools[0].backends[1].configured_weight, 60);
  d_.Advance(seconds(5));
  EXPECT_EQ(checker_.StateOf("b"), BackendState::kUp);
  // YAML disables b explicitly: applied.
  checker_.Reload(Parse(Replace(yaml, "b: { address: 127.0.0.2, healthcheck: hc }",
                                "b: { address: 127.0.0.2, healthcheck: hc, enabled: false }")));
  EXPECT_EQ(checker_.StateOf("b"), BackendState::kDisabled);
}

TEST_F(CheckerTest, ReloadFromABadFileChangesNothing) {
  checker_.Start(Parse(kBase));
  d_.Advance(seconds(10));
  std::string path = ::testing::TempDir() + "/bad.yaml";
  {
    std::ofstream f(path);
    f << Replace(kBase, "healthcheck: hc }\n    b:", "healthcheck: nope }\n    b:");
  }
  const Config* cfg = &checker_.config();
  ConfigResult r = checker_.ReloadFromFile(path);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.kind, ConfigErrorKind::kSemantic);
  EXPECT_EQ(&checker_.config(), cfg);
  EXPECT_EQ(checker_.StateOf("a"), BackendState::kUp);
  std::remove(path.c_str());
}

TEST_F(CheckerTest, ChangedAddressRestartsTheBackend) {
  checker_.Start(Parse(kBase));
  d_.Advance(seconds(10));
  checker_.Reload(Parse(Replace(kBase, "a: { address: 127.0.0.1", "a: { address: 127.0.0.11")));
  EXPECT_EQ(checker_.StateOf("a"), BackendState::kUnknown);
  d_.Advance(seconds(3));
  EXPECT_GT(runner_.count("127.0.0.11"), 0);
  EXPECT_EQ(checker_.StateOf("a"), BackendState::kUp);
}

}  // namespace
}  // namespace maglev
