// Desired state and diff tables (spec §5.1/§5.2): from effective weights to
// the minimal, deterministically ordered lb calls.
#include "vpp/desired.h"

#include <gtest/gtest.h>

#include "config/loader.h"

namespace maglev {
namespace {

using S = BackendState;

IpAddress Ip(const char* s) { return *IpAddress::Parse(s); }

const char* kYaml = R"(
maglev:
  vpp:
    lb:
      ipv4-src-address: 192.0.2.1
      ipv6-src-address: 2001:db8::1
      new-flows-table-length: 4096
  backends:
    a1: { address: 198.51.100.11 }
    a2: { address: 198.51.100.2 }
    b1: { address: 198.51.100.21 }
    c1: { address: 198.51.100.31 }
    v6a: { address: 2001:db8::10 }
    v6b: { address: 2001:db8::9 }
  frontends:
    web:
      address: 192.0.2.80
      port: 80
      pools:
        - name: gold
          backends: { a1: {}, a2: { weight: 50 } }
        - name: silver
          backends: { b1: { weight: 30 } }
        - name: bronze
          backends: { c1: {} }
    six:
      address: 2001:db8::80
      protocol: any
      src-ip-sticky: true
      pools:
        - name: p
          backends: { v6a: {}, v6b: {} }
)";

class DesiredTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ConfigResult r = ParseConfig(kYaml);
    ASSERT_TRUE(r.ok()) << r.error;
    cfg_ = r.config;
  }
  DesiredVip Want(const std::string& fe, std::map<std::string, S> states) {
    auto eff = ComputeEffective(
        cfg_->frontends.at(fe),
        [&](const std::string& b) { return states.count(b) ? states.at(b) : S::kUnknown; }, {});
    return BuildDesiredVip(*cfg_, cfg_->frontends.at(fe), eff);
  }
  std::shared_ptr<const Config> cfg_;
};

ActualVip Have(const DesiredVip& want, std::map<std::string, int> weights) {
  ActualVip a;
  a.info.key = want.spec.key;
  a.info.encap = want.spec.encap;
  a.info.flow_table_length_low16 = static_cast<uint16_t>(want.spec.new_flows_table_length);
  for (auto& [addr, w] : weights) {
    AsInfo as;
    as.vip = want.spec.key;
    as.address = Ip(addr.c_str());
    as.flags = 1;
    as.weight = static_cast<uint8_t>(w);
    a.active[as.address] = as;
  }
  return a;
}

std::vector<std::string> Describe(const std::vector<LbCall>& calls) {
  std::vector<std::string> out;
  for (const auto& c : calls) out.push_back(DescribeLbCall(c));
  return out;
}

TEST_F(DesiredTest, VipFromFrontend) {
  DesiredVip v = Want("web", {});
  EXPECT_EQ(v.spec.key.ToString(), "192.0.2.80/32 tcp/80");
  EXPECT_EQ(v.spec.encap, LbEncap::kGre4);
  EXPECT_EQ(v.spec.new_flows_table_length, 4096u);
  EXPECT_FALSE(v.spec.src_ip_sticky);
  DesiredVip six = Want("six", {});
  EXPECT_EQ(six.spec.key.protocol, kLbProtoAny);
  EXPECT_EQ(six.spec.key.port, 0);
  EXPECT_EQ(six.spec.encap, LbEncap::kGre6);
  EXPECT_TRUE(six.spec.src_ip_sticky);
}

TEST_F(DesiredTest, AsesAreInAscendingAddressOrder) {
  DesiredVip v = Want("web", {});
  std::vector<std::string> order;
  for (auto& as : v.ases) order.push_back(as.address.ToString());
  EXPECT_EQ(order, (std::vector<std::string>{"198.51.100.2", "198.51.100.11", "198.51.100.21",
                                             "198.51.100.31"}));
  DesiredVip six = Want("six", {});
  EXPECT_EQ(six.ases[0].address.ToString(), "2001:db8::9");
  EXPECT_EQ(six.ases[1].address.ToString(), "2001:db8::10");
}

TEST_F(DesiredTest, FailoverAcrossThreePools) {
  auto w = [](const DesiredVip& v) {
    std::map<std::string, int> m;
    for (auto& as : v.ases) m[as.backend] = as.weight;
    return m;
  };
  using M = std::map<std::string, int>;
  EXPECT_EQ(w(Want("web", {{"a1", S::kUp}, {"a2", S::kUp}, {"b1", S::kUp}, {"c1", S::kUp}})),
            (M{{"a1", 100}, {"a2", 50}, {"b1", 0}, {"c1", 0}}));
  EXPECT_EQ(
      w(Want("web", {{"a1", S::kDown}, {"a2", S::kDisabled}, {"b1", S::kUp}, {"c1", S::kUp}})),
      (M{{"a1", 0}, {"a2", 0}, {"b1", 30}, {"c1", 0}}));
  EXPECT_EQ(
      w(Want("web", {{"a1", S::kDown}, {"a2", S::kPaused}, {"b1", S::kDown}, {"c1", S::kUp}})),
      (M{{"a1", 0}, {"a2", 0}, {"b1", 0}, {"c1", 100}}));
}

TEST_F(DesiredTest, EmptyVppGetsVipThenAsesInOrder) {
  DesiredVip v = Want("web", {{"a1", S::kUp}, {"a2", S::kUp}, {"b1", S::kUp}, {"c1", S::kDown}});
  auto calls = DiffVip(v, nullptr, LbApiLevel::kWeights, {});
  EXPECT_EQ(Describe(calls),
            (std::vector<std::string>{
                DescribeLbCall(LbAddVip{v.spec}),
                DescribeLbCall(LbAddAs{v.spec.key, Ip("198.51.100.2"), 50, false}),
                DescribeLbCall(LbAddAs{v.spec.key, Ip("198.51.100.11"), 100, false}),
                DescribeLbCall(LbAddAs{v.spec.key, Ip("198.51.100.21"), 0, false}),
                DescribeLbCall(LbAddAs{v.spec.key, Ip("198.51.100.31"), 0, false}),
            }));
}

TEST_F(DesiredTest, NothingToDoMeansNoCalls) {
  DesiredVip v = Want("web", {{"a1", S::kUp}, {"a2", S::kUp}, {"b1", S::kUp}, {"c1", S::kUp}});
  ActualVip have = Have(
      v,
      {{"198.51.100.11", 100}, {"198.51.100.2", 50}, {"198.51.100.21", 0}, {"198.51.100.31", 0}});
  EXPECT_TRUE(DiffVip(v, &have, LbApiLevel::kWeights, {}).empty());
}

TEST_F(DesiredTest, DownFlushesOnTheWayToZero) {
  DesiredVip v = Want("web", {{"a1", S::kDown}, {"a2", S::kUp}, {"b1", S::kUp}, {"c1", S::kUp}});
  ActualVip have = Have(
      v,
      {{"198.51.100.11", 100}, {"198.51.100.2", 50}, {"198.51.100.21", 0}, {"198.51.100.31", 0}});
  auto calls = DiffVip(v, &have, LbApiLevel::kWeights, {Ip("198.51.100.11")});
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(std::get<LbSetAsWeight>(calls[0]),
            (LbSetAsWeight{v.spec.key, Ip("198.51.100.11"), 0, true}));
}

TEST_F(DesiredTest, FlushOnDownFalseDrainsGracefully) {
  Frontend fe = cfg_->frontends.at("web");
  fe.flush_on_down = false;
  auto eff =
      ComputeEffective(fe, [](const std::string& b) { return b == "a1" ? S::kDown : S::kUp; }, {});
  DesiredVip v = BuildDesiredVip(*cfg_, fe, eff);
  ActualVip have = Have(
      v,
      {{"198.51.100.11", 100}, {"198.51.100.2", 50}, {"198.51.100.21", 0}, {"198.51.100.31", 0}});
  auto calls = DiffVip(v, &have, LbApiLevel::kWeights, {Ip("198.51.100.11")});
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_FALSE(std::get<LbSetAsWeight>(calls[0]).flush);
}

TEST_F(DesiredTest, DisabledStandbyIsFlushedEvenAtWeightZero) {
  DesiredVip v =
      Want("web", {{"a1", S::kUp}, {"a2", S::kUp}, {"b1", S::kDisabled}, {"c1", S::kUp}});
  ActualVip have = Have(
      v,
      {{"198.51.100.11", 100}, {"198.51.100.2", 50}, {"198.51.100.21", 0}, {"198.51.100.31", 0}});
  // The transition asked for a flush: sent although the weight is already 0.
  auto calls = DiffVip(v, &have, LbApiLevel::kWeights, {Ip("198.51.100.21")});
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(std::get<LbSetAsWeight>(calls[0]),
            (LbSetAsWeight{v.spec.key, Ip("198.51.100.21"), 0, true}));
  // A periodic sync (no transition) sends nothing.
  EXPECT_TRUE(DiffVip(v, &have, LbApiLevel::kWeights, {}).empty());
  // A paused backend asks for no flush even when a transition happened.
  DesiredVip p = Want("web", {{"a1", S::kUp}, {"a2", S::kUp}, {"b1", S::kPaused}, {"c1", S::kUp}});
  EXPECT_TRUE(DiffVip(p, &have, LbApiLevel::kWeights, {Ip("198.51.100.21")}).empty());
}

TEST_F(DesiredTest, ForeignAsesAreRemovedWithFlush) {
  DesiredVip v = Want("web", {{"a1", S::kUp}, {"a2", S::kUp}, {"b1", S::kUp}, {"c1", S::kUp}});
  ActualVip have = Have(v, {{"198.51.100.11", 100},
                            {"198.51.100.2", 50},
                            {"198.51.100.21", 0},
                            {"198.51.100.31", 0},
                            {"198.51.100.99", 100},
                            {"198.51.100.1", 7}});
  auto calls = DiffVip(v, &have, LbApiLevel::kWeights, {});
  EXPECT_EQ(Describe(calls), (std::vector<std::string>{
                                 DescribeLbCall(LbDelAs{v.spec.key, Ip("198.51.100.1"), true}),
                                 DescribeLbCall(LbDelAs{v.spec.key, Ip("198.51.100.99"), true}),
                             }));
}

TEST_F(DesiredTest, WeightChangeAndReactivation) {
  DesiredVip v = Want("web", {{"a1", S::kUp}, {"a2", S::kUp}, {"b1", S::kUp}, {"c1", S::kUp}});
  ActualVip have = Have(v, {{"198.51.100.11", 80}, {"198.51.100.21", 0}, {"198.51.100.31", 0}});
  have.removed.insert(Ip("198.51.100.2"));  // removed, awaiting GC: re-added by an add
  auto calls = DiffVip(v, &have, LbApiLevel::kWeights, {});
  EXPECT_EQ(Describe(calls),
            (std::vector<std::string>{
                DescribeLbCall(LbAddAs{v.spec.key, Ip("198.51.100.2"), 50, false}),
                DescribeLbCall(LbSetAsWeight{v.spec.key, Ip("198.51.100.11"), 100, false}),
            }));
}

TEST_F(DesiredTest, RecreateWhenEncapTableLengthOrStickyChange) {
  DesiredVip v = Want("web", {{"a1", S::kUp}});
  ActualVip have = Have(v, {{"198.51.100.11", 100}});
  ActualVip len = have;
  len.info.flow_table_length_low16 = 1024;
  EXPECT_TRUE(NeedsRecreate(v, len));
  ActualVip encap = have;
  encap.info.encap = LbEncap::kGre6;
  EXPECT_TRUE(NeedsRecreate(v, encap));
  ActualVip sticky = have;
  sticky.src_ip_sticky = true;
  EXPECT_TRUE(NeedsRecreate(v, sticky));
  ActualVip unknown_sticky = have;  // not reported by VPP: not a reason
  EXPECT_FALSE(NeedsRecreate(v, unknown_sticky));
  auto calls = DiffVip(v, &sticky, LbApiLevel::kWeights, {});
  ASSERT_GE(calls.size(), 3u);
  EXPECT_EQ(std::get<LbDelAs>(calls[0]), (LbDelAs{v.spec.key, Ip("198.51.100.11"), true}));
  EXPECT_EQ(std::get<LbDelVip>(calls[1]).key, v.spec.key);
  EXPECT_EQ(std::get<LbAddVip>(calls[2]).spec, v.spec);
  // The table length on the wire is never 0.
  EXPECT_NE(std::get<LbAddVip>(calls[2]).spec.new_flows_table_length, 0u);
}

TEST_F(DesiredTest, TableLengthBeyond16BitsComparedWhenKnown) {
  DesiredVip v = Want("web", {{"a1", S::kUp}});
  v.spec.new_flows_table_length = 131072;
  ActualVip have = Have(v, {{"198.51.100.11", 100}});
  have.info.flow_table_length_low16 = 0;  // 65536 and 131072 both read back as 0
  EXPECT_FALSE(NeedsRecreate(v, have));   // unknown full length: no difference seen
  have.table_length = 65536;              // we created it with 65536
  EXPECT_TRUE(NeedsRecreate(v, have));
  have.table_length = 131072;
  EXPECT_FALSE(NeedsRecreate(v, have));
}

TEST_F(DesiredTest, MembershipFallbackWithoutWeights) {
  DesiredVip v =
      Want("web", {{"a1", S::kDown}, {"a2", S::kUp}, {"b1", S::kDisabled}, {"c1", S::kUp}});
  ActualVip have = Have(v, {{"198.51.100.11", 100}, {"198.51.100.21", 100}});
  auto calls = DiffVip(v, &have, LbApiLevel::kLegacy, {});
  EXPECT_EQ(Describe(calls),
            (std::vector<std::string>{
                DescribeLbCall(LbAddAs{v.spec.key, Ip("198.51.100.2"), 100, false}),
                DescribeLbCall(LbDelAs{v.spec.key, Ip("198.51.100.11"), true}),
                DescribeLbCall(LbDelAs{v.spec.key, Ip("198.51.100.21"), true}),
            }));
  // Standby c1 (weight 0, up) is not present: nothing to add.
}

TEST_F(DesiredTest, GroupDumpsKeepsOnlyLiveVipsAndSplitsRemoved) {
  DesiredVip v = Want("web", {});
  VipInfo vip;
  vip.key = v.spec.key;
  AsInfo live;
  live.vip = v.spec.key;
  live.address = Ip("198.51.100.11");
  live.flags = 1;
  AsInfo gone = live;
  gone.address = Ip("198.51.100.2");
  gone.flags = 0;
  AsInfo orphan = live;  // of a deleted VIP awaiting GC
  orphan.vip = VipKey::Host(Ip("192.0.2.99"), 6, 80);
  auto g = GroupDumps({vip}, {live, gone, orphan});
  ASSERT_EQ(g.size(), 1u);
  EXPECT_EQ(g.begin()->second.active.size(), 1u);
  EXPECT_EQ(g.begin()->second.removed.count(Ip("198.51.100.2")), 1u);
}

TEST_F(DesiredTest, CacheFollowsAppliedCalls) {
  DesiredVip v = Want("web", {{"a1", S::kUp}});
  std::map<VipKey, ActualVip> cache;
  for (const LbCall& c : DiffVip(v, nullptr, LbApiLevel::kWeights, {})) ApplyToCache(c, &cache);
  ASSERT_EQ(cache.size(), 1u);
  // Diffing the same desired state against the cache is a no-op.
  EXPECT_TRUE(DiffVip(v, &cache.begin()->second, LbApiLevel::kWeights, {}).empty());
  ApplyToCache(LbDelVip{v.spec.key}, &cache);
  EXPECT_TRUE(cache.empty());
}

TEST_F(DesiredTest, CompareVipForTheFrontendView) {
  DesiredVip v = Want("web", {{"a1", S::kUp}, {"a2", S::kUp}});
  // What the reconciler would have programmed: in sync.
  ActualVip same = Have(
      v,
      {{"198.51.100.11", 100}, {"198.51.100.2", 50}, {"198.51.100.21", 0}, {"198.51.100.31", 0}});
  VipComparison c = CompareVip(v, &same, LbApiLevel::kWeights);
  EXPECT_TRUE(c.vip_present);
  EXPECT_TRUE(c.in_sync());
  EXPECT_EQ(c.vpp_weights.at(Ip("198.51.100.2")), 50u);

  // Drift: a weight changed and a foreign AS added behind our back; one
  // of ours removed.
  ActualVip drift = Have(
      v,
      {{"198.51.100.11", 100}, {"198.51.100.2", 0}, {"198.51.100.21", 0}, {"198.51.100.99", 100}});
  c = CompareVip(v, &drift, LbApiLevel::kWeights);
  EXPECT_FALSE(c.in_sync());
  EXPECT_EQ(c.vpp_weights.at(Ip("198.51.100.2")), 0u);
  EXPECT_EQ(c.vpp_weights.at(Ip("198.51.100.99")), 100u);
  EXPECT_EQ(c.vpp_weights.count(Ip("198.51.100.31")), 0u);
  std::vector<std::string> pending;
  for (const LbCall& call : c.pending) pending.push_back(DescribeLbCall(call));
  EXPECT_EQ(pending, (std::vector<std::string>{
                         "set-as-weight 192.0.2.80/32 tcp/80 198.51.100.2 weight 50",
                         "add-as 192.0.2.80/32 tcp/80 198.51.100.31 weight 0",
                         "del-as 192.0.2.80/32 tcp/80 198.51.100.99 flush",
                     }));
  EXPECT_EQ(c.differing,
            (std::set<IpAddress>{Ip("198.51.100.2"), Ip("198.51.100.31"), Ip("198.51.100.99")}));

  // No VIP at all.
  c = CompareVip(v, nullptr, LbApiLevel::kWeights);
  EXPECT_FALSE(c.vip_present);
  EXPECT_TRUE(c.vpp_weights.empty());
  ASSERT_FALSE(c.in_sync());
  EXPECT_TRUE(std::holds_alternative<LbAddVip>(c.pending.front()));
  EXPECT_EQ(c.differing.size(), 4u);  // every AS must be added

  // Membership fallback: dumps carry no weight; an active AS counts as 100,
  // and a standby (effective 0) must be absent.
  ActualVip members = Have(v, {{"198.51.100.11", 0}, {"198.51.100.2", 0}});
  for (auto& [_, as] : members.active) as.weight.reset();
  c = CompareVip(v, &members, LbApiLevel::kNoWeights);
  EXPECT_TRUE(c.in_sync());
  EXPECT_EQ(c.vpp_weights.at(Ip("198.51.100.11")), 100u);
}

TEST(DesiredConfTest, FromConfig) {
  VppLbConfig c;
  c.ipv4_src_address = IpAddress::Parse("192.0.2.1");
  c.flow_timeout = std::chrono::seconds(40);
  c.sticky_buckets_per_core = 65536;
  LbConf conf = DesiredConf(c);
  EXPECT_EQ(conf.ip4_src_address.ToString(), "192.0.2.1");
  EXPECT_EQ(conf.ip6_src_address.ToString(), "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
  EXPECT_EQ(conf.flow_timeout, 40u);
  EXPECT_EQ(conf.sticky_buckets_per_core, 65536u);
}

}  // namespace
}  // namespace maglev
