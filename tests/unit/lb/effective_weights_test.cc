#include "lb/effective_weights.h"

#include <gtest/gtest.h>

#include <map>

namespace maglev {
namespace {

using S = BackendState;

// Every row of the spec §5.1 table.
struct RuleCase {
  S state;
  bool active;
  int weight;
  bool flush_on_down;
  int want_weight;
  bool want_flush;
};

class Rule : public ::testing::TestWithParam<RuleCase> {};

TEST_P(Rule, Table) {
  const RuleCase& c = GetParam();
  auto [w, flush] = EffectiveWeightRule(c.state, c.active, c.weight, c.flush_on_down);
  EXPECT_EQ(w, c.want_weight) << BackendStateName(c.state);
  EXPECT_EQ(flush, c.want_flush) << BackendStateName(c.state);
}

INSTANTIATE_TEST_SUITE_P(Spec51, Rule,
                         ::testing::Values(RuleCase{S::kUp, true, 70, true, 70, false},
                                           RuleCase{S::kUp, true, 0, true, 0, false},
                                           RuleCase{S::kUp, false, 70, true, 0, false},
                                           RuleCase{S::kDown, true, 70, true, 0, true},
                                           RuleCase{S::kDown, true, 70, false, 0, false},
                                           RuleCase{S::kDown, false, 70, true, 0, true},
                                           RuleCase{S::kDisabled, true, 70, false, 0, true},
                                           RuleCase{S::kDisabled, false, 70, true, 0, true},
                                           RuleCase{S::kUnknown, true, 70, true, 0, false},
                                           RuleCase{S::kPaused, true, 70, true, 0, false},
                                           RuleCase{S::kRemoved, true, 70, false, 0, true}));

Frontend ThreePools() {
  Frontend fe;
  fe.name = "web";
  fe.pools = {Pool{"gold", {{"a1", 100}, {"a2", 50}}}, Pool{"silver", {{"b1", 80}, {"b2", 20}}},
              Pool{"bronze", {{"c1", 10}}}};
  return fe;
}

FrontendEffective Compute(const Frontend& fe, std::map<std::string, S> states,
                          const WeightOverrides& ov = {}) {
  return ComputeEffective(
      fe,
      [&](const std::string& b) {
        auto it = states.find(b);
        return it == states.end() ? S::kUnknown : it->second;
      },
      ov);
}

std::map<std::string, int> Weights(const FrontendEffective& e) {
  std::map<std::string, int> out;
  for (const auto& p : e.pools)
    for (const auto& b : p.backends) out[b.backend] = b.effective_weight;
  return out;
}

TEST(Failover, FirstPoolWithAnUpBackendIsActive) {
  Frontend fe = ThreePools();
  auto e = Compute(
      fe, {{"a1", S::kUp}, {"a2", S::kDown}, {"b1", S::kUp}, {"b2", S::kUp}, {"c1", S::kUp}});
  EXPECT_EQ(e.active_pool, 0);
  EXPECT_EQ(e.state, FrontendState::kUp);
  EXPECT_EQ(Weights(e),
            (std::map<std::string, int>{{"a1", 100}, {"a2", 0}, {"b1", 0}, {"b2", 0}, {"c1", 0}}));
}

TEST(Failover, AcrossThreePools) {
  Frontend fe = ThreePools();
  // Gold all down: silver takes over with its pool weights.
  auto e = Compute(
      fe, {{"a1", S::kDown}, {"a2", S::kDisabled}, {"b1", S::kUp}, {"b2", S::kUp}, {"c1", S::kUp}});
  EXPECT_EQ(e.active_pool, 1);
  EXPECT_EQ(Weights(e),
            (std::map<std::string, int>{{"a1", 0}, {"a2", 0}, {"b1", 80}, {"b2", 20}, {"c1", 0}}));
  // Silver down too (one paused, one down): bronze.
  e = Compute(
      fe,
      {{"a1", S::kDown}, {"a2", S::kDown}, {"b1", S::kPaused}, {"b2", S::kDown}, {"c1", S::kUp}});
  EXPECT_EQ(e.active_pool, 2);
  EXPECT_EQ(Weights(e)["c1"], 10);
  EXPECT_EQ(e.state, FrontendState::kUp);
  // Gold back: fail-back at once.
  e = Compute(fe,
              {{"a1", S::kUp}, {"a2", S::kDown}, {"b1", S::kUp}, {"b2", S::kDown}, {"c1", S::kUp}});
  EXPECT_EQ(e.active_pool, 0);
  EXPECT_EQ(Weights(e)["a1"], 100);
  EXPECT_EQ(Weights(e)["b1"], 0);
  EXPECT_EQ(Weights(e)["c1"], 0);
}

TEST(Failover, UpBackendWithWeightZeroStillHoldsItsPool) {
  Frontend fe = ThreePools();
  WeightOverrides ov{{{"web", "gold", "a1"}, 0}};
  auto e = Compute(fe, {{"a1", S::kUp}, {"a2", S::kDown}, {"b1", S::kUp}}, ov);
  EXPECT_EQ(e.active_pool, 0);
  EXPECT_EQ(Weights(e)["a1"], 0);
  EXPECT_EQ(Weights(e)["b1"], 0);
  EXPECT_EQ(e.pools[0].backends[0].configured_weight, 0);
  // Nothing carries traffic: the frontend is down.
  EXPECT_EQ(e.state, FrontendState::kDown);
}

TEST(Failover, NothingUpMeansPoolZeroAndAllZero) {
  Frontend fe = ThreePools();
  auto e = Compute(fe, {{"a1", S::kDown}, {"b1", S::kDown}, {"c1", S::kDisabled}});
  EXPECT_EQ(e.active_pool, 0);
  for (const auto& [_, w] : Weights(e)) EXPECT_EQ(w, 0);
  EXPECT_EQ(e.state, FrontendState::kDown);
}

TEST(FrontendStateRule, UnknownUntilSomethingResolves) {
  Frontend fe = ThreePools();
  EXPECT_EQ(Compute(fe, {}).state, FrontendState::kUnknown);
  EXPECT_EQ(Compute(fe, {{"c1", S::kDown}}).state, FrontendState::kDown);
  EXPECT_EQ(Compute(fe, {{"c1", S::kUp}}).state, FrontendState::kUp);
}

TEST(Flush, FollowsFlushOnDownAndAlwaysForDisabled) {
  Frontend fe = ThreePools();
  fe.flush_on_down = false;
  auto e = Compute(fe, {{"a1", S::kDown}, {"a2", S::kDisabled}, {"b1", S::kUp}});
  EXPECT_FALSE(e.pools[0].backends[0].flush);
  EXPECT_TRUE(e.pools[0].backends[1].flush);
  // A standby backend that gets disabled still asks for a flush.
  e = Compute(fe, {{"a1", S::kUp}, {"b1", S::kDisabled}});
  EXPECT_EQ(e.pools[1].backends[0].effective_weight, 0);
  EXPECT_TRUE(e.pools[1].backends[0].flush);
}

TEST(Overrides, RuntimeWeightReplacesYamlWeight) {
  Frontend fe = ThreePools();
  WeightOverrides ov{{{"web", "gold", "a2"}, 7}, {{"other", "gold", "a1"}, 1}};
  auto e = Compute(fe, {{"a1", S::kUp}, {"a2", S::kUp}}, ov);
  EXPECT_EQ(Weights(e)["a2"], 7);
  EXPECT_EQ(Weights(e)["a1"], 100);  // override of another frontend ignored
}

}  // namespace
}  // namespace maglev
