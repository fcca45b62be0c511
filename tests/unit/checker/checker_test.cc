// Checker tests on a simulated clock with a scripted fake prober: no
// sleeps, no sockets; time is advanced explicitly. What the lb stage makes
// of the transitions is tested in tests/unit/core/pipeline_test.cc.
#include "checker/checker.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <map>

#include "checker/checker_test_util.h"

namespace maglev {
namespace {

using namespace maglev::testing;

class CheckerTest : public ::testing::Test {
 protected:
  CheckerTest() : runner_(d_), checker_(d_, runner_, CheckerOptions{1234, 0.10}) {
    checker_.AddListener([this](const std::string& backend, const Transition& t) {
      events_.push_back({backend, t});
    });
  }
  struct Event {
    std::string backend;
    Transition transition;
  };
  std::vector<Event> Transitions(const std::string& backend) {
    std::vector<Event> out;
    for (auto& e : events_)
      if (e.backend == backend) out.push_back(e);
    return out;
  }
  SimDispatcher d_;
  FakeRunner runner_;
  Checker checker_;
  std::vector<Event> events_;
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
  // Starting is not a transition: the first one is the first probe's.
  auto t = Transitions("a");
  ASSERT_GE(t.size(), 1u);
  EXPECT_EQ(t[0].transition.from, BackendState::kUnknown);
  EXPECT_EQ(t[0].transition.to, BackendState::kUp);
}

TEST_F(CheckerTest, StaticBackendIsUpAtOnce) {
  checker_.Start(Parse(kBase));
  EXPECT_EQ(checker_.StateOf("s"), BackendState::kUp);
  EXPECT_EQ(checker_.StateOf("a"), BackendState::kUnknown);
  auto snap = checker_.GetBackend("s");
  ASSERT_TRUE(snap);
  EXPECT_EQ(snap->transitions[0].code(), "static");
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
  EXPECT_EQ(t[0].transition.code(), "L7STS");
  EXPECT_EQ(t[0].transition.detail, "HTTP 503");
  runner_.Heal("127.0.0.2");
  d_.Advance(seconds(25));
  EXPECT_EQ(checker_.StateOf("b"), BackendState::kUp);
  auto snap = checker_.GetBackend("b");
  ASSERT_TRUE(snap);
  EXPECT_EQ(snap->counter, 4);
  EXPECT_EQ(snap->transitions[0].to, BackendState::kUp);
  EXPECT_EQ(snap->transitions[0].code(), "L7OK");
  EXPECT_GT(snap->stats.duration_count, 0u);
  EXPECT_GT((snap->stats.results[{CheckType::kHttp, ProbeCode::kL7Ok}]), 0u);
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
  runner_.held_[0](ProbeResult{ProbeCode::kL7Sts, "HTTP 503", {}});
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
