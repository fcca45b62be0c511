// SPDX-License-Identifier: Apache-2.0
//
// The core pipeline on a simulated clock: the checker (scripted fake
// prober) feeding the lb stage. What a backend transition, an operator
// weight and a reload do to the frontends: effective weights, failover,
// frontend events, runtime state across reloads, flush requests.
#include "core/pipeline.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "checker/checker_test_util.h"

namespace maglev {
namespace {

using namespace maglev::testing;

class PipelineTest : public ::testing::Test {
 protected:
  PipelineTest()
      : runner_(d_),
        pipeline_(d_, runner_, CheckerOptions{1234, 0.10}),
        checker_(pipeline_.checker()) {
    checker_.AddListener([this](const std::string& backend, const Transition& t) {
      transitions_.push_back({backend, t});
    });
    pipeline_.lb().AddListener([this](const LbUpdate& u) {
      Update copy;
      copy.cause = u.cause;
      for (const FrontendChange& c : u.frontends) {
        copy.frontends.push_back(c.frontend);
        if (c.status) status_.push_back({c.frontend, *c.status});
        if (!c.flush.empty()) copy.flush[c.frontend] = c.flush;
      }
      updates_.push_back(std::move(copy));
    });
  }
  // What the lb stage says of a frontend now.
  FrontendEffective Eff(const std::string& fe) {
    const FrontendView* v = pipeline_.lb().Find(fe);
    EXPECT_NE(v, nullptr) << fe;
    return v ? v->effective : FrontendEffective{};
  }
  std::vector<Transition> Transitions(const std::string& backend) {
    std::vector<Transition> out;
    for (auto& [b, t] : transitions_)
      if (b == backend) out.push_back(t);
    return out;
  }
  std::vector<FrontendStatusChange> FrontendEvents(const std::string& fe) {
    std::vector<FrontendStatusChange> out;
    for (auto& [name, sc] : status_)
      if (name == fe) out.push_back(sc);
    return out;
  }
  void Clear() {
    transitions_.clear();
    updates_.clear();
    status_.clear();
  }
  struct Update {
    LbUpdate::Cause cause;
    std::vector<std::string> frontends;
    std::map<std::string, std::set<IpAddress>> flush;
  };
  SimDispatcher d_;
  FakeRunner runner_;
  Pipeline pipeline_;
  Checker& checker_;
  std::vector<std::pair<std::string, Transition>> transitions_;
  std::vector<Update> updates_;
  std::vector<std::pair<std::string, FrontendStatusChange>> status_;
};

// A backend used by two frontends is probed once; its transition updates
// both, in one lb update, computed once each.
TEST_F(PipelineTest, OneTransitionUpdatesEveryFrontendOfTheBackendOnce) {
  pipeline_.Start(Parse(kBase));
  d_.Advance(seconds(3));
  bool found = false;
  for (const Update& u : updates_)
    if (u.cause == LbUpdate::Cause::kTransition &&
        u.frontends == std::vector<std::string>{"api", "web"})
      found = true;
  EXPECT_TRUE(found);
  EXPECT_EQ(Eff("api").pools[0].backends[0].effective_weight, 100);
}

// The one flush rule: a transition to disabled flushes its AS in every
// frontend (also a standby at weight 0 already), down only where
// flush-on-down holds, up never.
TEST_F(PipelineTest, FlushRequestsFollowTheTable) {
  std::string yaml = Replace(kBase, "    api:\n      address: 192.0.2.81",
                             "    api:\n      flush-on-down: false\n      address: 192.0.2.81");
  pipeline_.Start(Parse(yaml));
  d_.Advance(seconds(5));
  Clear();
  ASSERT_TRUE(checker_.Disable("s").ok());  // the standby of web, weight 0 already
  ASSERT_EQ(updates_.size(), 1u);
  EXPECT_EQ(updates_[0].flush.at("web"), std::set<IpAddress>{*IpAddress::Parse("127.0.0.3")});
  Clear();
  runner_.Fail("127.0.0.1");
  d_.Advance(seconds(5));  // a goes down: web flushes it, api (flush-on-down false) does not
  ASSERT_FALSE(updates_.empty());
  EXPECT_EQ(updates_.back().flush.count("api"), 0u);
  EXPECT_EQ(updates_.back().flush.at("web"), std::set<IpAddress>{*IpAddress::Parse("127.0.0.1")});
  Clear();
  runner_.Heal("127.0.0.1");
  d_.Advance(seconds(15));
  ASSERT_FALSE(updates_.empty());
  for (const Update& u : updates_) EXPECT_TRUE(u.flush.empty());
}

TEST_F(PipelineTest, FailoverThroughEffectiveWeightsAndFrontendEvents) {
  runner_.Fail("127.0.0.1");
  runner_.Fail("127.0.0.2");
  pipeline_.Start(Parse(kBase));
  d_.Advance(seconds(3));
  FrontendEffective e = Eff("web");
  EXPECT_EQ(e.active_pool, 1);
  EXPECT_EQ(e.pools[1].backends[0].effective_weight, 100);
  EXPECT_EQ(Eff("api").state, FrontendState::kDown);
  runner_.Heal("127.0.0.2");
  d_.Advance(seconds(30));
  e = Eff("web");
  EXPECT_EQ(e.active_pool, 0);
  EXPECT_EQ(e.pools[0].backends[1].effective_weight, 50);
  EXPECT_EQ(e.pools[1].backends[0].effective_weight, 0);
  bool saw_api_down = false;
  for (auto& ev : FrontendEvents("api"))
    if (ev.to == FrontendState::kDown) saw_api_down = true;
  EXPECT_TRUE(saw_api_down);
  EXPECT_EQ(pipeline_.lb().Find("nope"), nullptr);
}

// Failover to another pool, fail-back and the loss of the last backend are
// frontend events naming the old and new active pool and the reason, even
// when the frontend's own state (up) does not change.
TEST_F(PipelineTest, ActivePoolChangesAreFrontendEvents) {
  pipeline_.Start(Parse(kBase));
  d_.Advance(seconds(5));  // a, b up: web on primary, api on main
  auto frontend_events = [this](const std::string& fe) { return FrontendEvents(fe); };
  ASSERT_FALSE(frontend_events("web").empty());
  EXPECT_EQ(frontend_events("web").back().to_pool, "primary");
  Clear();

  ASSERT_TRUE(checker_.Disable("a").ok());
  EXPECT_TRUE(frontend_events("web").empty());  // b still carries primary
  auto api = frontend_events("api");
  ASSERT_EQ(api.size(), 1u);  // api lost its last backend
  EXPECT_EQ(api[0].from, FrontendState::kUp);
  EXPECT_EQ(api[0].to, FrontendState::kDown);
  EXPECT_EQ(api[0].from_pool, "main");
  EXPECT_EQ(api[0].to_pool, "");
  EXPECT_EQ(api[0].reason, "no pool has an up backend");

  ASSERT_TRUE(checker_.Disable("b").ok());
  auto web = frontend_events("web");
  ASSERT_EQ(web.size(), 1u);  // failover: still up, on the fallback pool
  EXPECT_EQ(web[0].from, FrontendState::kUp);
  EXPECT_EQ(web[0].to, FrontendState::kUp);
  EXPECT_EQ(web[0].from_pool, "primary");
  EXPECT_EQ(web[0].to_pool, "fallback");
  EXPECT_EQ(web[0].reason, "pool primary has no up backend");

  Clear();
  ASSERT_TRUE(checker_.Enable("b").ok());
  d_.Advance(seconds(1));
  web = frontend_events("web");
  ASSERT_EQ(web.size(), 1u);  // fail-back
  EXPECT_EQ(web[0].from_pool, "fallback");
  EXPECT_EQ(web[0].to_pool, "primary");
  EXPECT_EQ(web[0].reason, "pool primary has an up backend again");
}

TEST_F(PipelineTest, SetWeightValidatesAndEmits) {
  pipeline_.Start(Parse(kBase));
  d_.Advance(seconds(5));
  EXPECT_EQ(pipeline_.lb().SetWeight("web", "primary", "a", 101).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(pipeline_.lb().SetWeight("web", "primary", "a", -1).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(pipeline_.lb().SetWeight("nope", "primary", "a", 1).code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(pipeline_.lb().SetWeight("web", "nope", "a", 1).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(pipeline_.lb().SetWeight("web", "primary", "s", 1).code(), absl::StatusCode::kNotFound);
  Clear();
  ASSERT_TRUE(pipeline_.lb().SetWeight("web", "primary", "a", 30).ok());
  ASSERT_EQ(updates_.size(), 1u);
  EXPECT_EQ(updates_[0].cause, LbUpdate::Cause::kWeight);
  ASSERT_EQ(updates_[0].frontends.size(), 1u);
  EXPECT_EQ(updates_[0].frontends[0], "web");
  EXPECT_EQ(Eff("web").pools[0].backends[0].effective_weight, 30);
  EXPECT_EQ(Eff("web").pools[0].backends[0].configured_weight, 30);
}

TEST_F(PipelineTest, ReloadKeepsUnchangedChecksRunning) {
  pipeline_.Start(Parse(kBase));
  d_.Advance(seconds(20));
  auto before = checker_.GetBackend("a");
  ASSERT_EQ(before->state, BackendState::kUp);
  ASSERT_TRUE(checker_.Disable("b").ok());
  ASSERT_TRUE(pipeline_.lb().SetWeight("web", "primary", "a", 10).ok());
  // Reload: a description changes, a new backend joins, `s` is removed.
  std::string yaml = Replace(kBase, "        - name: fallback\n          backends: { s: {} }\n",
                             "        - name: fallback\n          backends: { n: {} }\n");
  yaml =
      Replace(yaml, "    unused:", "    n: { address: 127.0.0.9, healthcheck: hc }\n    unused:");
  Clear();
  int probes_a = runner_.count("127.0.0.1");
  pipeline_.Reload(Parse(yaml));
  auto after = checker_.GetBackend("a");
  EXPECT_EQ(after->state, BackendState::kUp);
  EXPECT_EQ(after->counter, before->counter);
  EXPECT_EQ(after->transitions.size(), before->transitions.size());  // no restart
  EXPECT_TRUE(Transitions("a").empty());
  // Runtime state survives: b still disabled, a's runtime weight kept.
  EXPECT_EQ(checker_.StateOf("b"), BackendState::kDisabled);
  EXPECT_EQ(Eff("web").pools[0].backends[0].configured_weight, 10);
  // s removed (event), n started unknown; one reload update for every
  // frontend.
  auto ts = Transitions("s");
  ASSERT_EQ(ts.size(), 1u);
  EXPECT_EQ(ts[0].to, BackendState::kRemoved);
  ASSERT_EQ(updates_.size(), 1u);
  EXPECT_EQ(updates_[0].cause, LbUpdate::Cause::kReload);
  EXPECT_EQ(updates_[0].frontends, (std::vector<std::string>{"api", "web"}));
  EXPECT_FALSE(checker_.GetBackend("s").has_value());
  EXPECT_EQ(checker_.StateOf("n"), BackendState::kUnknown);
  // a keeps probing on its schedule without interruption.
  d_.Advance(seconds(10));
  EXPECT_GE(runner_.count("127.0.0.1"), probes_a + 4);
  EXPECT_EQ(checker_.StateOf("n"), BackendState::kUp);
}

TEST_F(PipelineTest, ReloadRestartsChangedChecksAndAppliesYamlChanges) {
  pipeline_.Start(Parse(kBase));
  d_.Advance(seconds(20));
  ASSERT_TRUE(pipeline_.lb().SetWeight("web", "primary", "b", 10).ok());
  ASSERT_TRUE(checker_.Disable("a").ok());
  // rise changes (restart of a and b); b's YAML weight changes (runtime
  // weight dropped); a's YAML `enabled` is untouched (stays disabled).
  std::string yaml = Replace(kBase, "      rise: 2", "      rise: 3");
  yaml = Replace(yaml, "b: { weight: 50 }", "b: { weight: 60 }");
  pipeline_.Reload(Parse(yaml));
  EXPECT_EQ(checker_.StateOf("b"), BackendState::kUnknown);
  EXPECT_EQ(checker_.GetBackend("b")->counter, 2);  // rise-1 of the new check
  EXPECT_EQ(checker_.GetBackend("b")->transitions[0].code(), "restart");
  EXPECT_EQ(checker_.StateOf("a"), BackendState::kDisabled);
  EXPECT_EQ(Eff("web").pools[0].backends[1].configured_weight, 60);
  d_.Advance(seconds(5));
  EXPECT_EQ(checker_.StateOf("b"), BackendState::kUp);
  // YAML disables b explicitly: applied.
  pipeline_.Reload(Parse(Replace(yaml, "b: { address: 127.0.0.2, healthcheck: hc }",
                                 "b: { address: 127.0.0.2, healthcheck: hc, enabled: false }")));
  EXPECT_EQ(checker_.StateOf("b"), BackendState::kDisabled);
}

TEST_F(PipelineTest, ReloadFromABadFileChangesNothing) {
  pipeline_.Start(Parse(kBase));
  d_.Advance(seconds(10));
  std::string path = ::testing::TempDir() + "/bad.yaml";
  {
    std::ofstream f(path);
    f << Replace(kBase, "healthcheck: hc }\n    b:", "healthcheck: nope }\n    b:");
  }
  const Config* cfg = &pipeline_.config();
  ConfigResult r = pipeline_.ReloadFromFile(path);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.kind, ConfigErrorKind::kSemantic);
  EXPECT_EQ(&pipeline_.config(), cfg);
  EXPECT_EQ(checker_.StateOf("a"), BackendState::kUp);
  std::remove(path.c_str());
}

}  // namespace
}  // namespace maglev
