// The lb plugin model driven through its binary-API handlers: VPP's own API
// test scenarios (PROTOCOL.md §5), error codes and validation order (§3.2,
// §4.7), quirks (§4.8), the data model's removal and GC rules (§4.1, §4.6).
#include "vppsim/lb_model.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <sstream>

#include "harness.h"
#include "maglev/maglev.h"

namespace maglev::vppsim::testing {
namespace {

constexpr uint32_t kGre4 = 0, kGre6 = 1, kL3dsr = 2, kNat4 = 3, kNat6 = 4;

std::array<uint8_t, 16> Ip46Of(const std::string& s) { return IpAddress::Parse(s)->ip46(); }

// test_lb_conf_get
TEST(VppTests, LbConfGet) {
  Harness h;
  Bytes ip4 = {39, 40, 41, 42};
  Bytes ip6 = Address("2004::1");
  ip6.erase(ip6.begin());
  EXPECT_EQ(h.Call(h.Req("lb_conf").Raw(ip4).Raw(ip6).U32(0xffffffff).U32(0xffffffff).Take(),
                   "lb_conf_reply"),
            0);
  std::vector<Bytes> r = h.Send(h.Req("lb_conf_get").Take());
  ASSERT_EQ(r.size(), 1u);
  ASSERT_EQ(r[0].size(), 38u);
  EXPECT_EQ(Be16(r[0].data()), h.Id("lb_conf_get_reply"));
  EXPECT_EQ(Be32(&r[0][6]), 0u);
  EXPECT_EQ(Bytes(r[0].begin() + 10, r[0].begin() + 14), ip4);
  EXPECT_EQ(Bytes(r[0].begin() + 14, r[0].begin() + 30), ip6);
  EXPECT_EQ(Be32(&r[0][30]), 1024u);
  EXPECT_EQ(Be32(&r[0][34]), 40u);
}

TEST(VppTests, LbConfDefaultsAndValidation) {
  Harness h;
  std::vector<Bytes> r = h.Send(h.Req("lb_conf_get").Take());
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(Bytes(r[0].begin() + 10, r[0].begin() + 30), Bytes(20, 0xff));  // start-up defaults
  Bytes ip4 = {192, 0, 2, 1};
  Bytes ip6(16, 0);
  ip6[0] = 0x20;
  // Not a power of two: -70 and nothing changes, not even the addresses.
  EXPECT_EQ(h.Call(h.Req("lb_conf").Raw(ip4).Raw(ip6).U32(1000).U32(30).Take(), "lb_conf_reply"),
            -70);
  EXPECT_EQ(h.handler->model().conf().ip4_src[0], 0xff);
  EXPECT_EQ(h.handler->model().conf().sticky_buckets_per_core, 1024u);
  EXPECT_EQ(
      h.Call(h.Req("lb_conf").Raw(ip4).Raw(ip6).U32(65536).U32(0xffffffff).Take(), "lb_conf_reply"),
      0);
  EXPECT_EQ(h.handler->model().conf().sticky_buckets_per_core, 65536u);
  EXPECT_EQ(h.handler->model().conf().flow_timeout, 40u);  // kept
  EXPECT_EQ(h.handler->model().conf().ip4_src[0], 192);
  // Quirk 8: 0 passes the power-of-two check.
  EXPECT_EQ(h.Call(h.Req("lb_conf").Raw(ip4).Raw(ip6).U32(0).U32(5).Take(), "lb_conf_reply"), 0);
  EXPECT_EQ(h.handler->model().conf().sticky_buckets_per_core, 0u);
  EXPECT_EQ(h.handler->model().conf().flow_timeout, 5u);
}

// test_lb_as_set_weight, with the bucket counts VPP's test asserts.
TEST(VppTests, LbAsSetWeight) {
  Harness h;
  Vip vip{"192.0.2.0/24", 255, 0};
  ASSERT_EQ(h.AddVip(vip), 0);
  for (int i = 1; i <= 4; ++i) ASSERT_EQ(h.AddAs(vip, "10.0.0." + std::to_string(i)), 0);
  auto b = h.Buckets("192.0.2.0/24");
  ASSERT_EQ(b.size(), 4u);
  for (auto& [as, wb] : b) {
    EXPECT_EQ(wb.first, 100) << as;
    EXPECT_EQ(wb.second, 256u) << as;
  }

  ASSERT_EQ(h.SetWeight(vip, "10.0.0.1", 50), 0);
  b = h.Buckets("192.0.2.0/24");
  EXPECT_EQ(b["10.0.0.1"], std::make_pair(uint8_t{50}, 150u));
  EXPECT_EQ(b["10.0.0.2"], std::make_pair(uint8_t{100}, 292u));
  EXPECT_EQ(b["10.0.0.3"].second, 291u);
  EXPECT_EQ(b["10.0.0.4"].second, 291u);

  ASSERT_EQ(h.SetWeight(vip, "10.0.0.2", 0), 0);
  b = h.Buckets("192.0.2.0/24");
  EXPECT_EQ(b["10.0.0.1"].second, 208u);
  EXPECT_EQ(b["10.0.0.2"], std::make_pair(uint8_t{0}, 0u));
  EXPECT_EQ(b["10.0.0.3"].second, 408u);
  EXPECT_EQ(b["10.0.0.4"].second, 408u);

  ASSERT_EQ(h.AddAsV2(vip, "10.0.0.5", 0), 0);
  auto b5 = h.Buckets("192.0.2.0/24");
  EXPECT_EQ(b5["10.0.0.5"], std::make_pair(uint8_t{0}, 0u));
  for (const char* as : {"10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"}) EXPECT_EQ(b5[as], b[as]);

  ASSERT_EQ(h.SetWeight(vip, "10.0.0.5", 50), 0);
  b = h.Buckets("192.0.2.0/24");
  EXPECT_GT(b["10.0.0.5"].second, 0u);
  EXPECT_EQ(b["10.0.0.2"].second, 0u);
  EXPECT_EQ(b["10.0.0.5"].second, 181u);  // computed_counts vector (50/0/100/100/50)

  ASSERT_EQ(h.SetWeight(vip, "10.0.0.1", 0, false), 0);
  b = h.Buckets("192.0.2.0/24");
  EXPECT_EQ(b["10.0.0.1"], std::make_pair(uint8_t{0}, 0u));

  ASSERT_EQ(h.SetWeight(vip, "10.0.0.3", 0, true), 0);
  b = h.Buckets("192.0.2.0/24");
  EXPECT_EQ(b["10.0.0.3"].second, 0u);
  EXPECT_EQ(b["10.0.0.4"].second + b["10.0.0.5"].second, 1024u);
  EXPECT_EQ(b["10.0.0.4"].second, 674u);  // computed_counts vector (0/0/0/100/50)
  EXPECT_EQ(b["10.0.0.5"].second, 350u);

  ASSERT_EQ(h.SetWeight(vip, "10.0.0.4", 100, true), 0);
  b = h.Buckets("192.0.2.0/24");
  EXPECT_EQ(b["10.0.0.4"].first, 100);
  EXPECT_GT(b["10.0.0.4"].second, 0u);
  EXPECT_GE(h.handler->model().sticky_flushes(), 2u);
}

// test_lb_ip4_gre4_vip_api and test_lb_ip4_gre6_vip_v2_api
TEST(VppTests, Ip4VipApi) {
  for (bool v2 : {false, true}) {
    SCOPED_TRACE(v2 ? "v2 gre6" : "v1 gre4");
    Harness h;
    Vip vip{"90.0.0.0/8", 6, 8298};
    VipArgs a;
    a.encap = v2 ? kGre6 : kGre4;
    ASSERT_EQ(v2 ? h.AddVipV2(vip, a) : h.AddVip(vip, a), 0);
    std::vector<VipDetails> d = h.VipDump();
    ASSERT_EQ(d.size(), 1u);
    EXPECT_EQ(d[0].af, 0);
    EXPECT_EQ(d[0].prefix, "90.0.0.0/8");
    EXPECT_EQ(d[0].encap, a.encap);
    EXPECT_EQ(d[0].protocol, 6);
    EXPECT_EQ(d[0].port, 8298);
    EXPECT_EQ(d[0].flow_table_length, 1024);
    EXPECT_EQ(d[0].context, h.context);
    ASSERT_EQ(h.DelVip(vip), 0);
    EXPECT_TRUE(h.VipDump().empty());
  }
}

// test_lb_ip4_gre4_as_api and test_lb_ip6_gre4_as_api
TEST(VppTests, Gre4AsApi) {
  for (const char* prefix : {"90.0.0.0/8", "2001::/16"}) {
    SCOPED_TRACE(prefix);
    Harness h;
    Vip vip{prefix, 255, 0};
    ASSERT_EQ(h.AddVip(vip), 0);
    for (int i = 1; i <= 3; ++i) ASSERT_EQ(h.AddAs(vip, "10.0.0." + std::to_string(i)), 0);
    ASSERT_EQ(h.DelAs(vip, "10.0.0.1", true), 0);
    std::vector<AsDetails> all = h.AsDump(false);
    EXPECT_EQ(all.size(), 3u);  // the removed AS is still listed, flags 0
    EXPECT_EQ(std::count_if(all.begin(), all.end(), [](const AsDetails& d) { return d.flags & 1; }),
              2);
    for (const AsDetails& d : all) {
      EXPECT_EQ(d.vip, prefix);
      EXPECT_EQ(d.protocol, 255);
      EXPECT_EQ(d.flags & 1, d.as == "10.0.0.1" ? 0 : 1) << d.as;
    }
  }
}

// test_lb_as_dump_port_filter
TEST(VppTests, AsDumpPortFilter) {
  Harness h;
  Vip v80{"2001::/16", 6, 80}, v443{"2001::/16", 6, 443};
  ASSERT_EQ(h.AddVip(v80), 0);
  ASSERT_EQ(h.AddVip(v443), 0);
  ASSERT_EQ(h.AddAs(v80, "10.0.0.1"), 0);
  ASSERT_EQ(h.AddAs(v443, "10.0.0.2"), 0);
  EXPECT_EQ(h.AsDump(false).size(), 2u);
  std::vector<AsDetails> d = h.AsDump(v80, false);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].port, 80);
  EXPECT_EQ(d[0].as, "10.0.0.1");
  d = h.AsDump(v443, false);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].port, 443);
  EXPECT_EQ(d[0].as, "10.0.0.2");
}

// test_lb_ip4_l3dsr*, test_lb_ip4_nat4_port, test_lb_ip6_nat6_port: what the
// API shows of those VIPs (the data path is not simulated).
TEST(VppTests, L3dsrAndNatVipDetails) {
  Harness h;
  VipArgs l3dsr;
  l3dsr.encap = kL3dsr;
  l3dsr.dscp = 7;
  ASSERT_EQ(h.AddVip({"90.0.0.0/8", 255, 0}, l3dsr), 0);
  VipArgs nat4;
  nat4.encap = kNat4;
  nat4.target_port = 3307;
  ASSERT_EQ(h.AddVip({"91.0.0.0/8", 17, 20000}, nat4), 0);
  VipArgs nat6 = nat4;
  nat6.encap = kNat6;
  ASSERT_EQ(h.AddVip({"2001::/16", 17, 20000}, nat6), 0);
  std::vector<VipDetails> d = h.VipDump();
  ASSERT_EQ(d.size(), 3u);
  EXPECT_EQ(d[0].encap, kL3dsr);
  EXPECT_EQ(d[0].dscp, 7);
  EXPECT_EQ(d[0].srv_type, (std::array<uint8_t, 4>{7, 0, 0, 0}));  // aliases dscp
  EXPECT_EQ(d[1].encap, kNat4);
  EXPECT_EQ(d[1].protocol, 17);
  EXPECT_EQ(d[1].srv_type, (std::array<uint8_t, 4>{0, 0, 0, 0}));     // CLUSTERIP
  EXPECT_EQ(d[1].target_port, (std::array<uint8_t, 2>{0xeb, 0x0c}));  // 3307 little-endian
  EXPECT_EQ(d[2].encap, kNat6);
  EXPECT_EQ(d[2].af, 1);
  // AS families follow the encap: NAT4 takes IPv4, NAT6 IPv6, L3DSR IPv4.
  EXPECT_EQ(h.AddAs({"91.0.0.0/8", 17, 20000}, "10.0.0.1"), 0);
  EXPECT_EQ(h.AddAs({"2001::/16", 17, 20000}, "2002::1"), 0);
  EXPECT_EQ(h.AddAs({"2001::/16", 17, 20000}, "10.0.0.1"), -97);
  EXPECT_EQ(h.AddAs({"90.0.0.0/8", 255, 0}, "2002::1"), -97);
  std::string verbose = h.Cli("show lb vips verbose");
  EXPECT_NE(verbose.find("ip4-l3dsr [1] 90.0.0.0/8"), std::string::npos) << verbose;
  EXPECT_NE(verbose.find("dscp:7"), std::string::npos) << verbose;
  // VPP byte-swaps the (host-order) ports when it prints them: 20000 -> 8270,
  // 3307 -> 60172; and the line has no newline of its own.
  EXPECT_NE(verbose.find("type:clusterip port:8270 target_port:60172  counters:"),
            std::string::npos)
      << verbose;
}

TEST(VppTests, SrcIpStickyOnlyVisibleInCli) {
  Harness h;
  VipArgs a;
  a.src_ip_sticky = true;
  ASSERT_EQ(h.AddVipV2({"90.0.0.0/8", 17, 20000}, a), 0);
  ASSERT_EQ(h.AddVipV2({"90.0.0.0/8", 17, 10000}), 0);
  std::vector<VipDetails> d = h.VipDump();
  ASSERT_EQ(d.size(), 2u);
  std::string out = h.Cli("show lb vips verbose");
  EXPECT_NE(out.find("ip4-gre4 [1] 90.0.0.0/8 src_ip_sticky"), std::string::npos) << out;
  EXPECT_NE(out.find("ip4-gre4 [2] 90.0.0.0/8\n"), std::string::npos) << out;
  EXPECT_TRUE(h.handler->model().vip(1).src_ip_sticky);
  EXPECT_FALSE(h.handler->model().vip(2).src_ip_sticky);
}

// --- error codes and validation order -----------------------------------

TEST(Errors, VipAddChecksInVppOrder) {
  Harness h;
  Vip all{"90.0.0.0/8", 255, 0};
  ASSERT_EQ(h.AddVip(all), 0);
  // 1. same identity, even with a bad length and another encap: -81 first.
  VipArgs bad;
  bad.length = 1000;
  bad.encap = kGre6;
  EXPECT_EQ(h.AddVip(all, bad), -81);
  // port 0 forces protocol 255: protocol 6 port 0 is the same VIP.
  EXPECT_EQ(h.AddVip({"90.0.0.0/8", 6, 0}), -81);
  // host bits are cleared: 90.1.2.3/8 names 90.0.0.0/8.
  EXPECT_EQ(h.AddVip({"90.1.2.3/8", 255, 0}), -81);
  // 2. per-port while an all-port VIP exists on the prefix.
  EXPECT_EQ(h.AddVip({"90.0.0.0/8", 6, 80}, bad), -81);
  // Same address, other length: a different prefix.
  EXPECT_EQ(h.AddVip({"90.0.0.0/16", 6, 80}), 0);
  // 3. all-port while a per-port VIP exists.
  EXPECT_EQ(h.AddVip({"90.0.0.0/16", 255, 0}, bad), -81);
  // 4. per-port with another encap than the existing per-port VIP: -73 before -70.
  EXPECT_EQ(h.AddVip({"90.0.0.0/16", 6, 443}, bad), -73);
  // 5. not a power of two: -70 before the family check.
  VipArgs bad_len_nat6;
  bad_len_nat6.length = 1000;
  bad_len_nat6.encap = kNat6;
  EXPECT_EQ(h.AddVip({"91.0.0.0/8", 255, 0}, bad_len_nat6), -70);
  // 6. family: IPv4 VIP with NAT6 (or garbage) encap.
  VipArgs nat6;
  nat6.encap = kNat6;
  EXPECT_EQ(h.AddVip({"91.0.0.0/8", 255, 0}, nat6), -97);
  VipArgs garbage;
  garbage.encap = 77;
  EXPECT_EQ(h.AddVip({"91.0.0.0/8", 255, 0}, garbage), -97);
  VipArgs nat4;
  nat4.encap = kNat4;
  EXPECT_EQ(h.AddVip({"2001::/16", 17, 53}, nat4), 0);  // quirk 7: becomes GRE6
  // IPv6 VIP with L3DSR / NAT4 / garbage: silently GRE6 (quirk 7).
  VipArgs l3dsr;
  l3dsr.encap = kL3dsr;
  EXPECT_EQ(h.AddVip({"2002::/16", 255, 0}, l3dsr), 0);
  EXPECT_EQ(h.AddVip({"2003::/16", 255, 0}, garbage), 0);
  for (const VipDetails& d : h.VipDump()) {
    if (d.af == 1) {
      EXPECT_EQ(d.encap, kGre6) << d.prefix;
    }
  }
  // Other per-port VIPs on the /16 with the same encap are fine.
  EXPECT_EQ(h.AddVip({"90.0.0.0/16", 6, 443}), 0);
  EXPECT_EQ(h.AddVip({"90.0.0.0/16", 17, 443}), 0);
  EXPECT_EQ(h.VipDump().size(), 7u);
}

TEST(Errors, MissingEntries) {
  Harness h;
  Vip vip{"90.0.0.0/8", 255, 0};
  EXPECT_EQ(h.DelVip(vip), -6);
  EXPECT_EQ(h.AddAs(vip, "10.0.0.1"), -6);
  EXPECT_EQ(h.AddAsV2(vip, "10.0.0.1", 10), -6);
  EXPECT_EQ(h.SetWeight(vip, "10.0.0.1", 10), -6);
  EXPECT_EQ(h.Flush(vip), 0);  // quirk 6: always 0
  ASSERT_EQ(h.AddVip(vip), 0);
  EXPECT_EQ(h.DelAs(vip, "10.0.0.1"), -6);
  EXPECT_EQ(h.SetWeight(vip, "10.0.0.1", 10), -6);
  EXPECT_EQ(h.AddVip({"90.0.0.0/8", 6, 80}), -81);
  EXPECT_EQ(h.DelVip({"90.0.0.0/8", 6, 80}), -6);  // lookup is by identity
  EXPECT_EQ(h.Flush(vip), 0);
}

TEST(Errors, AsRulesAndReAdd) {
  Harness h;
  Vip vip{"2001::/16", 255, 0};
  VipArgs gre6;
  gre6.encap = kGre6;
  ASSERT_EQ(h.AddVip(vip, gre6), 0);
  EXPECT_EQ(h.AddAs(vip, "10.0.0.1"), -97);  // AS family follows the encap
  ASSERT_EQ(h.AddAsV2(vip, "2002::1", 30), 0);
  // Quirk 9: an active AS is not updated by an add.
  EXPECT_EQ(h.AddAsV2(vip, "2002::1", 60), -81);
  EXPECT_EQ(h.AddAs(vip, "2002::1"), -81);
  EXPECT_EQ(h.Buckets("2001::/16")["2002::1"].first, 30);
  // Remove, then re-add: v1 resets the weight to 100.
  ASSERT_EQ(h.DelAsV2(vip, "2002::1"), 0);
  EXPECT_EQ(h.SetWeight(vip, "2002::1", 10), -6);  // removed AS: -6
  EXPECT_EQ(h.DelAs(vip, "2002::1"), 0);           // deleting again succeeds
  ASSERT_EQ(h.AddAs(vip, "2002::1"), 0);
  EXPECT_EQ(h.Buckets("2001::/16")["2002::1"], std::make_pair(uint8_t{100}, 1024u));
  // v2 re-add takes the given weight.
  ASSERT_EQ(h.DelAs(vip, "2002::1"), 0);
  ASSERT_EQ(h.AddAsV2(vip, "2002::1", 7, true), 0);
  EXPECT_EQ(h.Buckets("2001::/16")["2002::1"].first, 7);
  // Weights are not range-checked by VPP.
  EXPECT_EQ(h.SetWeight(vip, "2002::1", 250), 0);
  EXPECT_EQ(h.Buckets("2001::/16")["2002::1"].first, 250);
  EXPECT_EQ(h.AsDump().size(), 1u);  // re-activated in place, no second entry
}

TEST(Errors, TableLengths) {
  Harness h;
  VipArgs a;
  for (uint32_t bad : {3u, 1000u, 1025u, 0x80000001u}) {
    a.length = bad;
    EXPECT_EQ(h.AddVip({"90.0.0.0/8", 255, 0}, a), -70) << bad;
  }
  // Quirk 3: flow_table_length truncated to 16 bits.
  a.length = 65536;
  ASSERT_EQ(h.AddVip({"90.0.0.0/8", 255, 0}, a), 0);
  a.length = 1;
  ASSERT_EQ(h.AddVip({"91.0.0.0/8", 255, 0}, a), 0);
  // Quirk 8: 0 passes validation (never send it); the simulator keeps the
  // VIP but reports no buckets.
  a.length = 0;
  ASSERT_EQ(h.AddVip({"92.0.0.0/8", 255, 0}, a), 0);
  std::vector<VipDetails> d = h.VipDump();
  ASSERT_EQ(d.size(), 3u);
  EXPECT_EQ(d[0].flow_table_length, 0);
  EXPECT_EQ(d[1].flow_table_length, 1);
  EXPECT_EQ(d[2].flow_table_length, 0);
  ASSERT_EQ(h.AddAs({"90.0.0.0/8", 255, 0}, "10.0.0.1"), 0);
  ASSERT_EQ(h.AddAs({"90.0.0.0/8", 255, 0}, "10.0.0.2"), 0);
  ASSERT_EQ(h.AddAs({"91.0.0.0/8", 255, 0}, "10.0.0.1"), 0);
  ASSERT_EQ(h.AddAs({"91.0.0.0/8", 255, 0}, "10.0.0.2"), 0);
  ASSERT_EQ(h.AddAs({"92.0.0.0/8", 255, 0}, "10.0.0.1"), 0);
  EXPECT_EQ(h.Buckets("90.0.0.0/8")["10.0.0.1"].second, 32768u);
  EXPECT_EQ(h.Buckets("91.0.0.0/8")["10.0.0.1"].second, 1u);  // computed_counts L=1
  EXPECT_EQ(h.Buckets("91.0.0.0/8")["10.0.0.2"].second, 0u);
  EXPECT_EQ(h.Buckets("92.0.0.0/8")["10.0.0.1"].second, 0u);
}

TEST(Errors, IntfNat) {
  Harness h;
  EXPECT_EQ(h.Call(h.Req("lb_add_del_intf_nat4").U8(1).U32(1).Take(), "lb_add_del_intf_nat4_reply"),
            0);
  EXPECT_EQ(h.Call(h.Req("lb_add_del_intf_nat6").U8(0).U32(2).Take(), "lb_add_del_intf_nat6_reply"),
            0);
  EXPECT_EQ(
      h.Call(h.Req("lb_add_del_intf_nat4").U8(1).U32(99).Take(), "lb_add_del_intf_nat4_reply"), -2);
  EXPECT_EQ(h.Call(h.Req("lb_add_del_intf_nat6").U8(1).U32(0xffffffff).Take(),
                   "lb_add_del_intf_nat6_reply"),
            -2);
}

// --- quirks ---------------------------------------------------------------

TEST(Quirks, VipDumpIgnoresItsFilter) {
  Harness h;
  ASSERT_EQ(h.AddVip({"90.0.0.0/8", 255, 0}), 0);
  ASSERT_EQ(h.AddVip({"2001::/16", 6, 80}), 0);
  std::vector<Bytes> r =
      h.Send(h.Req("lb_vip_dump").Raw(Prefix("2001::/16")).U8(16).U8(16).U8(6).U16(80).Take());
  EXPECT_EQ(r.size(), 2u);
}

TEST(Quirks, AsDumpFilterComparesRawBytes) {
  Harness h;
  Vip v4{"90.0.0.0/8", 255, 0};
  ASSERT_EQ(h.AddVip(v4), 0);
  ASSERT_EQ(h.AddAs(v4, "10.0.0.1"), 0);
  ASSERT_EQ(h.AddVip({"2001::/16", 255, 0}), 0);
  ASSERT_EQ(h.AddAs({"2001::/16", 255, 0}, "10.0.0.2"), 0);
  // An IPv4 filter written normally never matches.
  EXPECT_TRUE(h.AsDump(v4).empty());
  // 12 zero bytes + the IPv4 address matches (af ignored, here 1).
  Bytes raw(18, 0);
  raw[0] = 1;
  raw[13] = 90;
  raw[17] = 77;  // len ignored
  Bytes filter = raw;
  filter.push_back(255);
  filter.push_back(0);
  filter.push_back(0);
  std::vector<AsDetails> d = h.AsDumpRaw(filter);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].as, "10.0.0.1");
  EXPECT_EQ(d[0].vip, "90.0.0.0/8");
  // All-port VIPs need protocol 255 in the filter: no port-0 rewrite here.
  EXPECT_TRUE(h.AsDump({"2001::/16", 0, 0}).empty());
  EXPECT_EQ(h.AsDump({"2001::/16", 255, 0}).size(), 1u);
  // The filter prefix must be the normalised address; the length is ignored.
  EXPECT_EQ(h.AsDump({"2001::/64", 255, 0}).size(), 1u);
  EXPECT_TRUE(h.AsDump({"2001::1/16", 255, 0}).empty());
}

TEST(Quirks, SrvTypeTakesFirstWireByte) {
  Harness h;
  VipArgs be_nodeport;  // a correct big-endian NODEPORT
  be_nodeport.encap = kNat4;
  be_nodeport.type = {0, 0, 0, 1};
  be_nodeport.target_port = 8080;
  ASSERT_EQ(h.AddVip({"90.0.0.0/8", 6, 30000}, be_nodeport), 0);
  VipArgs le_nodeport = be_nodeport;
  le_nodeport.type = {1, 0, 0, 0};
  le_nodeport.node_port = 1234;  // ignored (quirk 5)
  ASSERT_EQ(h.AddVip({"91.0.0.0/8", 6, 30001}, le_nodeport), 0);
  std::vector<VipDetails> d = h.VipDump();
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0].srv_type, (std::array<uint8_t, 4>{0, 0, 0, 0}));  // stored as CLUSTERIP
  EXPECT_EQ(d[1].srv_type, (std::array<uint8_t, 4>{1, 0, 0, 0}));  // NODEPORT
  EXPECT_EQ(d[1].target_port, (std::array<uint8_t, 2>{0x90, 0x1f}));
  std::string out = h.Cli("show lb vips");
  // Ports printed byte-swapped, as VPP does: 30000 -> 12405, 30001 -> 12661.
  EXPECT_NE(out.find("type:clusterip port:12405"), std::string::npos) << out;
  EXPECT_NE(out.find("type:nodeport port:12661"), std::string::npos) << out;
}

TEST(Quirks, NodePortClashStillCreatesTheVip) {
  Harness h;
  VipArgs np;
  np.encap = kNat4;
  np.type = {1, 0, 0, 0};
  ASSERT_EQ(h.AddVip({"90.0.0.0/8", 6, 30000}, np), 0);
  EXPECT_EQ(h.AddVip({"91.0.0.0/8", 6, 30000}, np), -81);
  EXPECT_EQ(h.VipDump().size(), 2u);
  EXPECT_EQ(h.AddAs({"91.0.0.0/8", 6, 30000}, "10.0.0.1"), 0);  // it really exists
}

TEST(Quirks, Ip4CompatibleIpv6IsReportedAsIpv4) {
  Harness h;
  ASSERT_EQ(h.AddVip({"::5a00:0/104", 255, 0}), 0);  // first 96 bits zero, len >= 96
  std::vector<VipDetails> d = h.VipDump();
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].af, 0);
  EXPECT_EQ(d[0].prefix, "90.0.0.0/8");
  EXPECT_EQ(h.AddVip({"90.0.0.0/8", 255, 0}), -81);  // indistinguishable
}

TEST(Quirks, InUseSince) {
  Harness h;
  Vip vip{"90.0.0.0/8", 255, 0};
  h.now = 5;
  ASSERT_EQ(h.AddVip(vip), 0);
  ASSERT_EQ(h.AddAs(vip, "10.0.0.1"), 0);
  EXPECT_EQ(h.AsDump()[0].in_use_since, 0u);  // never removed
  h.now = 33.7;
  ASSERT_EQ(h.DelAs(vip, "10.0.0.1"), 0);
  EXPECT_EQ(h.AsDump()[0].in_use_since, 33u);
  EXPECT_EQ(h.AsDump()[0].flags, 0);
  h.now = 40;
  ASSERT_EQ(h.AddAs(vip, "10.0.0.1"), 0);
  EXPECT_EQ(h.AsDump()[0].in_use_since, 33u);  // kept on re-activation
  EXPECT_EQ(h.AsDump()[0].flags, 1);
}

// --- removal, GC, slots ---------------------------------------------------

TEST(Gc, RemovedAsFreedByPerVipGcAfterGracePeriod) {
  Harness h;
  Vip vip{"90.0.0.0/8", 255, 0};
  h.now = 0;
  ASSERT_EQ(h.AddVip(vip), 0);  // last GC stamp = 0
  for (int i = 1; i <= 3; ++i) ASSERT_EQ(h.AddAs(vip, "10.0.0." + std::to_string(i)), 0);
  h.now = 100;
  ASSERT_EQ(h.DelAs(vip, "10.0.0.1"), 0);  // GC runs first (100 > 60), then .1 removed at 100
  h.now = 105;
  h.handler->RunGarbageCollection();  // 105 > 160? no: nothing
  EXPECT_EQ(h.AsDump().size(), 3u);
  h.now = 160;
  h.handler->RunGarbageCollection();  // strict comparison: 160 > 160 is false
  EXPECT_EQ(h.AsDump().size(), 3u);
  h.now = 161;
  h.handler->RunGarbageCollection();
  EXPECT_EQ(h.AsDump().size(), 2u);

  // GC due, but the AS was removed less than 10 s ago: kept until later.
  h.now = 215;
  ASSERT_EQ(h.DelAs(vip, "10.0.0.2"), 0);  // GC not due (215 > 221 false); removed at 215
  h.now = 222;
  h.handler->RunGarbageCollection();  // GC runs, but 222 > 215 + 10 is false
  EXPECT_EQ(h.AsDump().size(), 2u);
  h.now = 282;
  h.handler->RunGarbageCollection();  // not due again before 282 > 282
  EXPECT_EQ(h.AsDump().size(), 2u);
  h.now = 283;
  h.handler->RunGarbageCollection();
  std::vector<AsDetails> d = h.AsDump();
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].as, "10.0.0.3");

  // An AS add also triggers the per-VIP GC.
  ASSERT_EQ(h.DelAs(vip, "10.0.0.3"), 0);  // at 283, GC not due
  h.now = 344;
  ASSERT_EQ(h.AddAs(vip, "10.0.0.4"), 0);
  d = h.AsDump();
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].as, "10.0.0.4");
}

TEST(Gc, DeletedVipLingersUntilItsAsesAreGone) {
  Harness h;
  Vip vip{"2001::/16", 255, 0};
  h.now = 1;
  ASSERT_EQ(h.AddVip(vip), 0);
  ASSERT_EQ(h.AddAs(vip, "10.0.0.1"), 0);
  ASSERT_EQ(h.AddAs(vip, "10.0.0.2"), 0);
  h.now = 10;
  ASSERT_EQ(h.DelVip(vip), 0);  // ASs removed without flush
  EXPECT_TRUE(h.VipDump().empty());
  std::vector<AsDetails> d = h.AsDump();
  ASSERT_EQ(d.size(), 2u);
  for (const AsDetails& a : d) {
    EXPECT_EQ(a.flags, 0);
    EXPECT_EQ(a.in_use_since, 10u);
    EXPECT_EQ(a.vip, "2001::/16");
  }
  // The dump filter still reaches the deleted VIP.
  EXPECT_EQ(h.AsDump(vip).size(), 2u);
  // A new VIP with the same identity can be created at once: both are listed.
  ASSERT_EQ(h.AddVip(vip), 0);
  ASSERT_EQ(h.AddAs(vip, "10.0.0.1"), 0);
  EXPECT_EQ(h.VipDump().size(), 1u);
  EXPECT_EQ(h.AsDump().size(), 3u);
  EXPECT_EQ(h.handler->model().num_vip_slots(), 2u);
  h.now = 62;
  h.handler->RunGarbageCollection();
  EXPECT_EQ(h.AsDump().size(), 1u);                   // the old VIP's ASs are freed ...
  EXPECT_EQ(h.handler->model().num_vip_slots(), 1u);  // ... and the old VIP with them
  std::string cli = h.Cli("show lb vips");
  EXPECT_EQ(cli.find("removed"), std::string::npos) << cli;
  // Its slot (1) is reused by the next VIP.
  ASSERT_EQ(h.AddVip({"2002::/16", 255, 0}), 0);
  EXPECT_NE(h.Cli("show lb vips verbose").find("ip6-gre4 [1] 2002::/16"), std::string::npos);
}

TEST(Gc, DeletedVipWithoutAsesIsFreedAtNextTick) {
  Harness h;
  ASSERT_EQ(h.AddVip({"90.0.0.0/8", 255, 0}), 0);
  ASSERT_EQ(h.DelVip({"90.0.0.0/8", 255, 0}), 0);
  EXPECT_EQ(h.handler->model().num_vip_slots(), 1u);
  EXPECT_NE(h.Cli("show lb vips").find("removed"), std::string::npos);
  h.handler->RunGarbageCollection();
  EXPECT_EQ(h.handler->model().num_vip_slots(), 0u);
}

TEST(Model, TableHookListsEveryBucket) {
  Harness h;
  Vip vip{"90.0.0.0/8", 255, 0};
  VipArgs small;
  small.length = 16;
  ASSERT_EQ(h.AddVip(vip, small), 0);
  ASSERT_EQ(h.AddAsV2(vip, "10.0.0.1", 100), 0);
  ASSERT_EQ(h.AddAsV2(vip, "10.0.0.2", 30), 0);
  std::string out = h.Cli("vppsim lb table");
  EXPECT_EQ(out.rfind("vip 1 90.0.0.0/8 protocol 255 port 0 length 16\n", 0), 0u) << out;
  // One AS index per bucket; the counts are those `show lb vips verbose` reports.
  std::map<std::string, std::string> address;
  std::map<std::string, uint32_t> count;
  std::istringstream in(out);
  std::string line;
  size_t buckets = 0;
  while (std::getline(in, line)) {
    std::istringstream w(line);
    std::string kind, a, b;
    w >> kind;
    if (kind == "as") {
      w >> a >> b;
      address[a] = b;
    } else if (kind == "buckets") {
      while (w >> a) {
        ++buckets;
        ++count[address.at(a)];
      }
    }
  }
  EXPECT_EQ(buckets, 16u);
  std::string verbose = h.Cli("show lb vips verbose");
  for (const auto& [as, n] : count) {
    EXPECT_NE(verbose.find(as + " weight:" + (as == "10.0.0.1" ? "100" : "30") +
                           " buckets:" + std::to_string(n) + " "),
              std::string::npos)
        << as << "\n"
        << verbose;
  }
}

TEST(Gc, ClockHookThroughCli) {
  Harness h;
  Vip vip{"90.0.0.0/8", 255, 0};
  ASSERT_EQ(h.AddVip(vip), 0);
  ASSERT_EQ(h.AddAs(vip, "10.0.0.1"), 0);
  ASSERT_EQ(h.DelAs(vip, "10.0.0.1"), 0);
  EXPECT_EQ(h.Cli("vppsim gc"), "gc done\n");
  EXPECT_EQ(h.AsDump().size(), 1u);
  EXPECT_EQ(h.Cli("vppsim time advance 61"), "time 61\n");
  EXPECT_EQ(h.Cli("vppsim time"), "time 61\n");
  h.Cli("vppsim gc");
  EXPECT_TRUE(h.AsDump().empty());
  EXPECT_EQ(h.Cli("vppsim time advance -5", -1), "unknown input `vppsim time advance -5'\n");
}

TEST(Model, TableMatchesTheBuilderAndIgnoresAddOrder) {
  Harness a, b;
  Vip vip{"2001:db8::/64", 255, 0};
  VipArgs gre6;
  gre6.encap = kGre6;
  gre6.length = 32;
  ASSERT_EQ(a.AddVip(vip, gre6), 0);
  ASSERT_EQ(b.AddVip(vip, gre6), 0);
  ASSERT_EQ(a.AddAsV2(vip, "2001:db8::1", 30), 0);
  ASSERT_EQ(a.AddAsV2(vip, "2001:db8::2", 70), 0);
  ASSERT_EQ(b.AddAsV2(vip, "2001:db8::2", 70), 0);
  ASSERT_EQ(b.AddAsV2(vip, "2001:db8::1", 30), 0);
  const LbModel& ma = a.handler->model();
  const LbModel& mb = b.handler->model();
  const LbVip& va = ma.vip(ma.VipDump()[0]);
  const LbVip& vb = mb.vip(mb.VipDump()[0]);
  ASSERT_EQ(va.new_flow_table.size(), 32u);
  std::vector<uint32_t> ref =
      BuildNewFlowTable({{Ip46Of("2001:db8::1"), 30}, {Ip46Of("2001:db8::2"), 70}}, 32);
  for (size_t i = 0; i < 32; ++i) {
    EXPECT_EQ(ma.as(va.new_flow_table[i]).address,
              ref[i] == 0 ? Ip46Of("2001:db8::1") : Ip46Of("2001:db8::2"));
    EXPECT_EQ(ma.as(va.new_flow_table[i]).address, mb.as(vb.new_flow_table[i]).address);
  }
  // Removing every AS points all buckets at the placeholder (index 0).
  ASSERT_EQ(a.DelAs(vip, "2001:db8::1"), 0);
  ASSERT_EQ(a.DelAs(vip, "2001:db8::2"), 0);
  EXPECT_TRUE(std::all_of(va.new_flow_table.begin(), va.new_flow_table.end(),
                          [](uint32_t v) { return v == 0; }));
}

TEST(Model, ShowLbVipsVerboseText) {
  Harness h;
  ASSERT_EQ(h.AddVip({"90.0.0.0/8", 6, 8298}), 0);
  for (int i = 1; i <= 3; ++i)
    ASSERT_EQ(h.AddAs({"90.0.0.0/8", 6, 8298}, "10.0.0." + std::to_string(i)), 0);
  ASSERT_EQ(h.DelAs({"90.0.0.0/8", 6, 8298}, "10.0.0.3"), 0);
  // Prefixes of the command words, as VPP's CLI; the command's own input
  // wants the whole word "verbose".
  std::string out = h.Cli("sh lb vip verbose");
  // dpo: the load-balance of each AS's host route; a fresh VPP's first FIB
  // entry gets 8, here the VIP's prefix, then 9, 10, 11.
  EXPECT_EQ(out,
            " ip4-gre4 [1] 90.0.0.0/8\n"
            "  new_size:1024\n"
            "  protocol:6 port:8298\n"
            "  counters:\n"
            "    packet from existing sessions: 0\n"
            "    first session packet: 0\n"
            "    untracked packet: 0\n"
            "    no server configured: 0\n"
            "  #as:3\n"
            "    10.0.0.1 weight:100 buckets:512 flows:0 dpo:9 used\n"
            "    10.0.0.2 weight:100 buckets:512 flows:0 dpo:10 used\n"
            "    10.0.0.3 weight:100 buckets:0 flows:0 dpo:11  removed\n"
            "\n");
  EXPECT_EQ(h.Cli("show lb vips"),
            "ip4-gre4 90.0.0.0/8 new_size:1024 #as:3  protocol:6 port:8298 \n");
  EXPECT_EQ(h.Cli("sh lb vip ver"), h.Cli("show lb vips"));
  EXPECT_NE(h.Cli("show lb").find("#vips: 2"), std::string::npos);
  EXPECT_EQ(
      h.Cli("show version"),
      "vpp v26.10-maglev-vppsim built by maglev-vppsim on localhost at 2026-08-21T00:00:00\n");
  EXPECT_EQ(h.Cli("show frobnicate", -1), "show: unknown input `frobnicate'\n");
  EXPECT_EQ(h.Cli("no such command", -1), "unknown input `no such command'\n");
}

// --- legacy (lb 1.1.0) -----------------------------------------------------

TEST(Legacy, MessageSetAndBuilder) {
  Harness h(/*legacy=*/true);
  for (const char* absent :
       {"lb_conf_get", "lb_conf_get_reply", "lb_add_del_as_v2", "lb_add_del_as_v2_reply",
        "lb_as_set_weight", "lb_as_set_weight_reply", "lb_as_v2_dump", "lb_as_v2_details"}) {
    EXPECT_FALSE(h.Has(absent)) << absent;
  }
  for (const char* present :
       {"lb_conf", "lb_add_del_vip", "lb_add_del_vip_v2", "lb_add_del_as", "lb_flush_vip",
        "lb_vip_dump", "lb_as_dump", "lb_add_del_intf_nat4"}) {
    EXPECT_TRUE(h.Has(present)) << present;
  }
  Vip vip{"90.0.0.0/8", 255, 0};
  VipArgs a;
  a.length = 16;
  ASSERT_EQ(h.AddVip(vip, a), 0);
  for (int i = 1; i <= 3; ++i) ASSERT_EQ(h.AddAs(vip, "10.0.0." + std::to_string(i)), 0);
  // pre_weight_builder_equivalent: the old builder = all weights 1, whatever
  // the (v1) weight of 100.
  const LbModel& m = h.handler->model();
  const LbVip& v = m.vip(m.VipDump()[0]);
  std::vector<std::string> expected = {"10.0.0.2", "10.0.0.1", "10.0.0.1", "10.0.0.1",
                                       "10.0.0.1", "10.0.0.3", "10.0.0.1", "10.0.0.1",
                                       "10.0.0.3", "10.0.0.3", "10.0.0.2", "10.0.0.3",
                                       "10.0.0.3", "10.0.0.2", "10.0.0.2", "10.0.0.2"};
  ASSERT_EQ(v.new_flow_table.size(), 16u);
  for (size_t i = 0; i < 16; ++i) EXPECT_EQ(m.as(v.new_flow_table[i]).address, Ip46Of(expected[i]));
  // The legacy lb_as_details has no weight/buckets; membership is what counts.
  ASSERT_EQ(h.DelAs(vip, "10.0.0.2"), 0);
  std::vector<AsDetails> d = h.AsDump(false);
  EXPECT_EQ(d.size(), 3u);
  EXPECT_EQ(std::count_if(d.begin(), d.end(), [](const AsDetails& x) { return x.flags & 1; }), 2);
  EXPECT_NE(h.Cli("show version").find("26.06-maglev-vppsim"), std::string::npos);
}

}  // namespace
}  // namespace maglev::vppsim::testing
