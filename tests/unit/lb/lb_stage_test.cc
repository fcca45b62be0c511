// SPDX-License-Identifier: Apache-2.0
//
// The lb stage alone on a simulated clock, its backend states scripted by
// the test: slow start ramps, the fail-back hold-down and drains, step by
// step (issue #10).
#include "lb/lb_stage.h"

#include <gtest/gtest.h>

#include "common/log.h"
#include "config/loader.h"

namespace maglev {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

const char* kConfig = R"(
maglev:
  vpp:
    lb: { ipv4-src-address: 192.0.2.1 }
  healthchecks:
    hc: { type: tcp, port: 80, slow-start: 10s }
  backends:
    a: { address: 10.0.0.1, healthcheck: hc }
    b: { address: 10.0.0.2, healthcheck: hc, slow-start: 0s }
    c: { address: 10.0.0.3, healthcheck: hc, slow-start: 4s, drain-timeout: 1m }
    f: { address: 10.0.0.9 }
  frontends:
    web:
      address: 192.0.2.80
      port: 80
      failback-delay: 30s
      pools:
        - name: primary
          backends: { a: {}, b: { weight: 50 } }
        - name: fallback
          backends: { f: {} }
    api:
      address: 192.0.2.81
      port: 80
      pools:
        - name: main
          backends: { c: {}, b: {} }
)";

class LbStageTest : public ::testing::Test {
 protected:
  LbStageTest()
      : stage_(d_, [this](const std::string& b) {
          auto it = states_.find(b);
          return it == states_.end() ? BackendState::kUnknown : it->second;
        }) {
    Logger::Get().SetOutput(nullptr);
    ConfigResult r = ParseConfig(kConfig);
    EXPECT_TRUE(r.ok()) << r.error;
    stage_.AddListener([this](const LbUpdate& u) { causes_.push_back(u.cause); });
    stage_.SetOnDrainTimeout([this](const std::string& b) {
      drain_timeouts_.push_back(b);
      Set(b, BackendState::kDisabled);  // what the pipeline does: disable it
    });
    stage_.Start(r.config);
  }
  ~LbStageTest() override { Logger::Get().SetOutput(stderr); }

  void Set(const std::string& b, BackendState to) {
    Transition t;
    t.from = states_.count(b) ? states_[b] : BackendState::kUnknown;
    t.to = to;
    states_[b] = to;
    stage_.OnTransition(b, t);
  }
  int Weight(const std::string& fe, const std::string& backend) {
    for (const auto& p : stage_.Find(fe)->effective.pools)
      for (const auto& b : p.backends)
        if (b.backend == backend) return b.effective_weight;
    ADD_FAILURE() << backend;
    return -1;
  }
  std::string Active(const std::string& fe) { return stage_.Find(fe)->active_pool; }

  SimDispatcher d_;
  std::map<std::string, BackendState> states_;
  LbStage stage_;
  std::vector<LbUpdate::Cause> causes_;
  std::vector<std::string> drain_timeouts_;
};

TEST_F(LbStageTest, NoSlowStartAtTheFirstResolution) {
  Set("a", BackendState::kUp);  // unknown -> up: maglevd's own start
  EXPECT_EQ(Weight("web", "a"), 100);
  EXPECT_FALSE(stage_.Ramp("a").has_value());
}

TEST_F(LbStageTest, SlowStartRampsInStepsAfterComingBack) {
  Set("a", BackendState::kUp);
  Set("a", BackendState::kDown);
  EXPECT_EQ(Weight("web", "a"), 0);
  causes_.clear();
  Set("a", BackendState::kUp);  // back after down: 10 s, 10 steps of 1 s
  std::vector<int> weights = {Weight("web", "a")};
  ASSERT_TRUE(stage_.Ramp("a").has_value());
  EXPECT_DOUBLE_EQ(stage_.Ramp("a")->share, 0.1);
  for (int i = 0; i < 10; ++i) {
    d_.Advance(seconds(1));
    weights.push_back(Weight("web", "a"));
  }
  EXPECT_EQ(weights, (std::vector<int>{10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 100}));
  // One update per step (nine steps after the transition), then nothing.
  int steps = 0;
  for (auto c : causes_) steps += c == LbUpdate::Cause::kSlowStart;
  EXPECT_EQ(steps, 9);
  EXPECT_FALSE(stage_.Ramp("a").has_value());
  // The view's backend carries the share while it ramps.
  causes_.clear();
  d_.Advance(seconds(5));
  EXPECT_TRUE(causes_.empty());
}

TEST_F(LbStageTest, SlowStartAfterEnableAndNotForABackendWithoutIt) {
  Set("b", BackendState::kUp);
  Set("b", BackendState::kDisabled);
  Set("b", BackendState::kUnknown);  // enabled
  Set("b", BackendState::kUp);
  EXPECT_EQ(Weight("web", "b"), 50);  // slow-start: 0s on the backend wins
  Set("c", BackendState::kUp);
  Set("c", BackendState::kPaused);
  Set("c", BackendState::kUnknown);  // resumed
  Set("c", BackendState::kUp);
  EXPECT_EQ(Weight("api", "c"), 25);  // 4 s: 4 steps, 1/4 first
  d_.Advance(seconds(1));
  EXPECT_EQ(Weight("api", "c"), 50);
  Set("c", BackendState::kDown);  // a ramp ends when the backend leaves up
  EXPECT_FALSE(stage_.Ramp("c").has_value());
  EXPECT_EQ(Weight("api", "c"), 0);
}

TEST_F(LbStageTest, FailbackWaitsForTheDelayFailoverDoesNot) {
  Set("a", BackendState::kUp);
  Set("f", BackendState::kUp);
  EXPECT_EQ(Active("web"), "primary");
  Set("a", BackendState::kDown);  // failover: at once
  EXPECT_EQ(Active("web"), "fallback");
  EXPECT_EQ(Weight("web", "f"), 100);
  // The primary comes back and flaps: traffic stays on the fallback.
  for (int i = 0; i < 3; ++i) {
    Set("a", BackendState::kUp);
    d_.Advance(seconds(10));
    EXPECT_EQ(Active("web"), "fallback") << i;
    Set("a", BackendState::kDown);
    d_.Advance(seconds(1));
  }
  // Up for the whole delay: back, by the stage's own timer (no input).
  Set("a", BackendState::kUp);
  d_.Advance(seconds(29));
  EXPECT_EQ(Active("web"), "fallback");
  causes_.clear();
  d_.Advance(seconds(2));
  EXPECT_EQ(Active("web"), "primary");
  EXPECT_EQ(Weight("web", "f"), 0);
  ASSERT_EQ(causes_.size(), 1u);
  EXPECT_EQ(causes_[0], LbUpdate::Cause::kFailback);
  // The fallback losing its last backend while held: no delay, the primary
  // takes over at once.
  Set("a", BackendState::kDown);
  Set("a", BackendState::kUp);
  EXPECT_EQ(Active("web"), "fallback");
  Set("f", BackendState::kDown);
  EXPECT_EQ(Active("web"), "primary");
}

TEST_F(LbStageTest, DrainTakesTheWeightToZeroWithoutFlushThenDisables) {
  Set("c", BackendState::kUp);
  Set("b", BackendState::kUp);
  ASSERT_TRUE(stage_.Drain("c", Duration::zero()).ok());  // its drain-timeout: 1m
  EXPECT_EQ(Weight("api", "c"), 0);
  const FrontendView* v = stage_.Find("api");
  EXPECT_TRUE(v->effective.pools[0].backends[0].draining);
  EXPECT_FALSE(v->effective.pools[0].backends[0].flush);
  ASSERT_TRUE(stage_.DrainDeadline("c").has_value());
  EXPECT_EQ(*stage_.DrainDeadline("c") - d_.WallNowNs(), Duration(std::chrono::minutes(1)).count());
  d_.Advance(seconds(59));
  EXPECT_TRUE(drain_timeouts_.empty());
  d_.Advance(seconds(2));
  EXPECT_EQ(drain_timeouts_, std::vector<std::string>{"c"});
  EXPECT_FALSE(stage_.DrainDeadline("c").has_value());
  EXPECT_EQ(states_["c"], BackendState::kDisabled);
  // Errors and cancel.
  EXPECT_EQ(stage_.Drain("c", seconds(5)).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(stage_.Drain("nope", seconds(5)).code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(stage_.Drain("b", seconds(5)).ok());
  EXPECT_EQ(Weight("api", "b"), 0);
  EXPECT_TRUE(stage_.CancelDrain("b"));
  EXPECT_EQ(Weight("api", "b"), 100);
  EXPECT_FALSE(stage_.CancelDrain("b"));
  d_.Advance(seconds(10));
  EXPECT_EQ(drain_timeouts_.size(), 1u);
}

TEST_F(LbStageTest, ADrainingBackendDoesNotKeepItsPoolActive) {
  Set("a", BackendState::kUp);
  Set("f", BackendState::kUp);
  ASSERT_TRUE(stage_.Drain("a", seconds(30)).ok());
  // b is unknown: the primary has nothing else, the fallback serves.
  EXPECT_EQ(Active("web"), "fallback");
  EXPECT_EQ(Weight("web", "f"), 100);
}

}  // namespace
}  // namespace maglev
