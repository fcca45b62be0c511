// SPDX-License-Identifier: Apache-2.0
// The simulator's cli_inband texts against what a real VPP (master b575ec2)
// answered: real-vpp-answers.json steps 19-94 are replayed through the
// simulator's API handler (the requests reconstructed from the step labels
// and the dumps the real VPP returned), then `show lb`, `show lb vips`,
// `show lb vips verbose`, `sh lb vip ver` and an unknown command must give
// VPP's texts and retvals byte for byte.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "harness.h"

namespace maglev::vppsim::testing {
namespace {

using nlohmann::json;

const json& Answers() {
  static const json* answers = [] {
    std::ifstream in(MAGLEV_SHARED_DIR "/vpp-api/real-vpp-answers.json");
    if (!in) {
      ADD_FAILURE() << "cannot open real-vpp-answers.json";
      return new json(json::array());
    }
    return new json(json::parse(in));
  }();
  return *answers;
}

const json& Step(const std::string& label) {
  for (const json& step : Answers()) {
    if (step[0] == label) return step[1];
  }
  static const json none;
  ADD_FAILURE() << "no step " << label;
  return none;
}

constexpr uint32_t kGre4 = 0;
constexpr uint32_t kGre6 = 1;
constexpr uint32_t kL3dsr = 2;

// Steps 19-88 of the real run, in order, with the retvals VPP gave.
void ReplayRealRun(Harness& h) {
  const Vip v4{"192.0.2.10/32", 6, 80};
  const Vip v4udp{"192.0.2.10/32", 17, 53};
  const Vip v6all{"2001:db8::10/128", 6, 0};  // protocol 6 sent with port 0
  const Vip v6gre4{"2001:db8::20/128", 6, 443};
  const Vip v4gre6{"192.0.2.13/32", 6, 80};
  const Vip big{"198.51.100.0/24", 6, 80};
  const Vip sticky{"192.0.2.14/32", 6, 80};
  auto args = [](uint32_t encap, uint32_t length = 1024, bool src_ip_sticky = false) {
    VipArgs a;
    a.encap = encap;
    a.length = length;
    a.src_ip_sticky = src_ip_sticky;
    return a;
  };
  ASSERT_EQ(h.AddVipV2(v4, args(kGre4)), 0);
  ASSERT_EQ(h.AddVipV2(v4, args(kGre4)), -81);
  ASSERT_EQ(h.AddVipV2({"192.0.2.10/32", 17, 53}, args(kGre6)), -73);
  ASSERT_EQ(h.AddVipV2(v4udp, args(kGre4)), 0);
  ASSERT_EQ(h.AddVipV2({"192.0.2.10/32", 255, 0}, args(kGre4)), -81);
  ASSERT_EQ(h.AddVipV2({"192.0.2.11/32", 6, 80}, args(kGre4, 1000)), -70);
  ASSERT_EQ(h.AddVipV2(v6all, args(kGre6)), 0);
  ASSERT_EQ(h.AddVipV2({"2001:db8::10/128", 6, 80}, args(kGre6)), -81);
  ASSERT_EQ(h.AddVipV2(v6gre4, args(kGre4)), 0);
  ASSERT_EQ(h.AddVipV2({"192.0.2.12/32", 6, 80}, args(4)), -97);  // nat6 on IPv4
  ASSERT_EQ(h.AddVipV2(v4gre6, args(kGre6)), 0);
  ASSERT_EQ(h.AddVipV2({"2001:db8::30/128", 6, 80}, args(kL3dsr)), 0);
  ASSERT_EQ(h.AddVipV2(big, args(kGre4, 65536)), 0);
  ASSERT_EQ(h.AddVipV2({"10.0.0.5/24", 255, 0}, args(kGre4)), 0);
  ASSERT_EQ(h.AddVipV2({"::1.2.3.4/128", 6, 80}, args(kGre6)), 0);
  ASSERT_EQ(h.AddVipV2(sticky, args(kGre4, 1024, true)), 0);

  ASSERT_EQ(h.AddAsV2(v4, "127.0.0.21", 100), 0);
  ASSERT_EQ(h.AddAsV2(v4, "127.0.0.22", 50), 0);
  ASSERT_EQ(h.AddAsV2(v4, "127.0.0.23", 0), 0);
  ASSERT_EQ(h.AddAsV2(v4, "127.0.0.21", 100), -81);
  ASSERT_EQ(h.AddAsV2(v4, "2001:db8:2::10", 100), -97);
  ASSERT_EQ(h.AddAsV2(v4gre6, "127.0.0.21", 100), -97);
  ASSERT_EQ(h.AddAsV2(v4gre6, "2001:db8:2::10", 100), 0);
  ASSERT_EQ(h.AddAsV2(v6all, "::1", 100), -97);
  ASSERT_EQ(h.AddAsV2(v6all, "::ffff:1.2.3.4", 100), 0);
  ASSERT_EQ(h.AddAsV2(v6all, "2001:db8:2::10", 30), 0);
  ASSERT_EQ(h.AddAsV2(v6all, "2001:db8:2::11", 0), 0);
  ASSERT_EQ(h.AddAsV2(v6all, "2001:db8:2::20", 100), 0);
  ASSERT_EQ(h.AddAsV2(v6gre4, "127.0.0.21", 10), 0);
  ASSERT_EQ(h.AddAsV2(v6gre4, "127.0.0.23", 20), 0);
  ASSERT_EQ(h.AddAsV2({"192.0.2.99/32", 6, 80}, "127.0.0.21", 100), -6);
  ASSERT_EQ(h.AddAsV2(sticky, "127.0.0.21", 200), 0);
  ASSERT_EQ(h.AddAsV2(big, "127.0.0.21", 100), 0);

  ASSERT_EQ(h.SetWeight(v4, "127.0.0.22", 150), 0);
  ASSERT_EQ(h.SetWeight(v4, "127.0.0.22", 50), 0);
  ASSERT_EQ(h.SetWeight(v4, "127.0.0.99", 50), -6);
  ASSERT_EQ(h.SetWeight({"192.0.2.99/32", 6, 80}, "127.0.0.22", 50), -6);
  ASSERT_EQ(h.DelAsV2(v4, "127.0.0.22", true), 0);
  ASSERT_EQ(h.DelAsV2(v4, "127.0.0.22"), 0);
  ASSERT_EQ(h.DelAsV2(v4, "127.0.0.99"), -6);
  ASSERT_EQ(h.SetWeight(v4, "127.0.0.22", 50), -6);
  ASSERT_EQ(h.AddAsV2(v4, "127.0.0.22", 60), 0);
  ASSERT_EQ(h.DelAsV2(v4, "127.0.0.23"), 0);
  ASSERT_EQ(h.AddAs(v4, "127.0.0.23"), 0);  // v1: weight back to 100
  ASSERT_EQ(h.Flush(v4), 0);
  ASSERT_EQ(h.Flush({"192.0.2.99/32", 6, 80}), 0);

  ASSERT_EQ(h.DelVip(v6gre4), 0);
  ASSERT_EQ(h.DelVip(v6gre4), -6);
  ASSERT_EQ(h.DelVip({"192.0.2.99/32", 6, 80}), -6);
  ASSERT_EQ(h.AddAsV2(v6gre4, "127.0.0.21", 10), -6);
  ASSERT_EQ(h.AddVipV2(v6gre4, args(kGre4)), 0);
  ASSERT_EQ(h.AddAsV2(v6gre4, "127.0.0.21", 10), 0);
  ASSERT_EQ(h.DelVip(v6all), 0);
  ASSERT_EQ(h.DelVip(v4), 0);
  ASSERT_EQ(h.AddVipV2(v4, args(kGre4)), 0);
  ASSERT_EQ(h.AddAsV2(v4, "127.0.0.21", 100), 0);
  // The real run's state at the end, as far as the dumps show it.
  // +1 re-created, -1 all-port v6 deleted: as many as after step 81.
  EXPECT_EQ(h.VipDump().size(), Step("vip_dump after del (count)").get<size_t>());
}

std::string Reply(const std::string& label) { return Step(label)["reply"].get<std::string>(); }

TEST(RealVppFidelity, ShowLbTextsAreVppsByteForByte) {
  Harness h;
  // The real run configured lb_conf before adding VIPs (steps 12-18).
  h.handler->model().Conf(LbConf{
      {192, 0, 2, 1}, {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 1024, 40});
  ASSERT_NO_FATAL_FAILURE(ReplayRealRun(h));
  EXPECT_EQ(h.Cli("show lb"), Reply("cli_inband 'show lb'"));
  EXPECT_EQ(h.Cli("show lb vips"), Reply("cli_inband 'show lb vips'"));
  EXPECT_EQ(h.Cli("show lb vips verbose"), Reply("cli_inband 'show lb vips verbose'"));
  // "ver" is not "verbose": the command's own input wants the whole word.
  EXPECT_EQ(h.Cli("sh lb vip ver"), Reply("cli_inband 'sh lb vip ver'"));
  const json& unknown = Step("cli_inband 'no such command'");
  EXPECT_EQ(h.Cli("no such command", unknown["retval"].get<int32_t>()),
            unknown["reply"].get<std::string>());
}

}  // namespace
}  // namespace maglev::vppsim::testing
