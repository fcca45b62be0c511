// SPDX-License-Identifier: Apache-2.0
//
// The state file (issue #10): encoding and strict decoding (corrupt and
// foreign files are refused as a whole), the restore plan against a config
// (dropped entries), and the pipeline restored on a simulated clock: a
// disabled backend is never probed, weights and drains are in force from
// the first computation, slow start only after a persisted `down`.
#include "core/state_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "checker/checker_test_util.h"
#include "common/log.h"

namespace maglev {
namespace {

using namespace maglev::testing;

constexpr int64_t kMs = 1000000;

PersistedState Sample(int64_t now) {
  PersistedState st;
  st.written_unix_ns = now;
  PersistedBackend a;
  a.admin = AdminRestore::kDisabled;
  a.config_enabled = true;
  a.health = PersistedHealth{BackendState::kUp, now - 5000 * kMs, now};
  st.backends["a"] = a;
  PersistedBackend b;
  b.drain_deadline_unix_ns = now + 60000 * kMs;
  b.health = PersistedHealth{BackendState::kDown, now - 1000 * kMs, now};
  st.backends["b"] = b;
  st.weights.push_back({"web", "primary", "b", 20, 50});
  return st;
}

TEST(StateFileTest, EncodeDecodeRoundTrip) {
  int64_t now = 1'700'000'000'000 * kMs;
  std::string text = EncodeState(Sample(now));
  EXPECT_NE(text.find("\"format\": \"maglevd-state\""), std::string::npos) << text;
  EXPECT_NE(text.find("\"version\": 1"), std::string::npos) << text;
  auto st = DecodeState(text);
  ASSERT_TRUE(st.ok()) << st.status() << "\n" << text;
  EXPECT_EQ(st->written_unix_ns, now);
  ASSERT_EQ(st->backends.size(), 2u);
  EXPECT_EQ(st->backends.at("a").admin, AdminRestore::kDisabled);
  EXPECT_TRUE(st->backends.at("a").config_enabled);
  EXPECT_EQ(st->backends.at("a").health->state, BackendState::kUp);
  EXPECT_EQ(st->backends.at("a").health->since_unix_ns, now - 5000 * kMs);
  EXPECT_FALSE(st->backends.at("b").admin.has_value());
  EXPECT_EQ(st->backends.at("b").drain_deadline_unix_ns, now + 60000 * kMs);
  EXPECT_EQ(st->backends.at("b").health->state, BackendState::kDown);
  ASSERT_EQ(st->weights.size(), 1u);
  EXPECT_EQ(st->weights[0].backend, "b");
  EXPECT_EQ(st->weights[0].weight, 20);
  EXPECT_EQ(st->weights[0].config_weight, 50);
  // Names that need escaping survive too.
  PersistedState odd;
  odd.backends["we\"ird\\name"].admin = AdminRestore::kPaused;
  auto back = DecodeState(EncodeState(odd));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->backends.count("we\"ird\\name"), 1u);
  // An empty state is a valid file.
  EXPECT_TRUE(DecodeState(EncodeState(PersistedState{})).ok());
}

TEST(StateFileTest, CorruptFilesAreRefusedAsAWhole) {
  std::string good = EncodeState(Sample(1'700'000'000'000 * kMs));
  for (const std::string& bad : {
           std::string(""),
           std::string("   \n"),
           good.substr(0, good.size() / 2),  // truncated mid-write
           std::string("\x00\x01\x02garbage", 10),
           std::string("format: maglevd-state\nversion: 1\n"),  // YAML, not JSON
           std::string("[1, 2, 3]"),
           std::string("{\"format\": \"maglevd-state\", \"version\": 1, \"backends\": {"),
       }) {
    auto st = DecodeState(bad);
    EXPECT_FALSE(st.ok()) << bad;
    EXPECT_EQ(st.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

TEST(StateFileTest, ForeignFilesAreRefusedAsAWhole) {
  const std::string head = "{\"format\": \"maglevd-state\", \"version\": 1, ";
  struct Case {
    std::string text, error;
  };
  for (const Case& c : std::vector<Case>{
           {"{\"version\": 1}", "not a maglevd state file"},
           {"{\"format\": \"haproxy\", \"version\": 1}", "not a maglevd state file"},
           {"{\"format\": \"maglevd-state\", \"version\": 2}", "version 2"},
           {"{\"format\": \"maglevd-state\", \"version\": \"1\"}", "expected an integer"},
           {"{\"format\": \"maglevd-state\"}", "no \"version\""},
           {head + "\"extra\": 1}", "unexpected key \"extra\""},
           {head + "\"backends\": []}", "backends: expected an object"},
           {head + "\"backends\": {\"a\": {\"admin\": \"sleeping\"}}}", "unknown value"},
           {head + "\"backends\": {\"a\": {\"admin\": 1}}}", "expected a string"},
           {head + "\"backends\": {\"a\": {\"health\": {\"state\": \"up\"}}}}", "needs state"},
           {head +
                "\"backends\": {\"a\": {\"health\": {\"state\": \"paused\", \"since_unix_ms\": 1, "
                "\"seen_unix_ms\": 1}}}}",
            "expected up or down"},
           {head + "\"weights\": {}}", "weights: expected an array"},
           {head + "\"weights\": [{\"frontend\": \"web\", \"pool\": \"p\", \"backend\": \"a\", "
                   "\"weight\": 101, \"config_weight\": 1}]}",
            "out of range"},
           {head + "\"weights\": [{\"frontend\": \"web\", \"pool\": \"p\", \"backend\": \"a\", "
                   "\"weight\": \"20\", \"config_weight\": 1}]}",
            "expected an integer"},
           {head + "\"weights\": [{\"frontend\": \"web\"}]}", "no \"pool\""},
       }) {
    auto st = DecodeState(c.text);
    ASSERT_FALSE(st.ok()) << c.text;
    EXPECT_NE(st.status().message().find(c.error), std::string::npos)
        << c.text << " -> " << st.status();
  }
}

TEST(StateFileTest, ReadStateFileTellsMissingFromBroken) {
  std::string dir = ::testing::TempDir();
  auto missing = ReadStateFile(dir + "/no-such-state.json");
  EXPECT_TRUE(absl::IsNotFound(missing.status())) << missing.status();
  std::string path = dir + "/state-file-test.json";
  ASSERT_TRUE(WriteFileAtomically(path, "{not json").ok());
  EXPECT_EQ(ReadStateFile(path).status().code(), absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(WriteFileAtomically(path, EncodeState(Sample(1))).ok());
  EXPECT_TRUE(ReadStateFile(path).ok());
  std::remove(path.c_str());
}

// Entries for what the config no longer has, or decided against a YAML
// value that changed since, are dropped; the rest is kept.
TEST(StateFileTest, PlanDropsEntriesTheConfigNoLongerHas) {
  int64_t now = 1'700'000'000'000 * kMs;
  PersistedState st;
  st.backends["a"].admin = AdminRestore::kDisabled;  // kept
  st.backends["gone"].admin = AdminRestore::kDisabled;
  st.backends["unused"].admin = AdminRestore::kPaused;  // in backends:, in no pool
  st.backends["b"].admin = AdminRestore::kEnabled;      // YAML says enabled (true) now
  st.backends["b"].config_enabled = false;
  st.backends["s"].drain_deadline_unix_ns = now - kMs;      // passed: disabled
  st.weights.push_back({"web", "primary", "b", 20, 50});    // kept
  st.weights.push_back({"web", "primary", "a", 10, 90});    // YAML weight is 100 now
  st.weights.push_back({"web", "nopool", "a", 10, 100});    // no such pool
  st.weights.push_back({"gone", "primary", "a", 10, 100});  // no such frontend
  RestorePlan plan = PlanRestore(st, *Parse(kBase), now);
  EXPECT_EQ(plan.pipeline.admin,
            (std::map<std::string, AdminRestore>{{"a", AdminRestore::kDisabled},
                                                 {"s", AdminRestore::kDisabled}}));
  EXPECT_EQ(plan.pipeline.lb.overrides, (WeightOverrides{{{"web", "primary", "b"}, 20}}));
  EXPECT_TRUE(plan.pipeline.lb.drains.empty());
  EXPECT_EQ(plan.dropped.size(), 6u);
  std::string all;
  for (const std::string& d : plan.dropped) all += d + "\n";
  EXPECT_NE(all.find("backend gone: not in the configuration"), std::string::npos) << all;
  EXPECT_NE(all.find("backend unused: not in the configuration"), std::string::npos) << all;
  EXPECT_NE(all.find("backend b: enabled dropped, the YAML's enabled changed"), std::string::npos)
      << all;
  EXPECT_NE(all.find("weight web/primary/a: the YAML's weight changed"), std::string::npos) << all;
}

TEST(StateFileTest, PlanTrustsOnlyYoungHealth) {
  int64_t now = 1'700'000'000'000 * kMs;
  PersistedState st;
  st.backends["a"].health = PersistedHealth{BackendState::kUp, now - kMs, now - kMs};
  st.backends["b"].health = PersistedHealth{BackendState::kDown, now - kMs, now - kMs};
  int64_t old = now - kStateHealthMaxAge.count() - kMs;
  st.backends["s"].health = PersistedHealth{BackendState::kDown, old, old};
  st.backends["a"].drain_deadline_unix_ns = now + 30000 * kMs;
  RestorePlan plan = PlanRestore(st, *Parse(kBase), now);
  EXPECT_EQ(plan.health, (std::map<std::string, BackendState>{{"a", BackendState::kUp},
                                                              {"b", BackendState::kDown}}));
  EXPECT_EQ(plan.pipeline.lb.out_of_service, std::set<std::string>{"b"});
  EXPECT_EQ(plan.carried_health.size(), 3u);
  EXPECT_EQ(plan.pipeline.lb.drains.at("a"), now + 30000 * kMs);
}

class StateRestoreTest : public ::testing::Test {
 protected:
  StateRestoreTest() : runner_(d_), pipeline_(d_, runner_, CheckerOptions{1234, 0.10}) {
    Logger::Get().SetOutput(nullptr);
  }
  ~StateRestoreTest() override { Logger::Get().SetOutput(stderr); }
  const EffectiveBackend& Eff(const std::string& fe, const std::string& backend) {
    for (const auto& p : pipeline_.lb().Find(fe)->effective.pools)
      for (const auto& b : p.backends)
        if (b.backend == backend) return b;
    ADD_FAILURE() << backend;
    static EffectiveBackend none;
    return none;
  }
  SimDispatcher d_;
  FakeRunner runner_;
  Pipeline pipeline_;
};

// A restored disable happens before the first probe: the backend is never
// probed; a restored weight and drain are in the very first computation.
TEST_F(StateRestoreTest, OperatorDecisionsComeBeforeTheFirstProbe) {
  auto cfg = Parse(kBase);
  PersistedState st;
  st.backends["a"].admin = AdminRestore::kDisabled;
  st.backends["s"].drain_deadline_unix_ns = d_.WallNowNs() + 60'000 * kMs;
  st.weights.push_back({"web", "primary", "b", 20, 50});
  RestorePlan plan = PlanRestore(st, *cfg, d_.WallNowNs());
  std::vector<std::string> first;
  pipeline_.lb().AddListener([&](const LbUpdate& u) {
    if (first.empty())
      for (const auto& c : u.frontends) first.push_back(c.frontend);
  });
  pipeline_.Start(cfg, plan.pipeline);
  EXPECT_EQ(pipeline_.checker().StateOf("a"), BackendState::kDisabled);
  EXPECT_EQ(Eff("web", "b").configured_weight, 20);
  EXPECT_TRUE(Eff("web", "s").draining);
  d_.Advance(seconds(10));
  EXPECT_EQ(runner_.count("127.0.0.1"), 0);  // a: never probed
  EXPECT_GT(runner_.count("127.0.0.2"), 0);
  EXPECT_EQ(pipeline_.checker().StateOf("a"), BackendState::kDisabled);
  EXPECT_EQ(Eff("web", "b").effective_weight, 20);
  EXPECT_EQ(Eff("web", "s").effective_weight, 0);
  ASSERT_TRUE(pipeline_.lb().DrainDeadline("s").has_value());
  // The restored drain ends at its deadline like any other: disabled.
  d_.Advance(seconds(55));
  EXPECT_EQ(pipeline_.checker().StateOf("s"), BackendState::kDisabled);
}

// Slow start ramps after a restart only where the persisted health was
// `down` (VPP had it at weight 0); a backend that was up keeps its weight.
TEST_F(StateRestoreTest, SlowStartOnlyAfterAPersistedDown) {
  std::string yaml = Replace(kBase, "      rise: 2\n", "      rise: 2\n      slow-start: 4s\n");
  auto cfg = Parse(yaml);
  PersistedState st;
  int64_t now = d_.WallNowNs();
  st.backends["a"].health = PersistedHealth{BackendState::kUp, now, now};
  st.backends["b"].health = PersistedHealth{BackendState::kDown, now, now};
  RestorePlan plan = PlanRestore(st, *cfg, now);
  pipeline_.Start(cfg, plan.pipeline);
  d_.Advance(seconds(3));  // first probes: both up
  ASSERT_EQ(pipeline_.checker().StateOf("a"), BackendState::kUp);
  ASSERT_EQ(pipeline_.checker().StateOf("b"), BackendState::kUp);
  EXPECT_EQ(Eff("web", "a").ramp, 1.0);
  EXPECT_EQ(Eff("web", "a").effective_weight, 100);
  EXPECT_LT(Eff("web", "b").ramp, 1.0);
  EXPECT_LT(Eff("web", "b").effective_weight, 50);
  d_.Advance(seconds(5));
  EXPECT_EQ(Eff("web", "b").effective_weight, 50);
}

// What a running pipeline captures is what a restart restores.
TEST_F(StateRestoreTest, CaptureRestoresToTheSameDecisions) {
  auto cfg = Parse(kBase);
  pipeline_.Start(cfg);
  d_.Advance(seconds(3));
  ASSERT_TRUE(pipeline_.checker().Disable("a").ok());
  ASSERT_TRUE(pipeline_.checker().Pause("s").ok());
  ASSERT_TRUE(pipeline_.lb().SetWeight("web", "primary", "b", 7).ok());
  ASSERT_TRUE(pipeline_.Drain("b", seconds(120)).ok());
  std::map<std::string, PersistedHealth> health;
  health["b"] = {BackendState::kUp, d_.WallNowNs() - 1000, d_.WallNowNs() - 1000};
  PersistedState st = CaptureState(pipeline_, health, d_.WallNowNs());
  EXPECT_EQ(st.backends.at("b").health->seen_unix_ns, d_.WallNowNs());  // up now: seen now
  auto decoded = DecodeState(EncodeState(st));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  RestorePlan plan = PlanRestore(*decoded, *cfg, d_.WallNowNs());
  EXPECT_TRUE(plan.dropped.empty());
  EXPECT_EQ(plan.pipeline.admin,
            (std::map<std::string, AdminRestore>{{"a", AdminRestore::kDisabled},
                                                 {"s", AdminRestore::kPaused}}));
  EXPECT_EQ(plan.pipeline.lb.overrides, (WeightOverrides{{{"web", "primary", "b"}, 7}}));
  ASSERT_EQ(plan.pipeline.lb.drains.count("b"), 1u);
  // Milliseconds in the file.
  EXPECT_NEAR(static_cast<double>(plan.pipeline.lb.drains.at("b")),
              static_cast<double>(*pipeline_.lb().DrainDeadline("b")), 1e6);
  EXPECT_EQ(plan.health.at("b"), BackendState::kUp);
}

// The persister writes a change after its short delay, carries the health
// it read while backends are still unknown, and writes at Stop.
TEST_F(StateRestoreTest, PersisterWritesChanges) {
  std::string path = ::testing::TempDir() + "/persister-test-" + std::to_string(::getpid());
  auto cfg = Parse(kBase);
  PersistedState old;
  old.backends["b"].health = PersistedHealth{BackendState::kDown, 1000 * kMs, d_.WallNowNs()};
  ASSERT_TRUE(WriteFileAtomically(path, EncodeState(old)).ok());
  {
    StatePersister p(d_, pipeline_, path);
    RestorePlan plan = p.Load(*cfg);
    EXPECT_EQ(plan.health.at("b"), BackendState::kDown);
    p.Start();
    runner_.Hold("127.0.0.2");  // b stays unknown
    pipeline_.Start(cfg, plan.pipeline);
    d_.Advance(seconds(3));
    ASSERT_TRUE(pipeline_.checker().Disable("a").ok());
    d_.Advance(milliseconds(200));
    p.Stop();
  }
  auto st = ReadStateFile(path);
  ASSERT_TRUE(st.ok()) << st.status();
  EXPECT_EQ(st->backends.at("a").admin, AdminRestore::kDisabled);
  ASSERT_TRUE(st->backends.at("b").health.has_value());
  EXPECT_EQ(st->backends.at("b").health->state, BackendState::kDown);  // carried
  EXPECT_EQ(st->backends.at("b").health->since_unix_ns, 1000 * kMs);
  EXPECT_EQ(st->backends.at("s").health->state, BackendState::kUp);  // static: up
  std::remove(path.c_str());
}

// A file that cannot be used leaves the start as without one.
TEST_F(StateRestoreTest, BrokenFileGivesAnEmptyPlan) {
  std::string path = ::testing::TempDir() + "/persister-broken-" + std::to_string(::getpid());
  ASSERT_TRUE(WriteFileAtomically(path,
                                  "{\"format\": \"maglevd-state\", \"version\": 1, \"backends\": "
                                  "{\"a\": {\"admin\": \"disabled\"}, \"b\": 7}}")
                  .ok());
  StatePersister p(d_, pipeline_, path);
  RestorePlan plan = p.Load(*Parse(kBase));
  EXPECT_TRUE(plan.pipeline.admin.empty());  // not half-applied: a's entry was fine
  EXPECT_TRUE(plan.health.empty());
  std::remove(path.c_str());
}

TEST(AtomicFileTest, WritesAndReplaces) {
  std::string path = ::testing::TempDir() + "/atomic-test-" + std::to_string(::getpid());
  ASSERT_TRUE(WriteFileAtomically(path, "one\n").ok());
  {
    AtomicFileWriter w(path, "test");
    w.Submit("two\n");
    w.Submit("three\n");
    w.Flush();
    EXPECT_EQ(w.failures(), 0u);
  }
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_EQ(ss.str(), "three\n");
  std::remove(path.c_str());
  // A directory that does not exist: an error, nothing written.
  EXPECT_FALSE(WriteFileAtomically("/nonexistent-dir-maglev/x", "y").ok());
}

}  // namespace
}  // namespace maglev
