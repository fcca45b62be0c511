// SPDX-License-Identifier: Apache-2.0
// The pure parts of the stats RPCs: where a new flow lands (LookupNewFlow,
// against the Maglev table and flow hash it is built from), the dedup of a
// re-created VIP's ASes, in_use_since as a Unix time, and the counters reply.
#include "api/vpp_stats.h"

#include <gtest/gtest.h>

#include <set>

#include "api/convert.h"
#include "maglev/flow_hash.h"
#include "maglev/maglev.h"

namespace maglev {
namespace {

IpAddress Ip(const char* s) { return *IpAddress::Parse(s); }

VppAsData As(const char* addr, uint32_t weight, bool used = true) {
  VppAsData a;
  a.address = Ip(addr);
  a.weight = weight;
  a.flags = used ? 1 : 0;
  return a;
}

VppVipData Vip(std::vector<VppAsData> ases, uint32_t length = 1024) {
  VppVipData v;
  v.prefix = "192.0.2.80/32";
  v.protocol = 6;
  v.port = 80;
  v.flow_table_length = length;
  v.ases = std::move(ases);
  return v;
}

FlowLookupResult Look(const VppVipData& v, uint16_t sport, bool legacy = false, bool sticky = false,
                      const char* src = "10.0.0.1") {
  auto r = LookupNewFlow(v, legacy, sticky, Ip(src), sport, Ip("192.0.2.80"), 80, 6);
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? *r : FlowLookupResult{};
}

TEST(LookupNewFlowTest, MatchesTheTableAtTheFlowHashBucket) {
  VppVipData v = Vip({As("127.0.0.11", 100), As("127.0.0.12", 100), As("127.0.0.13", 50)});
  std::vector<MaglevEntry> entries;
  for (const auto& a : v.ases) entries.push_back({a.address.ip46(), a.weight});
  std::vector<uint32_t> table = BuildNewFlowTable(entries, 1024);
  std::set<std::string> seen;
  for (uint16_t sport = 1000; sport < 1100; ++sport) {
    FlowLookupResult r = Look(v, sport);
    LbFlow f;
    const uint8_t src[4] = {10, 0, 0, 1}, dst[4] = {192, 0, 2, 80};
    std::copy(src, src + 4, f.src.begin());
    std::copy(dst, dst + 4, f.dst.begin());
    f.src_port = sport;
    f.dst_port = 80;
    EXPECT_EQ(r.hash, LbFlowHash(f, false));
    EXPECT_EQ(r.bucket, r.hash & 1023);
    EXPECT_EQ(r.table_length, 1024u);
    ASSERT_TRUE(r.as.has_value());
    EXPECT_EQ(*r.as, v.ases[table[r.bucket]].address);
    seen.insert(r.as->ToString());
  }
  EXPECT_EQ(seen.size(), 3u);
}

TEST(LookupNewFlowTest, RemovedAndWeightZeroAsesTakeNoNewFlows) {
  VppVipData v = Vip({As("127.0.0.11", 100), As("127.0.0.12", 0), As("127.0.0.13", 100, false)});
  for (uint16_t sport = 1; sport < 200; ++sport) {
    FlowLookupResult r = Look(v, sport);
    ASSERT_TRUE(r.as.has_value());
    EXPECT_EQ(r.as->ToString(), "127.0.0.11");
  }
  // Legacy lb ignores weights: the weight-0 AS takes new flows there.
  std::set<std::string> legacy;
  for (uint16_t sport = 1; sport < 200; ++sport) legacy.insert(Look(v, sport, true).as->ToString());
  EXPECT_EQ(legacy, (std::set<std::string>{"127.0.0.11", "127.0.0.12"}));
}

TEST(LookupNewFlowTest, NoUsableAsIsDropped) {
  EXPECT_FALSE(Look(Vip({}), 5).as.has_value());
  EXPECT_FALSE(Look(Vip({As("127.0.0.11", 0)}), 5).as.has_value());
}

TEST(LookupNewFlowTest, SrcIpStickyIgnoresPorts) {
  VppVipData v = Vip({As("127.0.0.11", 100), As("127.0.0.12", 100), As("127.0.0.13", 100)});
  const uint32_t h = Look(v, 1, false, true).hash;
  for (uint16_t sport = 2; sport < 50; ++sport) EXPECT_EQ(Look(v, sport, false, true).hash, h);
}

TEST(LookupNewFlowTest, BadInputIsRefused) {
  VppVipData v = Vip({As("127.0.0.11", 100)});
  auto r = LookupNewFlow(v, false, false, Ip("2001:db8::1"), 1, Ip("192.0.2.80"), 80, 6);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  r = LookupNewFlow(Vip({As("127.0.0.11", 100)}, 1000), false, false, Ip("10.0.0.1"), 1,
                    Ip("192.0.2.80"), 80, 6);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("power of two"), std::string::npos);
}

TEST(VppLbStateTest, ReCreatedVipListsEachAsOnce) {
  // The deleted VIP's removed ASes come first in the dump, then the live ones.
  std::vector<VppAsData> dumped = {As("127.0.0.11", 0, false), As("127.0.0.12", 0, false),
                                   As("127.0.0.11", 100), As("127.0.0.12", 100),
                                   As("127.0.0.13", 0, false)};
  std::vector<VppAsData> out = DedupeVipAses(dumped);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].address.ToString(), "127.0.0.11");
  EXPECT_EQ(out[0].flags, 1u);
  EXPECT_EQ(out[1].flags, 1u);
  EXPECT_EQ(out[2].address.ToString(), "127.0.0.13");
  EXPECT_EQ(out[2].flags, 0u);
}

TEST(VppLbStateTest, InUseSinceBecomesUnixTimeForRemovedAses) {
  const int64_t boot = 1700000000LL * 1000000000;
  EXPECT_EQ(InUseSinceNs(42, 0, boot), boot + 42LL * 1000000000);
  EXPECT_EQ(InUseSinceNs(42, 1, boot), 0);    // active: VPP's value is stale memory
  EXPECT_EQ(InUseSinceNs(0, 0, boot), boot);  // removed in VPP's first second
  EXPECT_EQ(InUseSinceNs(42, 0, 0), 0);       // boot time unknown
  VppLbStateData d;
  VppVipData v = Vip({As("127.0.0.11", 100), As("127.0.0.12", 0, false)});
  v.ases[0].in_use_since_s = 7;
  v.ases[1].in_use_since_s = 9;
  d.vips.push_back(v);
  VPPLBState s;
  FillVppLbState(d, &s, boot);
  ASSERT_EQ(s.vips(0).application_servers_size(), 2);
  EXPECT_EQ(s.vips(0).application_servers(0).in_use_since_ns(), 0);
  EXPECT_EQ(s.vips(0).application_servers(1).in_use_since_ns(), boot + 9LL * 1000000000);
}

TEST(VppLbCountersTest, FillsEveryFrontendInOrder) {
  VppCountersReading r;
  r.time_ns = 20;
  r.previous_time_ns = 10;
  r.interval_ns = 10;
  VppVipCounters a;
  a.in_vpp = true;
  a.vip_index = 3;
  a.route_stats_index = 17;
  a.now.lb = {5, 2, 1, 0};
  a.now.route_packets = 8;
  a.now.route_bytes = 320;
  a.previous = VppVipCounterValues{{1, 1, 0, 0}, 2, 80};
  r.vips.push_back(a);
  r.vips.push_back({});  // not in VPP
  VipKey k1 = VipKey::Host(Ip("192.0.2.80"), 6, 80);
  VipKey k2 = VipKey::Host(Ip("192.0.2.81"), 6, 443);
  VPPLBCounters out;
  FillVppLbCounters({{"web", k1}, {"idle", k2}}, r, &out);
  ASSERT_EQ(out.frontends_size(), 2);
  EXPECT_EQ(out.sample_time_ns(), 20);
  EXPECT_EQ(out.previous_sample_time_ns(), 10);
  const auto& w = out.frontends(0);
  EXPECT_EQ(w.frontend(), "web");
  EXPECT_TRUE(w.vip_in_vpp());
  EXPECT_EQ(w.vip_index(), 3u);
  EXPECT_TRUE(w.route_known());
  EXPECT_EQ(w.route_stats_index(), 17u);
  EXPECT_EQ(w.counters().existing_session_packets(), 5u);
  EXPECT_EQ(w.counters().untracked_packets(), 1u);
  EXPECT_EQ(w.counters().route_bytes(), 320u);
  EXPECT_EQ(w.previous().route_packets(), 2u);
  const auto& i = out.frontends(1);
  EXPECT_EQ(i.frontend(), "idle");
  EXPECT_FALSE(i.vip_in_vpp());
  EXPECT_FALSE(i.has_previous());
  EXPECT_EQ(i.counters().first_session_packets(), 0u);
}

}  // namespace
}  // namespace maglev
