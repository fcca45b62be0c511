// SPDX-License-Identifier: Apache-2.0
//
// The preview (issue #10) against the lb stage itself: every prediction is
// checked against what the stage computes once the change is really made,
// and against tables built independently with VPP's Maglev builder.
#include "lb/preview.h"

#include <gtest/gtest.h>

#include "common/log.h"
#include "config/loader.h"
#include "maglev/maglev.h"

namespace maglev {
namespace {

const char* kConfig = R"(
maglev:
  vpp:
    lb: { ipv4-src-address: 192.0.2.1, new-flows-table-length: 1024 }
  backends:
    w0: { address: 10.0.0.10 }
    w1: { address: 10.0.0.11 }
    w2: { address: 10.0.0.12 }
    w3: { address: 10.0.0.13 }
    p1: { address: 10.0.1.1 }
    p2: { address: 10.0.1.2 }
    s1: { address: 10.0.2.1 }
  frontends:
    web:
      address: 192.0.2.80
      port: 80
      pools:
        - name: main
          backends: { w0: {}, w1: {}, w2: {}, w3: {} }
    api:
      address: 192.0.2.81
      port: 443
      pools:
        - name: primary
          backends: { p1: {}, p2: {} }
        - name: standby
          backends: { s1: {} }
)";

class PreviewTest : public ::testing::Test {
 protected:
  PreviewTest()
      : stage_(d_, [this](const std::string& b) {
          auto it = states_.find(b);
          return it == states_.end() ? BackendState::kUnknown : it->second;
        }) {
    Logger::Get().SetOutput(nullptr);
    config_ = Parse(kConfig);
    stage_.Start(config_);
    for (const auto& [name, _] : config_->backends) Set(name, BackendState::kUp);
  }
  ~PreviewTest() override { Logger::Get().SetOutput(stderr); }

  static std::shared_ptr<const Config> Parse(const std::string& text) {
    ConfigResult r = ParseConfig(text);
    EXPECT_TRUE(r.ok()) << r.error;
    return r.config;
  }
  void Set(const std::string& b, BackendState to) {
    Transition t;
    t.from = states_.count(b) ? states_[b] : BackendState::kUnknown;
    t.to = to;
    states_[b] = to;
    stage_.OnTransition(b, t);
  }
  PreviewInputs Inputs() {
    return SnapshotStage(stage_, [this](const std::string& b) {
      auto it = states_.find(b);
      return it == states_.end() ? BackendState::kUnknown : it->second;
    });
  }
  PreviewResult Run(const CandidateChange& c, PreviewTableMode mode = PreviewTableMode::kWeights) {
    auto r = PreviewChangeEffect(Inputs(), c, mode);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : PreviewResult{};
  }
  static CandidateChange Backend(CandidateChange::Kind k, const std::string& b) {
    CandidateChange c;
    c.kind = k;
    c.backend = b;
    return c;
  }
  static const VipPreview* Vip(const PreviewResult& r, const std::string& fe) {
    for (const VipPreview& v : r.vips)
      if (v.frontend == fe) return &v;
    return nullptr;
  }
  static const AsPreview* Row(const VipPreview& v, const std::string& b) {
    for (const AsPreview& pb : v.backends)
      if (pb.backend == b) return &pb;
    return nullptr;
  }
  // Per-backend buckets VPP would hold for the stage's current desired VIP.
  std::map<std::string, uint32_t> StageBuckets(const std::string& fe) {
    const DesiredVip& vip = stage_.Find(fe)->desired;
    std::vector<uint32_t> table = VppNewFlowTable(vip, PreviewTableMode::kWeights);
    std::map<std::string, uint32_t> out;
    for (uint32_t v : table)
      if (v != kMaglevNoServer) ++out[vip.ases[v].backend];
    return out;
  }
  static std::map<std::string, uint32_t> After(const VipPreview& v) {
    std::map<std::string, uint32_t> out;
    for (const AsPreview& pb : v.backends)
      if (pb.buckets_after) out[pb.backend] = pb.buckets_after;
    return out;
  }
  // The number of buckets whose AS differs between two tables of the stage.
  static uint32_t Moved(const DesiredVip& a, const DesiredVip& b) {
    std::vector<uint32_t> ta = VppNewFlowTable(a, PreviewTableMode::kWeights);
    std::vector<uint32_t> tb = VppNewFlowTable(b, PreviewTableMode::kWeights);
    uint32_t n = 0;
    for (size_t i = 0; i < ta.size(); ++i) {
      IpAddress x = ta[i] == kMaglevNoServer ? IpAddress() : a.ases[ta[i]].address;
      IpAddress y = tb[i] == kMaglevNoServer ? IpAddress() : b.ases[tb[i]].address;
      n += x == y ? 0 : 1;
    }
    return n;
  }

  SimDispatcher d_;
  std::map<std::string, BackendState> states_;
  std::shared_ptr<const Config> config_;
  LbStage stage_;
};

TEST_F(PreviewTest, DisableOneOfFourMovesExactlyItsBuckets) {
  DesiredVip before = stage_.Find("web")->desired;
  PreviewResult r = Run(Backend(CandidateChange::Kind::kDisable, "w1"));
  ASSERT_EQ(r.vips.size(), 1u);  // only web uses w1
  const VipPreview& v = r.vips[0];
  EXPECT_EQ(v.frontend, "web");
  EXPECT_EQ(v.table_length, 1024u);
  const AsPreview* w1 = Row(v, "w1");
  ASSERT_NE(w1, nullptr);
  EXPECT_EQ(w1->weight_before, 100);
  EXPECT_EQ(w1->weight_after, 0);
  EXPECT_EQ(w1->buckets_after, 0u);
  // A quarter of the table belonged to w1 and all of it moves. Maglev is
  // not minimally disruptive: rebuilding the table also reshuffles some
  // buckets among the other ASes, and the preview counts those too.
  EXPECT_EQ(w1->buckets_before, 256u);
  uint32_t from_w1 = 0;
  for (const BucketMove& m : v.moves) {
    EXPECT_NE(m.to, "w1");
    EXPECT_NE(m.to, "");
    if (m.from == "w1") from_w1 += m.buckets;
  }
  EXPECT_EQ(from_w1, w1->buckets_before);
  EXPECT_GE(v.moved_buckets, w1->buckets_before);
  EXPECT_GE(v.moved_share, 0.25);
  EXPECT_LT(v.moved_share, 0.5);
  uint32_t total = 0;
  for (const BucketMove& m : v.moves) total += m.buckets;
  EXPECT_EQ(total, v.moved_buckets);
  EXPECT_EQ(v.flushed, std::vector<std::string>{"w1"});

  // Nothing changed by the preview.
  EXPECT_EQ(stage_.Find("web")->desired, before);
  // What the stage does once w1 really is disabled.
  Set("w1", BackendState::kDisabled);
  EXPECT_EQ(After(v), StageBuckets("web"));
  EXPECT_EQ(v.moved_buckets, Moved(before, stage_.Find("web")->desired));
}

TEST_F(PreviewTest, WeightChangeMatchesTheStage) {
  DesiredVip before = stage_.Find("web")->desired;
  CandidateChange c;
  c.kind = CandidateChange::Kind::kSetWeight;
  c.frontend = "web";
  c.pool = "main";
  c.backend = "w0";
  c.weight = 40;
  PreviewResult r = Run(c);
  ASSERT_EQ(r.vips.size(), 1u);
  const VipPreview& v = r.vips[0];
  EXPECT_EQ(Row(v, "w0")->weight_after, 40);
  EXPECT_LT(Row(v, "w0")->buckets_after, Row(v, "w0")->buckets_before);
  EXPECT_GT(v.moved_buckets, 0u);
  EXPECT_TRUE(v.flushed.empty());
  // The counts are the closed form of VPP's builder.
  std::vector<MaglevEntry> entries;
  for (const DesiredAs& as : before.ases)
    entries.push_back({as.address.ip46(), as.backend == "w0" ? 40u : 100u});
  std::vector<uint32_t> counts = ComputeMaglevBucketCounts(entries, 1024);
  for (size_t i = 0; i < before.ases.size(); ++i)
    EXPECT_EQ(Row(v, before.ases[i].backend)->buckets_after, counts[i]);

  ASSERT_TRUE(stage_.SetWeight("web", "main", "w0", 40).ok());
  EXPECT_EQ(After(v), StageBuckets("web"));
  EXPECT_EQ(v.moved_buckets, Moved(before, stage_.Find("web")->desired));
}

TEST_F(PreviewTest, PoolFailoverMovesEverythingToTheStandby) {
  Set("p2", BackendState::kDown);
  DesiredVip before = stage_.Find("api")->desired;
  PreviewResult r = Run(Backend(CandidateChange::Kind::kDisable, "p1"));
  const VipPreview* v = Vip(r, "api");
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(v->active_pool_before, "primary");
  EXPECT_EQ(v->active_pool_after, "standby");
  EXPECT_EQ(v->moved_buckets, 1024u);
  EXPECT_DOUBLE_EQ(v->moved_share, 1.0);
  ASSERT_EQ(v->moves.size(), 1u);
  EXPECT_EQ(v->moves[0].from, "p1");
  EXPECT_EQ(v->moves[0].to, "s1");
  EXPECT_EQ(Row(*v, "s1")->buckets_after, 1024u);
  EXPECT_EQ(v->flushed, std::vector<std::string>{"p1"});

  Set("p1", BackendState::kDisabled);
  EXPECT_EQ(stage_.Find("api")->active_pool, "standby");
  EXPECT_EQ(After(*v), StageBuckets("api"));
}

TEST_F(PreviewTest, NoOpChangesMoveNothing) {
  CandidateChange c;
  c.kind = CandidateChange::Kind::kSetWeight;
  c.frontend = "web";
  c.pool = "main";
  c.backend = "w2";
  c.weight = 100;  // what it already has
  EXPECT_TRUE(Run(c).vips.empty());
  EXPECT_TRUE(Run(Backend(CandidateChange::Kind::kResume, "w2")).vips.empty());  // not paused
  EXPECT_TRUE(Run(Backend(CandidateChange::Kind::kEnable, "w2")).vips.empty());  // not disabled
  // The VIP-level function on an unchanged VIP.
  const DesiredVip& vip = stage_.Find("web")->desired;
  VipPreview same = PreviewVipChange(&vip, &vip, {}, PreviewTableMode::kWeights);
  EXPECT_EQ(same.moved_buckets, 0u);
  EXPECT_TRUE(same.moves.empty());
  EXPECT_TRUE(same.flushed.empty());
  uint32_t total = 0;
  for (const AsPreview& pb : same.backends) {
    EXPECT_EQ(pb.buckets_before, pb.buckets_after);
    total += pb.buckets_after;
  }
  EXPECT_EQ(total, 1024u);
}

TEST_F(PreviewTest, DrainAndPauseDoNotFlush) {
  PreviewResult drain = Run(Backend(CandidateChange::Kind::kDrain, "w3"));
  ASSERT_EQ(drain.vips.size(), 1u);
  EXPECT_EQ(Row(drain.vips[0], "w3")->weight_after, 0);
  EXPECT_TRUE(drain.vips[0].flushed.empty());
  PreviewResult pause = Run(Backend(CandidateChange::Kind::kPause, "w3"));
  ASSERT_EQ(pause.vips.size(), 1u);
  EXPECT_TRUE(pause.vips[0].flushed.empty());
  EXPECT_EQ(pause.vips[0].moved_buckets, drain.vips[0].moved_buckets);
}

TEST_F(PreviewTest, EnableAssumesTheBackendComesUp) {
  Set("w0", BackendState::kDisabled);
  std::map<std::string, uint32_t> before = StageBuckets("web");
  PreviewResult r = Run(Backend(CandidateChange::Kind::kEnable, "w0"));
  ASSERT_EQ(r.vips.size(), 1u);
  EXPECT_FALSE(r.assumptions.empty());
  EXPECT_EQ(Row(r.vips[0], "w0")->buckets_before, 0u);
  EXPECT_GT(Row(r.vips[0], "w0")->buckets_after, 0u);
  EXPECT_TRUE(r.vips[0].flushed.empty());
  Set("w0", BackendState::kUnknown);  // what enable does
  EXPECT_EQ(StageBuckets("web"), before);
  Set("w0", BackendState::kUp);  // its probes pass
  EXPECT_EQ(After(r.vips[0]), StageBuckets("web"));
}

TEST_F(PreviewTest, DisablingAStandbyFlushesWithoutMoving) {
  // s1 has weight 0 (its pool is not active) but may hold sticky flows.
  PreviewResult r = Run(Backend(CandidateChange::Kind::kDisable, "s1"));
  const VipPreview* v = Vip(r, "api");
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(v->moved_buckets, 0u);
  EXPECT_EQ(v->flushed, std::vector<std::string>{"s1"});
}

TEST_F(PreviewTest, LegacyModeCountsEveryAsOnce) {
  CandidateChange c;
  c.kind = CandidateChange::Kind::kSetWeight;
  c.frontend = "web";
  c.pool = "main";
  c.backend = "w0";
  c.weight = 10;
  // Without weights a weight change that stays > 0 moves nothing.
  EXPECT_EQ(Run(c, PreviewTableMode::kLegacy).vips.at(0).moved_buckets, 0u);
  EXPECT_EQ(Run(c, PreviewTableMode::kNoWeights).vips.at(0).moved_buckets, 0u);
  EXPECT_GT(Run(c, PreviewTableMode::kWeights).vips.at(0).moved_buckets, 0u);
}

TEST_F(PreviewTest, CandidateConfig) {
  std::string text = kConfig;
  // w3 leaves web; a new backend w4 joins it.
  text.replace(text.find("w3: {} }"), 8, "w4: {} }");
  text.replace(text.find("    p1:"), 0, "    w4: { address: 10.0.0.14 }\n");
  CandidateChange c;
  c.kind = CandidateChange::Kind::kConfig;
  c.config = Parse(text);
  PreviewResult r = Run(c);
  ASSERT_EQ(r.vips.size(), 1u);
  const VipPreview& v = r.vips[0];
  EXPECT_FALSE(v.vip_recreated);
  EXPECT_FALSE(Row(v, "w3")->weight_after.has_value());
  EXPECT_EQ(Row(v, "w4")->weight_after, 100);
  EXPECT_EQ(v.flushed, std::vector<std::string>{"w3"});
  EXPECT_FALSE(r.assumptions.empty());

  // A new table length re-creates every VIP: all flows flushed.
  std::string longer = kConfig;
  longer.replace(longer.find("new-flows-table-length: 1024"), 28, "new-flows-table-length: 2048");
  c.config = Parse(longer);
  PreviewResult re = Run(c);
  ASSERT_EQ(re.vips.size(), 2u);
  for (const VipPreview& x : re.vips) {
    EXPECT_TRUE(x.vip_recreated);
    EXPECT_EQ(x.table_length, 2048u);
    EXPECT_EQ(x.moved_buckets, 2048u);
    EXPECT_EQ(x.flushed.size(), x.backends.size());
  }
  // The same file moves nothing.
  c.config = Parse(kConfig);
  EXPECT_TRUE(Run(c).vips.empty());
}

TEST_F(PreviewTest, ErrorsAreThoseOfTheAction) {
  auto st = [this](const CandidateChange& c) {
    return PreviewChangeEffect(Inputs(), c, PreviewTableMode::kWeights).status().code();
  };
  EXPECT_EQ(st(Backend(CandidateChange::Kind::kDisable, "nope")), absl::StatusCode::kNotFound);
  EXPECT_EQ(st(Backend(CandidateChange::Kind::kDisable, "")), absl::StatusCode::kInvalidArgument);
  Set("w0", BackendState::kDisabled);
  EXPECT_EQ(st(Backend(CandidateChange::Kind::kPause, "w0")),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(st(Backend(CandidateChange::Kind::kDrain, "w0")),
            absl::StatusCode::kFailedPrecondition);
  CandidateChange c;
  c.kind = CandidateChange::Kind::kSetWeight;
  c.frontend = "web";
  c.pool = "main";
  c.backend = "w1";
  c.weight = 101;
  EXPECT_EQ(st(c), absl::StatusCode::kInvalidArgument);
  c.weight = 5;
  c.pool = "other";
  EXPECT_EQ(st(c), absl::StatusCode::kNotFound);
  c.kind = CandidateChange::Kind::kConfig;
  EXPECT_EQ(st(c), absl::StatusCode::kInvalidArgument);  // no config
}

}  // namespace
}  // namespace maglev
