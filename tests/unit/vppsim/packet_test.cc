// SPDX-License-Identifier: Apache-2.0
// `test lb packet` through cli_inband: injected packets are classified as
// VPP's lb node classifies them (STATS.md §5.3) and land, flow for flow, on
// the AS that VPP's flow hash picks in the VIP's Maglev table; the counters
// show in `show lb vips verbose` and the sticky tables in `show lb`.
#include <gtest/gtest.h>

#include <regex>
#include <string>

#include "common/ip_address.h"
#include "harness.h"
#include "maglev/flow_hash.h"
#include "maglev/maglev.h"

namespace maglev::vppsim::testing {
namespace {

struct Out {
  uint32_t vip = 0, thread = 0, bucket = 0;
  uint32_t hash = 0;
  std::string as;
  uint64_t counts[4] = {};
};

Out Parse(const std::string& text) {
  Out o;
  std::smatch m;
  static const std::regex head(
      R"(vip \[(\d+)\] hash 0x([0-9a-f]{8}) bucket (\d+) thread (\d+) as (\S+)\n)");
  EXPECT_TRUE(std::regex_search(text, m, head)) << text;
  if (m.size() == 6) {
    o.vip = std::stoul(m[1]);
    o.hash = static_cast<uint32_t>(std::stoul(m[2], nullptr, 16));
    o.bucket = std::stoul(m[3]);
    o.thread = std::stoul(m[4]);
    o.as = m[5];
  }
  for (uint32_t c = 0; c < 4; ++c) {
    std::regex line(std::string("  ") + kLbVipCounterNames[c] + R"(: (\d+)\n)");
    if (std::regex_search(text, m, line)) o.counts[c] = std::stoull(m[1]);
  }
  return o;
}

TEST(TestLbPacket, NewFlowsLandWhereTheFlowHashSaysFlowForFlow) {
  Harness h(/*legacy=*/false, /*workers=*/3);
  const Vip vip{"192.0.2.10/32", 6, 80};
  ASSERT_EQ(h.AddVipV2(vip), 0);
  const std::vector<std::pair<std::string, uint8_t>> ases = {
      {"10.0.0.1", 100}, {"10.0.0.2", 50}, {"10.0.0.3", 100}};
  std::vector<MaglevEntry> entries;
  for (const auto& [a, w] : ases) {
    ASSERT_EQ(h.AddAsV2(vip, a, w), 0);
    entries.push_back({IpAddress::Parse(a)->ip46(), w});
  }
  const std::vector<uint32_t> table = BuildNewFlowTable(entries, 1024);
  for (int i = 0; i < 100; ++i) {
    const std::string src = "10.8.0." + std::to_string(i + 1);
    const uint16_t sport = static_cast<uint16_t>(30000 + 7 * i);
    LbFlow f;
    f.src = {10, 8, 0, static_cast<uint8_t>(i + 1)};
    f.dst = {192, 0, 2, 10};
    f.src_port = sport;
    f.dst_port = 80;
    const uint32_t hash = LbFlowHash(f, false);
    Out o = Parse(h.Cli("test lb packet 192.0.2.10 " + src + " " + std::to_string(sport) +
                        " 80 tcp count 3"));
    EXPECT_EQ(o.hash, hash);
    EXPECT_EQ(o.bucket, hash & 1023);
    EXPECT_EQ(o.as, ases[table[hash & 1023]].first);
    EXPECT_EQ(o.counts[kCounterFirstPacket], 1u);
    EXPECT_EQ(o.counts[kCounterNextPacket], 2u);
    // No workers means thread 0; three workers spread flows over 1..3.
    EXPECT_GE(o.thread, 1u);
    EXPECT_LE(o.thread, 3u);
  }
  const std::string verbose = h.Cli("show lb vips verbose");
  EXPECT_NE(verbose.find("    packet from existing sessions: 200\n"
                         "    first session packet: 100\n"
                         "    untracked packet: 0\n"
                         "    no server configured: 0\n"),
            std::string::npos)
      << verbose;
  // flows:N is the number of sticky entries holding the AS.
  std::smatch m;
  uint64_t flows = 0;
  std::string rest = verbose;
  while (std::regex_search(rest, m, std::regex(R"(flows:(\d+))"))) {
    flows += std::stoull(m[1]);
    rest = m.suffix();
  }
  EXPECT_EQ(flows, 100u);
  EXPECT_NE(h.Cli("show lb").find("core 1\n  timeout: 40s\n  usage: "), std::string::npos);
}

TEST(TestLbPacket, NoServerFlushExpiryAndUntracked) {
  Harness h;
  const Vip vip{"192.0.2.10/32", 6, 80};
  ASSERT_EQ(h.AddVipV2(vip), 0);
  Out o = Parse(h.Cli("test lb packet 192.0.2.10 10.0.0.9 1000 80 tcp"));
  EXPECT_EQ(o.as, "none");
  EXPECT_EQ(o.counts[kCounterNoServer], 1u);
  ASSERT_EQ(h.AddAsV2(vip, "10.0.0.1", 100), 0);
  // The flow's AS-0 entry is its lowest matching slot: it is refreshed by
  // every packet and never counts as a session, so each packet makes one
  // more entry (STATS.md §5.3) until the entry expires.
  o = Parse(h.Cli("test lb packet 192.0.2.10 10.0.0.9 1000 80 tcp count 2"));
  EXPECT_EQ(o.counts[kCounterFirstPacket], 2u);
  EXPECT_EQ(o.counts[kCounterNextPacket], 0u);
  EXPECT_EQ(o.as, "10.0.0.1");
  // After the flow timeout (40 s) the next packet is a new flow.
  h.now = 41;
  o = Parse(h.Cli("test lb packet 192.0.2.10 10.0.0.9 1000 80 tcp"));
  EXPECT_EQ(o.counts[kCounterFirstPacket], 1u);
  // A flush keeps the entry's expiry: the slot is unusable, the flow is new.
  ASSERT_EQ(h.Flush(vip), 0);
  o = Parse(h.Cli("test lb packet 192.0.2.10 10.0.0.9 1000 80 tcp"));
  EXPECT_EQ(o.counts[kCounterFirstPacket], 1u);
  // With one sticky bucket and 4 slots, a fifth concurrent flow is untracked.
  LbConf conf = h.handler->model().conf();
  conf.sticky_buckets_per_core = 1;
  ASSERT_EQ(h.handler->model().Conf(conf), 0);
  for (int i = 0; i < 4; ++i) {
    o = Parse(h.Cli("test lb packet 192.0.2.10 10.0.0.9 " + std::to_string(2000 + i) + " 80 tcp"));
    EXPECT_EQ(o.counts[kCounterFirstPacket], 1u) << i;
  }
  o = Parse(h.Cli("test lb packet 192.0.2.10 10.0.0.9 3000 80 tcp"));
  EXPECT_EQ(o.counts[kCounterUntracked], 1u);
  EXPECT_EQ(o.as, "10.0.0.1");
  EXPECT_NE(h.Cli("show lb").find("core 0\n  timeout: 40s\n  usage: 4 / 4\n"), std::string::npos)
      << h.Cli("show lb");
}

TEST(TestLbPacket, ErrorsAndOptions) {
  Harness h(false, 1);
  EXPECT_EQ(h.Cli("test lb packet 192.0.2.10 10.0.0.9 1 80 tcp", -1),
            "test lb packet: no VIP route covers 192.0.2.10\n");
  EXPECT_NE(h.Cli("test lb packet 192.0.2.10 2001:db8::1 1 80 tcp", -1).find("bad addresses"),
            std::string::npos);
  EXPECT_NE(h.Cli("test lb packet 192.0.2.10 10.0.0.9 1 80 icmp", -1).find("usage"),
            std::string::npos);
  EXPECT_NE(h.Cli("test lb packet 192.0.2.10 10.0.0.9 1 80 tcp thread 2", -1).find("usage"),
            std::string::npos);
  ASSERT_EQ(h.AddVipV2({"2001:db8::/64", 255, 0}, VipArgs{1}), 0);
  Out o = Parse(h.Cli("test lb packet 2001:db8::10 2001:db8:9::1 5 53 udp thread 0 count 4"));
  EXPECT_EQ(o.thread, 0u);
  EXPECT_EQ(o.counts[kCounterNoServer], 4u);
  EXPECT_EQ(h.Cli("test lb flowtable flush"), "");
  EXPECT_EQ(h.Cli("test lb frobnicate", -1), "test lb: unknown input `frobnicate'\n");
}

}  // namespace
}  // namespace maglev::vppsim::testing
