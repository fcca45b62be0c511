// LbClient against the fake VPP with a small in-test model of the lb plugin
// (existence rules and error codes of PROTOCOL.md §3.2, no Maglev table).
#include "vpp/lb_client.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <tuple>

#include "fake_vpp_server.h"

namespace maglev {
namespace {

namespace m = vppmsg;
using testing::FakeVppConn;
using testing::FakeVppServer;

IpAddress Ip(const char* t) { return *IpAddress::Parse(t); }

class FakeLb {
 public:
  struct As {
    uint8_t weight = 100;
    bool active = true;
  };
  struct Vip {
    m::EncapType encap = m::EncapType::kGre4;
    uint32_t length = 0;
    bool sticky = false;
    std::map<IpAddress, As> ases;
  };
  using Key = std::tuple<IpAddress, uint8_t, uint8_t, uint16_t>;  // prefix, len, proto, port

  void Attach(FakeVppServer& server) {
    server.set_handler([this](FakeVppConn& c, uint16_t id, const std::string& name,
                              const std::vector<uint8_t>& p) {
      std::lock_guard<std::mutex> lock(mu);
      if (!Handle(c, name, p)) FakeVppServer::DefaultHandle(c, id, name, p);
    });
  }

  std::mutex mu;
  std::map<Key, Vip> vips;
  m::LbConf conf = [] {
    m::LbConf c;
    c.ip4_src_address = Ip("255.255.255.255");
    c.ip6_src_address = Ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
    c.sticky_buckets_per_core = 1024;
    c.flow_timeout = 40;
    return c;
  }();
  std::vector<uint8_t> last_vip_protocols;  // protocol field of each VIP add/del

 private:
  static Key KeyOf(const m::Prefix& pfx, uint8_t protocol, uint16_t port) {
    return {pfx.address, pfx.len, port == 0 ? uint8_t{255} : protocol, port};
  }

  template <typename Rep>
  static void Retval(FakeVppConn& c, uint32_t context, int32_t rv) {
    Rep r;
    r.retval = rv;
    c.Send(r, context);
  }

  template <typename Req>
  int32_t AddDelVip(const Req& r, bool sticky) {
    last_vip_protocols.push_back(r.protocol);
    Key k = KeyOf(r.pfx, r.protocol, r.port);
    if (r.is_del) {
      if (!vips.count(k)) return -6;
      vips.erase(k);
      return 0;
    }
    if (vips.count(k)) return -81;
    uint32_t len = r.new_flows_table_length;
    if (len == 0 || (len & (len - 1)) != 0) return -70;
    vips[k] = Vip{r.encap, len, sticky, {}};
    return 0;
  }

  int32_t AddDelAs(const m::Prefix& pfx, uint8_t proto, uint16_t port, const IpAddress& a,
                   uint8_t weight, bool is_del) {
    auto it = vips.find(KeyOf(pfx, proto, port));
    if (it == vips.end()) return -6;
    auto& ases = it->second.ases;
    auto as = ases.find(a);
    if (is_del) {
      if (as == ases.end()) return -6;
      as->second.active = false;
      return 0;
    }
    if (as != ases.end() && as->second.active) return -81;
    ases[a] = As{weight, true};
    return 0;
  }

  template <typename Det>
  void DumpAses(FakeVppConn& c, uint32_t context) {
    for (const auto& [k, v] : vips) {
      for (const auto& [addr, as] : v.ases) {
        Det d;
        d.vip = {{std::get<0>(k), std::get<1>(k)}, std::get<2>(k), std::get<3>(k)};
        d.app_srv = addr;
        d.flags = as.active ? 1 : 0;
        if constexpr (std::is_same_v<Det, m::LbAsV2Details>) {
          d.weight = as.weight;
          d.num_buckets = as.active ? as.weight : 0;
        }
        c.Send(d, context);
      }
    }
  }

  bool Handle(FakeVppConn& c, const std::string& name, const std::vector<uint8_t>& p) {
    m::Header h;
    if (name == m::LbConf::kNameCrc) {
      auto r = m::Decode<m::LbConf>(p, &h);
      if (!r.ok()) return true;
      uint32_t b = r->sticky_buckets_per_core;
      int32_t rv = 0;
      if (b != 0xffffffff && (b == 0 || (b & (b - 1)) != 0)) {
        rv = -70;
      } else {
        conf = *r;
      }
      Retval<m::LbConfReply>(c, h.context, rv);
    } else if (name == m::LbConfGet::kNameCrc) {
      (void)m::Decode<m::LbConfGet>(p, &h);
      m::LbConfGetReply r;
      r.ip4_src_address = conf.ip4_src_address;
      r.ip6_src_address = conf.ip6_src_address;
      r.sticky_buckets_per_core = conf.sticky_buckets_per_core;
      r.flow_timeout = conf.flow_timeout;
      c.Send(r, h.context);
    } else if (name == m::LbAddDelVip::kNameCrc) {
      auto r = m::Decode<m::LbAddDelVip>(p, &h);
      if (!r.ok()) return true;
      Retval<m::LbAddDelVipReply>(c, h.context, AddDelVip(*r, false));
    } else if (name == m::LbAddDelVipV2::kNameCrc) {
      auto r = m::Decode<m::LbAddDelVipV2>(p, &h);
      if (!r.ok()) return true;
      Retval<m::LbAddDelVipV2Reply>(c, h.context, AddDelVip(*r, r->src_ip_sticky));
    } else if (name == m::LbAddDelAs::kNameCrc) {
      auto r = m::Decode<m::LbAddDelAs>(p, &h);
      if (!r.ok()) return true;
      Retval<m::LbAddDelAsReply>(
          c, h.context, AddDelAs(r->pfx, r->protocol, r->port, r->as_address, 100, r->is_del));
    } else if (name == m::LbAddDelAsV2::kNameCrc) {
      auto r = m::Decode<m::LbAddDelAsV2>(p, &h);
      if (!r.ok()) return true;
      Retval<m::LbAddDelAsV2Reply>(
          c, h.context,
          AddDelAs(r->pfx, r->protocol, r->port, r->as_address, r->weight, r->is_del));
    } else if (name == m::LbAsSetWeight::kNameCrc) {
      auto r = m::Decode<m::LbAsSetWeight>(p, &h);
      if (!r.ok()) return true;
      int32_t rv = -6;
      auto it = vips.find(KeyOf(r->pfx, r->protocol, r->port));
      if (it != vips.end()) {
        auto as = it->second.ases.find(r->as_address);
        if (as != it->second.ases.end() && as->second.active) {
          as->second.weight = r->weight;
          rv = 0;
        }
      }
      Retval<m::LbAsSetWeightReply>(c, h.context, rv);
    } else if (name == m::LbFlushVip::kNameCrc) {
      (void)m::Decode<m::LbFlushVip>(p, &h);
      Retval<m::LbFlushVipReply>(c, h.context, 0);  // always 0, like VPP
    } else if (name == m::LbVipDump::kNameCrc) {
      (void)m::Decode<m::LbVipDump>(p, &h);
      for (const auto& [k, v] : vips) {
        m::LbVipDetails d;
        d.vip = {{std::get<0>(k), std::get<1>(k)}, std::get<2>(k), std::get<3>(k)};
        d.encap = v.encap;
        d.flow_table_length = static_cast<uint16_t>(v.length);
        c.Send(d, h.context);
      }
    } else if (name == m::LbAsDump::kNameCrc) {
      (void)m::Decode<m::LbAsDump>(p, &h);
      DumpAses<m::LbAsDetails>(c, h.context);
    } else if (name == m::LbAsV2Dump::kNameCrc) {
      (void)m::Decode<m::LbAsV2Dump>(p, &h);
      DumpAses<m::LbAsV2Details>(c, h.context);
    } else if (name == m::CliInband::kNameCrc) {
      auto r = m::Decode<m::CliInband>(p, &h);
      if (!r.ok()) return true;
      m::CliInbandReply rep;
      rep.reply = "you said: " + r->cmd;
      c.Send(rep, h.context);
    } else {
      return false;
    }
    return true;
  }
};

// Message sets removed from the fake's table to emulate older VPPs.
std::set<std::string> WeightsOnly() {
  return {std::string(m::LbAddDelAsV2::kNameCrc),  std::string(m::LbAddDelAsV2Reply::kNameCrc),
          std::string(m::LbAsSetWeight::kNameCrc), std::string(m::LbAsSetWeightReply::kNameCrc),
          std::string(m::LbAsV2Dump::kNameCrc),    std::string(m::LbAsV2Details::kNameCrc)};
}
std::set<std::string> LegacyOmits() {
  auto s = WeightsOnly();
  s.insert(std::string(m::LbConfGet::kNameCrc));
  s.insert(std::string(m::LbConfGetReply::kNameCrc));
  return s;
}

class LbClientTest : public ::testing::Test {
 protected:
  void Start(const std::set<std::string>& omit = {}) {
    server_ = std::make_unique<FakeVppServer>(omit);
    lb_.Attach(*server_);
    server_->Start();
  }
  absl::Status Connect() {
    return client_.Connect(server_->socket_path(), std::chrono::milliseconds(5000));
  }
  size_t Received(std::string_view name) const {
    auto got = server_->received();
    return static_cast<size_t>(std::count(got.begin(), got.end(), std::string(name)));
  }

  FakeLb lb_;
  std::unique_ptr<FakeVppServer> server_;
  LbClient client_;
  const VipKey vip80_ = VipKey::Host(Ip("192.0.2.80"), kLbProtoTcp, 80);
};

VipSpec Spec(const VipKey& key, uint32_t length = 1024) {
  VipSpec s;
  s.key = key;
  s.new_flows_table_length = length;
  return s;
}

TEST_F(LbClientTest, DetectsTheWeightsLevel) {
  Start();
  ASSERT_TRUE(Connect().ok());
  EXPECT_EQ(client_.api_level(), LbApiLevel::kWeights);
  EXPECT_TRUE(client_.has_weights());
}

TEST_F(LbClientTest, DetectsLb120WithoutWeights) {
  Start(WeightsOnly());
  ASSERT_TRUE(Connect().ok());
  EXPECT_EQ(client_.api_level(), LbApiLevel::kNoWeights);
  EXPECT_TRUE(client_.ConfGet().ok());
  EXPECT_EQ(client_.SetAsWeight({vip80_, Ip("10.0.0.1"), 50, false}).code(),
            absl::StatusCode::kUnimplemented);
}

TEST_F(LbClientTest, LegacyLevelFallsBackToTheOldMessages) {
  Start(LegacyOmits());
  ASSERT_TRUE(Connect().ok());
  EXPECT_EQ(client_.api_level(), LbApiLevel::kLegacy);
  EXPECT_EQ(client_.ConfGet().status().code(), absl::StatusCode::kUnimplemented);
  ASSERT_TRUE(client_.AddVip(Spec(vip80_)).ok());
  // Weights are not available: VPP's v1 add uses 100.
  ASSERT_TRUE(client_.AddAs({vip80_, Ip("10.0.0.1"), 30, false}).ok());
  EXPECT_EQ(Received(m::LbAddDelAs::kNameCrc), 1u);
  EXPECT_EQ(Received(m::LbAddDelAsV2::kNameCrc), 0u);
  EXPECT_EQ(client_.SetAsWeight({vip80_, Ip("10.0.0.1"), 50, false}).code(),
            absl::StatusCode::kUnimplemented);
  auto ases = client_.DumpAses(vip80_);
  ASSERT_TRUE(ases.ok()) << ases.status();
  ASSERT_EQ(ases->size(), 1u);
  EXPECT_FALSE((*ases)[0].weight.has_value());
  EXPECT_EQ(Received(m::LbAsDump::kNameCrc), 1u);
  ASSERT_TRUE(client_.DelAs({vip80_, Ip("10.0.0.1"), true}).ok());
}

TEST_F(LbClientTest, LegacyWithoutVipV2RefusesSrcIpSticky) {
  auto omit = LegacyOmits();
  omit.insert(std::string(m::LbAddDelVipV2::kNameCrc));
  omit.insert(std::string(m::LbAddDelVipV2Reply::kNameCrc));
  Start(omit);
  ASSERT_TRUE(Connect().ok());
  VipSpec s = Spec(vip80_);
  s.src_ip_sticky = true;
  EXPECT_EQ(client_.AddVip(s).code(), absl::StatusCode::kUnimplemented);
  s.src_ip_sticky = false;
  EXPECT_TRUE(client_.AddVip(s).ok());
  EXPECT_EQ(Received(m::LbAddDelVip::kNameCrc), 1u);
}

TEST_F(LbClientTest, NoLbPluginIsAClearError) {
  std::set<std::string> omit;
  for (const auto& info : m::AllMessages()) {
    if (info.name.substr(0, 3) == "lb_") omit.insert(std::string(info.name_crc));
  }
  Start(omit);
  absl::Status s = Connect();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("lb plugin"), absl::string_view::npos) << s;
  EXPECT_FALSE(client_.connected());
  EXPECT_EQ(client_.api_level(), LbApiLevel::kNone);
}

TEST_F(LbClientTest, MissingMessageOfTheDetectedLevelIsNamed) {
  Start({std::string(m::LbAsV2Dump::kNameCrc), std::string(m::LbAsV2Details::kNameCrc)});
  absl::Status s = Connect();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("lb_as_v2_dump_1063f819"), absl::string_view::npos) << s;
  EXPECT_NE(s.message().find("lb_as_v2_details_90064aae"), absl::string_view::npos) << s;
  EXPECT_FALSE(client_.connected());
}

TEST_F(LbClientTest, MissingCoreMessageIsNamed) {
  Start({std::string(m::ShowVersionReply::kNameCrc)});
  absl::Status s = Connect();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("show_version_reply_c919bde1"), absl::string_view::npos) << s;
}

TEST_F(LbClientTest, PingVersionAndCli) {
  Start();
  ASSERT_TRUE(Connect().ok());
  auto pid = client_.ControlPing();
  ASSERT_TRUE(pid.ok());
  EXPECT_EQ(*pid, 4242u);
  auto v = client_.ShowVersion();
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->program, "vpe");
  EXPECT_EQ(v->version, "26.10-rc0~374-gb575ec2c5");
  EXPECT_EQ(v->build_date, "2026-08-21T10:00:00");
  EXPECT_EQ(v->build_directory, "/build/vpp");
  EXPECT_EQ(v->vpe_pid, 4242u);
  auto out = client_.CliInband("show lb vips verbose");
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(*out, "you said: show lb vips verbose");
}

TEST_F(LbClientTest, ConfGetAndSetConf) {
  Start();
  ASSERT_TRUE(Connect().ok());
  auto conf = client_.ConfGet();
  ASSERT_TRUE(conf.ok()) << conf.status();
  EXPECT_EQ(conf->ip4_src_address, Ip("255.255.255.255"));
  EXPECT_EQ(conf->sticky_buckets_per_core, 1024u);
  LbConf want{Ip("192.0.2.1"), Ip("2001:db8::1"), 65536, 40};
  ASSERT_TRUE(client_.SetConf(want).ok());
  conf = client_.ConfGet();
  ASSERT_TRUE(conf.ok());
  EXPECT_EQ(*conf, want);

  // Refused before the wire.
  size_t sent = Received(m::LbConf::kNameCrc);
  EXPECT_EQ(client_.SetConf({Ip("192.0.2.1"), Ip("2001:db8::1"), 1000, 40}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(client_.SetConf({Ip("2001:db8::1"), Ip("2001:db8::1"), 1024, 40}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Received(m::LbConf::kNameCrc), sent);
}

TEST_F(LbClientTest, VipAndAsLifecycle) {
  Start();
  ASSERT_TRUE(Connect().ok());
  VipSpec spec = Spec(vip80_, 4096);
  spec.src_ip_sticky = true;
  ASSERT_TRUE(client_.AddVip(spec).ok());
  {
    std::lock_guard<std::mutex> lock(lb_.mu);
    ASSERT_EQ(lb_.vips.size(), 1u);
    EXPECT_TRUE(lb_.vips.begin()->second.sticky);
    EXPECT_EQ(lb_.vips.begin()->second.length, 4096u);
  }
  ASSERT_TRUE(client_.AddAs({vip80_, Ip("10.0.0.1"), 100, false}).ok());
  ASSERT_TRUE(client_.AddAs({vip80_, Ip("10.0.0.2"), 50, false}).ok());
  ASSERT_TRUE(client_.AddAs({vip80_, Ip("10.0.0.3"), 0, false}).ok());

  auto vips = client_.DumpVips();
  ASSERT_TRUE(vips.ok()) << vips.status();
  ASSERT_EQ(vips->size(), 1u);
  EXPECT_EQ((*vips)[0].key, vip80_);
  EXPECT_EQ((*vips)[0].encap, LbEncap::kGre4);
  EXPECT_TRUE((*vips)[0].FlowTableLengthMatches(4096));

  ASSERT_TRUE(client_.SetAsWeight({vip80_, Ip("10.0.0.2"), 70, true}).ok());
  ASSERT_TRUE(client_.DelAs({vip80_, Ip("10.0.0.3"), true}).ok());
  auto ases = client_.DumpAses(vip80_);
  ASSERT_TRUE(ases.ok()) << ases.status();
  ASSERT_EQ(ases->size(), 3u) << "removed ASes stay listed until VPP collects them";
  std::map<IpAddress, AsInfo> by_addr;
  for (const auto& a : *ases) by_addr[a.address] = a;
  EXPECT_EQ(by_addr[Ip("10.0.0.1")].weight, std::optional<uint8_t>(100));
  EXPECT_EQ(by_addr[Ip("10.0.0.2")].weight, std::optional<uint8_t>(70));
  EXPECT_TRUE(by_addr[Ip("10.0.0.2")].active());
  EXPECT_FALSE(by_addr[Ip("10.0.0.3")].active());
  EXPECT_EQ(by_addr[Ip("10.0.0.1")].vip, vip80_);

  ASSERT_TRUE(client_.FlushVip(vip80_).ok());
  ASSERT_TRUE(client_.DelVip(vip80_).ok());
  vips = client_.DumpVips();
  ASSERT_TRUE(vips.ok());
  EXPECT_TRUE(vips->empty());
}

TEST_F(LbClientTest, VppErrorsNameTheMessageAndTheError) {
  Start();
  ASSERT_TRUE(Connect().ok());
  ASSERT_TRUE(client_.AddVip(Spec(vip80_)).ok());
  absl::Status dup = client_.AddVip(Spec(vip80_));
  EXPECT_EQ(dup.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(dup.message(), "lb_add_del_vip_v2: VNET_API_ERROR_VALUE_EXIST (-81)");
  EXPECT_EQ(VppRetvalOf(dup), std::optional<int32_t>(-81));

  ASSERT_TRUE(client_.AddAs({vip80_, Ip("10.0.0.1"), 100, false}).ok());
  absl::Status dup_as = client_.AddAs({vip80_, Ip("10.0.0.1"), 100, false});
  EXPECT_EQ(dup_as.message(), "lb_add_del_as_v2: VNET_API_ERROR_VALUE_EXIST (-81)");

  absl::Status missing = client_.DelAs({vip80_, Ip("10.9.9.9"), false});
  EXPECT_EQ(missing.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(missing.message(), "lb_add_del_as_v2: VNET_API_ERROR_NO_SUCH_ENTRY (-6)");
  absl::Status weight = client_.SetAsWeight({vip80_, Ip("10.9.9.9"), 10, false});
  EXPECT_EQ(weight.message(), "lb_as_set_weight: VNET_API_ERROR_NO_SUCH_ENTRY (-6)");
  EXPECT_EQ(VppRetvalOf(absl::NotFoundError("x")), std::nullopt);

  auto counters = client_.counters().Snapshot();
  EXPECT_EQ(counters["lb_add_del_vip_v2"].calls, 2u);
  EXPECT_EQ(counters["lb_add_del_vip_v2"].errors, 1u);
  EXPECT_EQ(counters["lb_add_del_as_v2"].calls, 3u);
  EXPECT_EQ(counters["lb_add_del_as_v2"].errors, 2u);
  EXPECT_EQ(client_.counters().total_errors(), 4u);
}

TEST_F(LbClientTest, InvalidArgumentsNeverReachTheWire) {
  Start();
  ASSERT_TRUE(Connect().ok());
  size_t before = server_->received().size();
  EXPECT_EQ(client_.AddVip(Spec(vip80_, 0)).code(), absl::StatusCode::kInvalidArgument)
      << "new_flows_table_length 0 must never be sent";
  EXPECT_EQ(client_.AddVip(Spec(vip80_, 1000)).code(), absl::StatusCode::kInvalidArgument);
  VipKey bad = vip80_;
  bad.prefix_len = 33;
  EXPECT_EQ(client_.AddVip(Spec(bad)).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(client_.AddAs({vip80_, Ip("10.0.0.1"), 101, false}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(server_->received().size(), before);
  EXPECT_EQ(client_.counters().total_calls(), 0u);
}

TEST_F(LbClientTest, AllPortVipIsSentWithProtocol255) {
  Start();
  ASSERT_TRUE(Connect().ok());
  VipKey all = VipKey::Host(Ip("2001:db8::80"), kLbProtoTcp, 0);  // port 0 wins
  ASSERT_TRUE(client_.AddVip(Spec(all)).ok());
  ASSERT_TRUE(client_.AddAs({all, Ip("2001:db8::10"), 100, false}).ok());
  {
    std::lock_guard<std::mutex> lock(lb_.mu);
    ASSERT_EQ(lb_.last_vip_protocols.size(), 1u);
    EXPECT_EQ(lb_.last_vip_protocols[0], 255);
  }
  auto vips = client_.DumpVips();
  ASSERT_TRUE(vips.ok());
  ASSERT_EQ(vips->size(), 1u);
  EXPECT_EQ((*vips)[0].key, all.Normalized());
  auto ases = client_.DumpAses(all);  // matched through normalisation
  ASSERT_TRUE(ases.ok());
  EXPECT_EQ(ases->size(), 1u);
}

TEST_F(LbClientTest, DumpAsesFiltersClientSide) {
  Start();
  ASSERT_TRUE(Connect().ok());
  VipKey vip443 = VipKey::Host(Ip("192.0.2.80"), kLbProtoTcp, 443);
  VipKey other = VipKey::Host(Ip("192.0.2.81"), kLbProtoTcp, 80);
  std::vector<LbCall> calls = {LbAddVip{Spec(vip80_)}, LbAddVip{Spec(vip443)},
                               LbAddVip{Spec(other)}};
  for (int i = 1; i <= 3; ++i) {
    calls.push_back(LbAddAs{vip80_, IpAddress::V4(0x0a000000 + i), 100, false});
    calls.push_back(LbAddAs{vip443, IpAddress::V4(0x0a000100 + i), 100, false});
    calls.push_back(LbAddAs{other, IpAddress::V4(0x0a000200 + i), 100, false});
  }
  for (const auto& s : client_.Execute(calls)) ASSERT_TRUE(s.ok()) << s;
  auto ases = client_.DumpAses(vip443);
  ASSERT_TRUE(ases.ok());
  ASSERT_EQ(ases->size(), 3u);
  for (const auto& a : *ases) {
    EXPECT_EQ(a.vip, vip443);
    EXPECT_EQ(a.address.ToString().rfind("10.0.1.", 0), 0u) << a.address.ToString();
  }
  auto all = client_.DumpAllAses();
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 9u);
  // The AS dump was sent unfiltered: an all-zero address.
  EXPECT_GE(Received(m::LbAsV2Dump::kNameCrc), 2u);
}

TEST_F(LbClientTest, ExecuteBatchReportsEachCall) {
  Start();
  ASSERT_TRUE(Connect().ok());
  std::vector<LbCall> calls;
  calls.push_back(LbAddVip{Spec(vip80_, 65536)});
  for (uint32_t i = 0; i < 500; ++i) {
    calls.push_back(
        LbAddAs{vip80_, IpAddress::V4(0x0a000000 + i), static_cast<uint8_t>(i % 101), false});
  }
  calls.push_back(LbAddAs{vip80_, IpAddress::V4(0x0a000007), 10, false});   // duplicate
  calls.push_back(LbAddAs{vip80_, IpAddress::V4(0x0a000008), 250, false});  // invalid weight
  calls.push_back(LbSetAsWeight{vip80_, IpAddress::V4(0x0a000009), 0, true});
  auto results = client_.Execute(calls);
  ASSERT_EQ(results.size(), calls.size());
  for (size_t i = 0; i <= 500; ++i) EXPECT_TRUE(results[i].ok()) << i << ": " << results[i];
  EXPECT_EQ(results[501].code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(results[502].code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(results[503].ok());
  auto counters = client_.counters().Snapshot();
  EXPECT_EQ(counters["lb_add_del_as_v2"].calls, 501u);
  EXPECT_EQ(counters["lb_add_del_as_v2"].errors, 1u);
  EXPECT_EQ(counters["lb_as_set_weight"].calls, 1u);
  std::lock_guard<std::mutex> lock(lb_.mu);
  const auto& ases = lb_.vips.begin()->second.ases;
  EXPECT_EQ(ases.size(), 500u);
  EXPECT_EQ(ases.at(IpAddress::V4(0x0a000009)).weight, 0);
  EXPECT_EQ(ases.at(IpAddress::V4(0x0a000064)).weight, 100 % 101);
}

TEST_F(LbClientTest, NotConnectedIsUnavailableEverywhere) {
  EXPECT_EQ(client_.api_level(), LbApiLevel::kNone);
  EXPECT_EQ(client_.ControlPing().status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(client_.ShowVersion().status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(client_.ConfGet().status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(client_.AddVip(Spec(vip80_)).code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(client_.DumpVips().status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(client_.DumpAses(vip80_).status().code(), absl::StatusCode::kUnavailable);
  auto r = client_.Execute({LbFlushVip{vip80_}, LbDelVip{vip80_}});
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(r[1].code(), absl::StatusCode::kUnavailable);
}

TEST_F(LbClientTest, CloseUnregisters) {
  Start();
  ASSERT_TRUE(Connect().ok());
  client_.Close();
  EXPECT_FALSE(client_.connected());
  EXPECT_EQ(client_.api_level(), LbApiLevel::kNone);
  EXPECT_EQ(Received(m::SockclntDelete::kNameCrc), 1u);
  ASSERT_TRUE(Connect().ok()) << "reconnect after close";
  EXPECT_EQ(server_->connections(), 2);
}

// --- lb_api.h helpers ---------------------------------------------------------

TEST(LbApiTest, VipKeyNormalisationFollowsVpp) {
  VipKey k{Ip("192.0.2.77"), 24, kLbProtoTcp, 0};
  VipKey n = k.Normalized();
  EXPECT_EQ(n.address, Ip("192.0.2.0"));
  EXPECT_EQ(n.protocol, kLbProtoAny);
  EXPECT_EQ(n.prefix_len, 24);
  VipKey v6{Ip("2001:db8:ffff::1"), 36, kLbProtoUdp, 53};
  EXPECT_EQ(v6.Normalized().address, Ip("2001:db8:f000::"));
  EXPECT_EQ(v6.Normalized().protocol, kLbProtoUdp);
  EXPECT_EQ(VipKey::Host(Ip("2001:db8::1"), 6, 80).prefix_len, 128);
  EXPECT_FALSE((VipKey{Ip("192.0.2.1"), 33, 6, 80}).IsValid());
  EXPECT_EQ(VipKey::Host(Ip("192.0.2.80"), 6, 80).ToString(), "192.0.2.80/32 tcp/80");
  EXPECT_EQ(VipKey::Host(Ip("2001:db8::1"), 255, 0).ToString(), "2001:db8::1/128 any");
}

TEST(LbApiTest, DescribeLbCall) {
  VipKey k = VipKey::Host(Ip("192.0.2.80"), 6, 80);
  EXPECT_EQ(DescribeLbCall(LbAddAs{k, Ip("198.51.100.10"), 100, false}),
            "add-as 192.0.2.80/32 tcp/80 198.51.100.10 weight 100");
  EXPECT_EQ(DescribeLbCall(LbSetAsWeight{k, Ip("198.51.100.10"), 0, true}),
            "set-as-weight 192.0.2.80/32 tcp/80 198.51.100.10 weight 0 flush");
  EXPECT_EQ(DescribeLbCall(LbDelVip{k}), "del-vip 192.0.2.80/32 tcp/80");
  VipSpec s;
  s.key = k;
  s.src_ip_sticky = true;
  EXPECT_EQ(DescribeLbCall(LbAddVip{s}),
            "add-vip 192.0.2.80/32 tcp/80 encap gre4 new-flows-table-length 1024 src-ip-sticky");
}

TEST(LbApiTest, RetvalStatusMapping) {
  EXPECT_TRUE(VppRetvalStatus("x", 0).ok());
  EXPECT_EQ(VppRetvalStatus("lb_conf", -70).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(VppRetvalStatus("lb_conf", -70).message(),
            "lb_conf: VNET_API_ERROR_INVALID_MEMORY_SIZE (-70)");
  absl::Status odd = VppRetvalStatus("lb_flush_vip", -42);
  EXPECT_EQ(odd.code(), absl::StatusCode::kUnknown);
  EXPECT_EQ(odd.message(), "lb_flush_vip: VPP error -42");
  EXPECT_EQ(VppRetvalOf(odd), std::optional<int32_t>(-42));
}

}  // namespace
}  // namespace maglev
