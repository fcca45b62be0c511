// In-process harness: an ApiHandler driven with payloads built by the test
// (sim_test_util.h), on a manual clock. Used by the handler-level tests.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "common/log.h"
#include "sim_test_util.h"
#include "vppsim/api_handler.h"

namespace maglev::vppsim::testing {

struct VipArgs {
  uint32_t encap = 0;
  uint32_t length = 1024;
  uint8_t dscp = 0;
  std::array<uint8_t, 4> type{};  // raw wire bytes of lb_srv_type
  uint16_t target_port = 0;
  uint16_t node_port = 0;
  bool src_ip_sticky = false;
};

class Harness {
 public:
  explicit Harness(bool legacy = false, uint32_t workers = 0) {
    Logger::Get().SetOutput(nullptr);  // keep test output readable
    ApiHandler::Options o;
    o.legacy_lb = legacy;
    o.num_workers = workers;
    o.vpe_pid = 4242;
    o.build_date = "2026-08-21T00:00:00";
    auto h = ApiHandler::Create(o, [this] { return now; });
    EXPECT_TRUE(h.ok()) << h.status();
    handler = std::move(*h);
    reg = handler->Connect();
    std::vector<Bytes> r = Send(Msg(15).U32(0x7b).Str("harness", 64).Take());
    EXPECT_EQ(r.size(), 1u);
    if (!r.empty()) hs = *ParseHandshake(r[0]);
    handle = hs.handle;
  }

  // Handles one payload from our registration; returns what was sent back to
  // it (and checks nothing went anywhere else).
  std::vector<Bytes> Send(const Bytes& payload, uint32_t from = 0) {
    HandleResult res = handler->Handle(from ? from : reg, payload.data(), payload.size());
    last_dropped = res.dropped.has_value();
    std::vector<Bytes> out;
    for (Outgoing& o : res.replies) {
      EXPECT_EQ(o.registration, from ? from : reg);
      out.push_back(std::move(o.payload));
    }
    return out;
  }

  uint16_t Id(const std::string& name) const {
    auto it = hs.by_name.find(name);
    EXPECT_NE(it, hs.by_name.end()) << name;
    return it == hs.by_name.end() ? 0 : it->second;
  }
  bool Has(const std::string& name) const { return hs.by_name.count(name) > 0; }

  // Sends a request expecting exactly one 10-byte autoreply; returns retval.
  int32_t Call(const Bytes& payload, const std::string& reply_name) {
    std::vector<Bytes> r = Send(payload);
    EXPECT_EQ(r.size(), 1u);
    if (r.size() != 1 || r[0].size() != 10) {
      ADD_FAILURE() << "no autoreply";
      return 12345;
    }
    EXPECT_EQ(Be16(r[0].data()), Id(reply_name));
    EXPECT_EQ(Be32(&r[0][2]), context);
    return static_cast<int32_t>(Be32(&r[0][6]));
  }

  Msg Req(const std::string& name) {
    Msg m(Id(name));
    m.U32(handle).U32(++context);
    return m;
  }

  Bytes VipPayload(const std::string& name, const Vip& vip, const VipArgs& a, bool is_del) {
    Msg m = Req(name);
    m.Raw(VipKey(vip)).U32(a.encap).U8(a.dscp);
    m.Raw(Bytes(a.type.begin(), a.type.end()));
    m.U16(a.target_port).U16(a.node_port).U32(a.length);
    if (name == "lb_add_del_vip_v2") m.U8(a.src_ip_sticky ? 1 : 0);
    m.U8(is_del ? 1 : 0);
    return m.Take();
  }
  int32_t AddVip(const Vip& vip, VipArgs a = {}) {
    return Call(VipPayload("lb_add_del_vip", vip, a, false), "lb_add_del_vip_reply");
  }
  int32_t AddVipV2(const Vip& vip, VipArgs a = {}) {
    return Call(VipPayload("lb_add_del_vip_v2", vip, a, false), "lb_add_del_vip_v2_reply");
  }
  int32_t DelVip(const Vip& vip) {
    return Call(VipPayload("lb_add_del_vip", vip, {}, true), "lb_add_del_vip_reply");
  }

  int32_t AddAs(const Vip& vip, const std::string& as) {
    return Call(Req("lb_add_del_as").Raw(VipKey(vip)).Raw(Address(as)).U8(0).U8(0).Take(),
                "lb_add_del_as_reply");
  }
  int32_t DelAs(const Vip& vip, const std::string& as, bool flush = false) {
    return Call(Req("lb_add_del_as").Raw(VipKey(vip)).Raw(Address(as)).U8(1).U8(flush).Take(),
                "lb_add_del_as_reply");
  }
  int32_t AddAsV2(const Vip& vip, const std::string& as, uint8_t weight, bool flush = false) {
    return Call(
        Req("lb_add_del_as_v2").Raw(VipKey(vip)).Raw(Address(as)).U8(weight).U8(0).U8(flush).Take(),
        "lb_add_del_as_v2_reply");
  }
  int32_t DelAsV2(const Vip& vip, const std::string& as, bool flush = false) {
    return Call(
        Req("lb_add_del_as_v2").Raw(VipKey(vip)).Raw(Address(as)).U8(0).U8(1).U8(flush).Take(),
        "lb_add_del_as_v2_reply");
  }
  int32_t SetWeight(const Vip& vip, const std::string& as, uint8_t weight, bool flush = false) {
    return Call(
        Req("lb_as_set_weight").Raw(VipKey(vip)).Raw(Address(as)).U8(weight).U8(flush).Take(),
        "lb_as_set_weight_reply");
  }
  int32_t Flush(const Vip& vip) {
    return Call(Req("lb_flush_vip").Raw(VipKey(vip)).Take(), "lb_flush_vip_reply");
  }

  std::vector<VipDetails> VipDump() {
    std::vector<Bytes> r =
        Send(Req("lb_vip_dump").Raw(Prefix("0.0.0.0/0")).U8(0).U8(0).U8(0).U16(0).Take());
    std::vector<VipDetails> out;
    for (const Bytes& b : r) {
      EXPECT_EQ(b.size(), 40u);
      EXPECT_EQ(Be16(b.data()), Id("lb_vip_details"));
      out.push_back(ParseVipDetails(b));
    }
    return out;
  }
  // Raw filter bytes: pfx (18) + protocol + port.
  std::vector<AsDetails> AsDumpRaw(const Bytes& filter, bool v2 = true) {
    std::vector<Bytes> r = Send(Req(v2 ? "lb_as_v2_dump" : "lb_as_dump").Raw(filter).Take());
    std::vector<AsDetails> out;
    for (const Bytes& b : r) {
      EXPECT_EQ(b.size(), v2 ? 54u : 49u);
      EXPECT_EQ(Be16(b.data()), Id(v2 ? "lb_as_v2_details" : "lb_as_details"));
      out.push_back(ParseAsDetails(b, v2));
    }
    return out;
  }
  std::vector<AsDetails> AsDump(bool v2 = true) {
    return AsDumpRaw(VipKey({"0.0.0.0/0", 0, 0}), v2);
  }
  std::vector<AsDetails> AsDump(const Vip& filter, bool v2 = true) {
    return AsDumpRaw(VipKey(filter), v2);
  }
  // address -> (weight, num_buckets) of active ASs of a VIP (dump-all, filtered here).
  std::map<std::string, std::pair<uint8_t, uint32_t>> Buckets(const std::string& vip) {
    std::map<std::string, std::pair<uint8_t, uint32_t>> out;
    for (const AsDetails& d : AsDump()) {
      if (d.vip == vip && (d.flags & 1)) out[d.as] = {d.weight, d.num_buckets};
    }
    return out;
  }

  std::string Cli(const std::string& cmd, int32_t expect_retval = 0) {
    std::vector<Bytes> r = Send(Req("cli_inband")
                                    .U32(static_cast<uint32_t>(cmd.size()))
                                    .Raw(Bytes(cmd.begin(), cmd.end()))
                                    .Take());
    if (r.size() != 1) return "<no reply>";
    EXPECT_EQ(static_cast<int32_t>(Be32(&r[0][6])), expect_retval) << cmd;
    uint32_t n = Be32(&r[0][10]);
    EXPECT_EQ(r[0].size(), 14u + n);
    return std::string(r[0].begin() + 14, r[0].end());
  }

  double now = 0;
  std::unique_ptr<ApiHandler> handler;
  uint32_t reg = 0;
  uint32_t handle = 0;
  uint32_t context = 100;
  Handshake hs;
  bool last_dropped = false;
};

}  // namespace maglev::vppsim::testing
