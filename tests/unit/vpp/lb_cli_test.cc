// SPDX-License-Identifier: Apache-2.0
// ParseShowLbVipsVerbose on what a real VPP printed (real-vpp-answers.json)
// and on the simulator's text after injected traffic.
#include "vpp/lb_cli.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

namespace maglev {
namespace {

TEST(LbCliTest, RealVppVerboseListing) {
  std::ifstream in(MAGLEV_SHARED_DIR "/vpp-api/real-vpp-answers.json");
  ASSERT_TRUE(in);
  nlohmann::json answers = nlohmann::json::parse(in);
  std::string text;
  for (const auto& step : answers) {
    if (step[0] == "cli_inband 'show lb vips verbose'") text = step[1]["reply"];
  }
  ASSERT_FALSE(text.empty());
  std::vector<LbCliVip> vips = ParseShowLbVipsVerbose(text);
  ASSERT_EQ(vips.size(), 12u);
  EXPECT_EQ(vips[0].index, 1u);
  EXPECT_EQ(vips[0].type, "ip4-gre4");
  EXPECT_EQ(vips[0].prefix.ToString(), "192.0.2.10");
  EXPECT_EQ(vips[0].plen, 32);
  EXPECT_EQ(vips[0].protocol, 6);
  EXPECT_EQ(vips[0].port, 80);
  EXPECT_TRUE(vips[0].removed);
  ASSERT_EQ(vips[0].ases.size(), 3u);
  EXPECT_EQ(vips[0].ases[1].address.ToString(), "127.0.0.22");
  EXPECT_EQ(vips[0].ases[1].weight, 60u);
  EXPECT_EQ(vips[0].ases[1].dpo, 18u);
  EXPECT_FALSE(vips[0].ases[1].used);
  // The all-port IPv6 VIP and its IPv4-mapped AS.
  EXPECT_EQ(vips[2].prefix.ToString(), "2001:db8::10");
  EXPECT_EQ(vips[2].protocol, 255);
  EXPECT_EQ(vips[2].port, 0);
  EXPECT_EQ(vips[2].ases[0].address.ToString(), "::ffff:1.2.3.4");
  EXPECT_TRUE(vips[9].src_ip_sticky);
  EXPECT_EQ(vips[9].ases[0].weight, 200u);
  // The live re-created VIP is a different index from its deleted namesake.
  EXPECT_EQ(vips[11].index, 12u);
  EXPECT_EQ(vips[11].prefix.ToString(), "192.0.2.10");
  EXPECT_FALSE(vips[11].removed);
  EXPECT_TRUE(vips[11].ases[0].used);
  EXPECT_EQ(vips[11].ases[0].buckets, 1024u);
}

TEST(LbCliTest, CountersAndGarbage) {
  const std::string text =
      " ip4-gre4 [3] 10.0.0.0/24\n  new_size:16\n  counters:\n"
      "    packet from existing sessions: 7\n    first session packet: 2\n"
      "    untracked packet: 1\n    no server configured: 18446744073709551615\n  #as:1\n"
      "    10.1.1.1 weight:100 buckets:16 flows:2 dpo:9 used\n\n"
      " garbage [x] line\n    1.2.3.4 weight:1\n";
  std::vector<LbCliVip> vips = ParseShowLbVipsVerbose(text);
  ASSERT_EQ(vips.size(), 1u);
  EXPECT_EQ(vips[0].counters, (std::array<uint64_t, 4>{7, 2, 1, 18446744073709551615ull}));
  ASSERT_EQ(vips[0].ases.size(), 1u);
  EXPECT_EQ(vips[0].ases[0].flows, 2u);
  EXPECT_TRUE(ParseShowLbVipsVerbose("").empty());
  EXPECT_TRUE(ParseShowLbVipsVerbose("unknown input `x'\n").empty());
}

}  // namespace
}  // namespace maglev
