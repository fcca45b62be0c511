// Codec tests: golden frames from shared/vpp-api/wire-examples.json, every
// field offset of every message against vpp-lb-messages.json, the §4.8 byte
// order quirks, and decoder robustness.
#include "vpp/messages.h"

#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "vpp/transport.h"

namespace maglev {
namespace {

namespace m = vppmsg;
using json = nlohmann::json;
using Bytes = std::vector<uint8_t>;

json LoadJson(const std::string& file) {
  std::ifstream in(std::string(MAGLEV_SHARED_DIR) + "/vpp-api/" + file);
  EXPECT_TRUE(in.good()) << "cannot open " << file;
  std::stringstream ss;
  ss << in.rdbuf();
  return json::parse(ss.str());
}

Bytes FromHex(const std::string& hex) {
  Bytes out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<uint8_t>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  return out;
}

std::string ToHex(const Bytes& b) {
  static const char* kDigits = "0123456789abcdef";
  std::string s;
  for (uint8_t c : b) {
    s.push_back(kDigits[c >> 4]);
    s.push_back(kDigits[c & 15]);
  }
  return s;
}

IpAddress Ip(const char* text) { return *IpAddress::Parse(text); }

// --- wire-examples.json -----------------------------------------------------

class WireExamplesTest : public ::testing::Test {
 protected:
  void SetUp() override { examples_ = LoadJson("wire-examples.json")["examples"]; }
  const json& Example(size_t i, const std::string& what_prefix) {
    EXPECT_LT(i, examples_.size());
    const json& e = examples_.at(i);
    EXPECT_EQ(e["what"].get<std::string>().rfind(what_prefix, 0), 0u) << e["what"];
    return e;
  }
  Bytes Payload(const json& e) {
    Bytes p = FromHex(e["payload_hex"].get<std::string>());
    EXPECT_EQ(p.size(), e["payload_len"].get<size_t>());
    return p;
  }
  // The frame header we produce for this payload must be the example's.
  void CheckFrameHeader(const json& e, const Bytes& payload) {
    if (!e.contains("frame_header_hex")) return;
    Bytes frame;
    AppendVppFrame(&frame, payload);
    ASSERT_EQ(frame.size(), 16 + payload.size());
    EXPECT_EQ(ToHex(Bytes(frame.begin(), frame.begin() + 16)),
              e["frame_header_hex"].get<std::string>());
  }
  json examples_;
};

TEST_F(WireExamplesTest, SockclntCreate) {
  const json& e = Example(0, "sockclnt_create name");
  Bytes want = Payload(e);
  m::SockclntCreate msg;
  msg.name = "lbctl";
  Bytes got = m::Encode(msg, {15, 0, 0x7b});
  EXPECT_EQ(ToHex(got), ToHex(want));
  CheckFrameHeader(e, got);
  m::Header h;
  auto back = m::Decode<m::SockclntCreate>(want, &h);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->name, "lbctl");
  EXPECT_EQ(h.msg_id, 15);
  EXPECT_EQ(h.context, 0x7bu);
}

TEST_F(WireExamplesTest, SockclntCreateReply) {
  const json& e = Example(1, "sockclnt_create_reply");
  Bytes want = Payload(e);
  m::SockclntCreateReply msg;
  msg.response = 0;
  msg.index = 0x80000001;
  msg.message_table = {{23, "control_ping_51077d14"},
                       {24, "control_ping_reply_f6b0b8ca"},
                       {0x0402, "lb_conf_get_51077d14"}};
  Bytes got = m::Encode(msg, {16, 0, 0x7b});
  EXPECT_EQ(ToHex(got), ToHex(want));
  CheckFrameHeader(e, got);
  m::Header h;
  auto back = m::Decode<m::SockclntCreateReply>(want, &h);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, msg);
  EXPECT_EQ(h.client_index, 0u);
  EXPECT_EQ(h.context, 0x7bu);
}

TEST_F(WireExamplesTest, ControlPing) {
  const json& e = Example(2, "control_ping ");
  Bytes want = Payload(e);
  Bytes got = m::Encode(m::ControlPing{}, {23, 0x80000000, 1});
  EXPECT_EQ(ToHex(got), ToHex(want));
  CheckFrameHeader(e, got);
  m::Header h;
  ASSERT_TRUE(m::Decode<m::ControlPing>(want, &h).ok());
  EXPECT_EQ(h, (m::Header{23, 0x80000000, 1}));
}

TEST_F(WireExamplesTest, ControlPingReply) {
  const json& e = Example(3, "control_ping_reply");
  Bytes want = Payload(e);
  m::ControlPingReply msg;
  msg.retval = 0;
  msg.client_index = 0x80000000;
  msg.vpe_pid = 12345;
  Bytes got = m::Encode(msg, {24, 0, 1});
  EXPECT_EQ(ToHex(got), ToHex(want));
  CheckFrameHeader(e, got);
  m::Header h;
  auto back = m::Decode<m::ControlPingReply>(want, &h);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, msg);
  EXPECT_EQ(h.context, 1u);
}

TEST_F(WireExamplesTest, LbAddDelVip) {
  const json& e = Example(4, "lb_add_del_vip ");
  Bytes want = Payload(e);
  m::LbAddDelVip msg;
  msg.pfx = {Ip("90.0.0.0"), 8};
  msg.protocol = 6;
  msg.port = 8298;
  msg.encap = m::EncapType::kGre4;
  msg.new_flows_table_length = 1024;
  Bytes got = m::Encode(msg, {0x0400, 0x80000000, 2});
  EXPECT_EQ(ToHex(got), ToHex(want));
  CheckFrameHeader(e, got);
  m::Header h;
  auto back = m::Decode<m::LbAddDelVip>(want, &h);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, msg);
  EXPECT_EQ(h, (m::Header{0x0400, 0x80000000, 2}));
}

TEST_F(WireExamplesTest, LbAddDelAsV2) {
  const json& e = Example(5, "lb_add_del_as_v2");
  Bytes want = Payload(e);
  m::LbAddDelAsV2 msg;
  msg.pfx = {Ip("2001::"), 16};
  msg.protocol = 6;
  msg.port = 80;
  msg.as_address = Ip("10.0.0.1");
  msg.weight = 50;
  Bytes got = m::Encode(msg, {0x040a, 0x80000000, 3});
  EXPECT_EQ(ToHex(got), ToHex(want));
  CheckFrameHeader(e, got);
  auto back = m::Decode<m::LbAddDelAsV2>(want);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, msg);
}

TEST_F(WireExamplesTest, LbVipDetails) {
  const json& e = Example(6, "lb_vip_details");
  Bytes want = Payload(e);
  m::LbVipDetails msg;
  msg.vip = {{Ip("90.0.0.0"), 8}, 255, 0};
  msg.encap = m::EncapType::kGre4;
  msg.flow_table_length = 1024;
  Bytes got = m::Encode(msg, {0x0411, 0, 4});
  EXPECT_EQ(ToHex(got), ToHex(want));
  m::Header h;
  auto back = m::Decode<m::LbVipDetails>(want, &h);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, msg);
  EXPECT_EQ(h.context, 4u);
}

TEST_F(WireExamplesTest, EveryExampleIsCovered) { EXPECT_EQ(examples_.size(), 7u); }

// --- layouts against vpp-lb-messages.json ---------------------------------

Bytes Be(uint64_t v, int n) {
  Bytes b;
  for (int i = n - 1; i >= 0; --i) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
  return b;
}
Bytes Str(const std::string& s, size_t n) {
  Bytes b(s.begin(), s.end());
  b.resize(n, 0);
  return b;
}
Bytes Cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}
// The 16-byte vl_api_address_union_t of an address (IPv4 first, zero-padded).
Bytes Un(const IpAddress& a) {
  if (a.is_v4()) return Cat({Bytes(a.v4_bytes(), a.v4_bytes() + 4), Bytes(12, 0)});
  return Bytes(a.ip46().begin(), a.ip46().end());
}
Bytes Af(const IpAddress& a) { return Bytes{static_cast<uint8_t>(a.is_v4() ? 0 : 1)}; }
Bytes Raw4(const IpAddress& a) { return Bytes(a.v4_bytes(), a.v4_bytes() + 4); }
Bytes Raw16(const IpAddress& a) { return Bytes(a.ip46().begin(), a.ip46().end()); }

constexpr m::Header kHdr{0x1234, 0x80000001, 0xa1b2c3d4};

struct LayoutCase {
  std::string name_crc;
  Bytes encoded;
  std::map<std::string, Bytes> fields;  // flat field name -> expected bytes
  bool roundtrip_ok = false;
};

template <typename M>
LayoutCase Case(const M& msg, std::map<std::string, Bytes> fields) {
  LayoutCase c;
  c.name_crc = std::string(M::kNameCrc);
  c.encoded = m::Encode(msg, kHdr);
  fields["_vl_msg_id"] = Be(kHdr.msg_id, 2);
  fields["context"] = Be(kHdr.context, 4);
  if (M::kHeader == m::HeaderKind::kWithClientIndex)
    fields["client_index"] = Be(kHdr.client_index, 4);
  c.fields = std::move(fields);
  m::Header h;
  auto back = m::Decode<M>(c.encoded, &h);
  m::Header want = kHdr;
  if (M::kHeader == m::HeaderKind::kContextOnly) want.client_index = 0;
  c.roundtrip_ok = back.ok() && *back == msg && h == want;
  return c;
}

// Vip prefix fields under a name prefix ("pfx." or "vip.pfx.").
void AddPrefix(std::map<std::string, Bytes>* f, const std::string& p, const m::Prefix& pfx) {
  (*f)[p + "address.af"] = Af(pfx.address);
  (*f)[p + "address.un"] = Un(pfx.address);
  (*f)[p + "len"] = Bytes{pfx.len};
}

template <typename M>
LayoutCase RetvalCase(int32_t retval) {
  M msg;
  msg.retval = retval;
  return Case(msg, {{"retval", Be(static_cast<uint32_t>(retval), 4)}});
}

std::vector<LayoutCase> AllLayoutCases() {
  const IpAddress v4 = Ip("192.0.2.80"), v6 = Ip("2001:db8::1"), as4 = Ip("198.51.100.10"),
                  as6 = Ip("2001:db8:0:1::10");
  std::vector<LayoutCase> cases;

  {
    m::GetFirstMsgId msg;
    msg.name = "lb_487dee0a";
    cases.push_back(Case(msg, {{"name", Str("lb_487dee0a", 64)}}));
  }
  {
    m::GetFirstMsgIdReply msg;
    msg.retval = -7;
    msg.first_msg_id = 0xffff;
    cases.push_back(Case(msg, {{"retval", Be(0xfffffff9, 4)}, {"first_msg_id", Be(0xffff, 2)}}));
  }
  cases.push_back(Case(m::ApiVersions{}, {}));
  {
    m::ApiVersionsReply msg;
    msg.retval = 0;
    msg.api_versions = {{1, 2, 3, "lb"}, {2, 1, 0, "memclnt"}};
    cases.push_back(
        Case(msg, {{"retval", Be(0, 4)},
                   {"count", Be(2, 4)},
                   {"api_versions", Cat({Be(1, 4), Be(2, 4), Be(3, 4), Str("lb", 64), Be(2, 4),
                                         Be(1, 4), Be(0, 4), Str("memclnt", 64)})}}));
  }
  {
    m::SockclntCreate msg;
    msg.name = "vpp-maglev";
    cases.push_back(Case(msg, {{"name", Str("vpp-maglev", 64)}}));
  }
  {
    m::SockclntCreateReply msg;
    msg.response = -1;
    msg.index = 0x80000005;
    msg.message_table = {{23, "control_ping_51077d14"}, {0x401, "lb_conf_56cd3261"}};
    cases.push_back(
        Case(msg, {{"response", Be(0xffffffff, 4)},
                   {"index", Be(0x80000005, 4)},
                   {"count", Be(2, 2)},
                   {"message_table", Cat({Be(23, 2), Str("control_ping_51077d14", 64), Be(0x401, 2),
                                          Str("lb_conf_56cd3261", 64)})}}));
  }
  {
    m::SockclntDelete msg;
    msg.index = 0x80000005;
    cases.push_back(Case(msg, {{"index", Be(0x80000005, 4)}}));
  }
  {
    m::SockclntDeleteReply msg;
    msg.response = 1;
    cases.push_back(Case(msg, {{"response", Be(1, 4)}}));
  }
  cases.push_back(Case(m::MemclntKeepalive{}, {}));
  cases.push_back(RetvalCase<m::MemclntKeepaliveReply>(-3));
  cases.push_back(Case(m::ControlPing{}, {}));
  {
    m::ControlPingReply msg;
    msg.retval = 0;
    msg.client_index = 0x80000007;
    msg.vpe_pid = 12345;
    cases.push_back(Case(
        msg,
        {{"retval", Be(0, 4)}, {"client_index", Be(0x80000007, 4)}, {"vpe_pid", Be(12345, 4)}}));
  }
  cases.push_back(Case(m::ShowVersion{}, {}));
  {
    m::ShowVersionReply msg;
    msg.retval = 0;
    msg.program = "vpe";
    msg.version = "26.10-rc0~374";
    msg.build_date = "2026-08-21T10:00:00";
    msg.build_directory = "/w/vpp";
    cases.push_back(Case(msg, {{"retval", Be(0, 4)},
                               {"program", Str("vpe", 32)},
                               {"version", Str("26.10-rc0~374", 32)},
                               {"build_date", Str("2026-08-21T10:00:00", 32)},
                               {"build_directory", Str("/w/vpp", 256)}}));
  }
  {
    m::CliInband msg;
    msg.cmd = "show lb vips verbose";
    cases.push_back(Case(msg, {{"cmd", Cat({Be(20, 4), Str("show lb vips verbose", 20)})}}));
  }
  {
    m::CliInbandReply msg;
    msg.retval = 0;
    msg.reply = "ok\n";
    cases.push_back(Case(msg, {{"retval", Be(0, 4)}, {"reply", Cat({Be(3, 4), Str("ok\n", 3)})}}));
  }
  {
    m::LbConf msg;
    msg.ip4_src_address = Ip("192.0.2.1");
    msg.ip6_src_address = v6;
    msg.sticky_buckets_per_core = 65536;
    msg.flow_timeout = 40;
    cases.push_back(Case(msg, {{"ip4_src_address", Raw4(Ip("192.0.2.1"))},
                               {"ip6_src_address", Raw16(v6)},
                               {"sticky_buckets_per_core", Be(65536, 4)},
                               {"flow_timeout", Be(40, 4)}}));
  }
  cases.push_back(RetvalCase<m::LbConfReply>(-70));
  cases.push_back(Case(m::LbConfGet{}, {}));
  {
    m::LbConfGetReply msg;
    msg.retval = 0;
    msg.ip4_src_address = Ip("39.40.41.42");
    msg.ip6_src_address = Ip("2004::1");
    msg.sticky_buckets_per_core = 1024;
    msg.flow_timeout = 40;
    cases.push_back(Case(msg, {{"retval", Be(0, 4)},
                               {"ip4_src_address", Raw4(Ip("39.40.41.42"))},
                               {"ip6_src_address", Raw16(Ip("2004::1"))},
                               {"sticky_buckets_per_core", Be(1024, 4)},
                               {"flow_timeout", Be(40, 4)}}));
  }
  {
    m::LbAddDelVip msg;
    msg.pfx = {v4, 32};
    msg.protocol = 6;
    msg.port = 80;
    msg.encap = m::EncapType::kL3dsr;
    msg.dscp = 10;
    msg.type = m::SrvType::kNodePort;
    msg.target_port = 3307;
    msg.node_port = 30000;
    msg.new_flows_table_length = 4096;
    msg.is_del = true;
    std::map<std::string, Bytes> f = {{"protocol", {6}},
                                      {"port", Be(80, 2)},
                                      {"encap", Be(2, 4)},
                                      {"dscp", {10}},
                                      // quirk 4.8/4: VPP reads only the first byte
                                      {"type", Bytes{1, 0, 0, 0}},
                                      {"target_port", Be(3307, 2)},
                                      {"node_port", Be(30000, 2)},
                                      {"new_flows_table_length", Be(4096, 4)},
                                      {"is_del", {1}}};
    AddPrefix(&f, "pfx.", msg.pfx);
    cases.push_back(Case(msg, f));
  }
  cases.push_back(RetvalCase<m::LbAddDelVipReply>(-81));
  {
    m::LbAddDelVipV2 msg;
    msg.pfx = {Ip("2001:db8::"), 32};
    msg.protocol = 17;
    msg.port = 53;
    msg.encap = m::EncapType::kGre6;
    msg.new_flows_table_length = 65536;
    msg.src_ip_sticky = true;
    std::map<std::string, Bytes> f = {
        {"protocol", {17}},      {"port", Be(53, 2)},
        {"encap", Be(1, 4)},     {"dscp", {0}},
        {"type", Be(0, 4)},      {"target_port", Be(0, 2)},
        {"node_port", Be(0, 2)}, {"new_flows_table_length", Be(65536, 4)},
        {"src_ip_sticky", {1}},  {"is_del", {0}}};
    AddPrefix(&f, "pfx.", msg.pfx);
    cases.push_back(Case(msg, f));
  }
  cases.push_back(RetvalCase<m::LbAddDelVipV2Reply>(-97));
  {
    m::LbAddDelAs msg;
    msg.pfx = {v4, 32};
    msg.protocol = 255;
    msg.port = 0;
    msg.as_address = as4;
    msg.is_del = false;
    msg.is_flush = true;
    std::map<std::string, Bytes> f = {
        {"protocol", {255}},        {"port", Be(0, 2)}, {"as_address.af", Af(as4)},
        {"as_address.un", Un(as4)}, {"is_del", {0}},    {"is_flush", {1}}};
    AddPrefix(&f, "pfx.", msg.pfx);
    cases.push_back(Case(msg, f));
  }
  cases.push_back(RetvalCase<m::LbAddDelAsReply>(-6));
  {
    m::LbAddDelAsV2 msg;
    msg.pfx = {v6, 128};
    msg.protocol = 6;
    msg.port = 443;
    msg.as_address = as6;
    msg.weight = 77;
    msg.is_del = true;
    std::map<std::string, Bytes> f = {{"protocol", {6}},          {"port", Be(443, 2)},
                                      {"as_address.af", Af(as6)}, {"as_address.un", Un(as6)},
                                      {"weight", {77}},           {"is_del", {1}},
                                      {"is_flush", {0}}};
    AddPrefix(&f, "pfx.", msg.pfx);
    cases.push_back(Case(msg, f));
  }
  cases.push_back(RetvalCase<m::LbAddDelAsV2Reply>(-81));
  {
    m::LbAsSetWeight msg;
    msg.pfx = {v4, 32};
    msg.protocol = 17;
    msg.port = 5353;
    msg.as_address = as4;
    msg.weight = 33;
    msg.is_flush = true;
    std::map<std::string, Bytes> f = {{"protocol", {17}},         {"port", Be(5353, 2)},
                                      {"as_address.af", Af(as4)}, {"as_address.un", Un(as4)},
                                      {"weight", {33}},           {"is_flush", {1}}};
    AddPrefix(&f, "pfx.", msg.pfx);
    cases.push_back(Case(msg, f));
  }
  cases.push_back(RetvalCase<m::LbAsSetWeightReply>(-6));
  {
    m::LbFlushVip msg;
    msg.pfx = {Ip("192.0.2.0"), 24};
    msg.protocol = 17;
    msg.port = 53;
    std::map<std::string, Bytes> f = {{"protocol", {17}}, {"port", Be(53, 2)}};
    AddPrefix(&f, "pfx.", msg.pfx);
    cases.push_back(Case(msg, f));
  }
  cases.push_back(RetvalCase<m::LbFlushVipReply>(0));
  {
    m::LbVipDump msg;
    msg.pfx = {Ip("2001:db8::"), 64};
    msg.pfx_matcher_le = 8;
    msg.pfx_matcher_ge = 9;
    msg.protocol = 255;
    msg.port = 0;
    std::map<std::string, Bytes> f = {
        {"pfx_matcher.le", {8}}, {"pfx_matcher.ge", {9}}, {"protocol", {255}}, {"port", Be(0, 2)}};
    AddPrefix(&f, "pfx.", msg.pfx);
    cases.push_back(Case(msg, f));
  }
  {
    m::LbVipDetails msg;
    msg.vip = {{v4, 32}, 6, 443};
    msg.encap = m::EncapType::kNat4;
    msg.dscp = 0;
    msg.srv_type = m::SrvType::kNodePort;
    msg.target_port = 3307;
    msg.flow_table_length = 0x8000;
    std::map<std::string, Bytes> f = {{"vip.protocol", {6}},
                                      {"vip.port", Be(443, 2)},
                                      {"encap", Be(3, 4)},
                                      {"dscp", {0}},
                                      // quirk 4.8/3: host-order u32 and a byte-swapped port
                                      {"srv_type", Bytes{1, 0, 0, 0}},
                                      {"target_port", Bytes{0xeb, 0x0c}},
                                      {"flow_table_length", Be(0x8000, 2)}};
    AddPrefix(&f, "vip.pfx.", msg.vip.pfx);
    cases.push_back(Case(msg, f));
  }
  {
    m::LbAsDump msg;  // all-zero filter = dump all
    std::map<std::string, Bytes> f = {{"protocol", {255}}, {"port", Be(0, 2)}};
    AddPrefix(&f, "pfx.", msg.pfx);
    cases.push_back(Case(msg, f));
  }
  {
    m::LbAsDetails msg;
    msg.vip = {{v6, 128}, 17, 53};
    msg.app_srv = as4;
    msg.flags = 1;
    msg.in_use_since = 0x01020304;
    std::map<std::string, Bytes> f = {{"vip.protocol", {17}},  {"vip.port", Be(53, 2)},
                                      {"app_srv.af", Af(as4)}, {"app_srv.un", Un(as4)},
                                      {"flags", {1}},          {"in_use_since", Be(0x01020304, 4)}};
    AddPrefix(&f, "vip.pfx.", msg.vip.pfx);
    cases.push_back(Case(msg, f));
  }
  {
    m::LbAsV2Dump msg;
    msg.pfx = {v6, 128};
    msg.protocol = 6;
    msg.port = 80;
    std::map<std::string, Bytes> f = {{"protocol", {6}}, {"port", Be(80, 2)}};
    AddPrefix(&f, "pfx.", msg.pfx);
    cases.push_back(Case(msg, f));
  }
  {
    m::LbAsV2Details msg;
    msg.vip = {{v4, 32}, 255, 0};
    msg.app_srv = as6;
    msg.flags = 0;
    msg.in_use_since = 77;
    msg.weight = 100;
    msg.num_buckets = 342;
    std::map<std::string, Bytes> f = {{"vip.protocol", {255}}, {"vip.port", Be(0, 2)},
                                      {"app_srv.af", Af(as6)}, {"app_srv.un", Un(as6)},
                                      {"flags", {0}},          {"in_use_since", Be(77, 4)},
                                      {"weight", {100}},       {"num_buckets", Be(342, 4)}};
    AddPrefix(&f, "vip.pfx.", msg.vip.pfx);
    cases.push_back(Case(msg, f));
  }
  return cases;
}

class LayoutTest : public ::testing::Test {
 protected:
  void SetUp() override {
    json doc = LoadJson("vpp-lb-messages.json");
    for (const auto& msg : doc["messages"]) by_name_crc_[msg["name_crc"].get<std::string>()] = msg;
  }
  std::map<std::string, json> by_name_crc_;
};

TEST_F(LayoutTest, NamesCrcsSizesAndFixedIdsMatchTheJson) {
  ASSERT_FALSE(by_name_crc_.empty());
  for (const auto& info : m::AllMessages()) {
    SCOPED_TRACE(std::string(info.name_crc));
    auto it = by_name_crc_.find(std::string(info.name_crc));
    ASSERT_NE(it, by_name_crc_.end()) << "name_crc not in vpp-lb-messages.json";
    const json& j = it->second;
    EXPECT_EQ(j["name"].get<std::string>(), info.name);
    EXPECT_EQ(j["fixed_size"].get<size_t>(), info.fixed_size);
    uint16_t fixed_id = j.contains("fixed_msg_id") ? j["fixed_msg_id"].get<uint16_t>() : 0;
    EXPECT_EQ(fixed_id, info.fixed_id);
    // Header kind: requests have client_index at offset 2.
    bool client_index_at_2 = false;
    for (const auto& f : j["flat_fields"]) {
      if (f["name"] == "client_index" && f["offset"] == 2) client_index_at_2 = true;
    }
    EXPECT_EQ(client_index_at_2, info.header == m::HeaderKind::kWithClientIndex);
  }
}

TEST_F(LayoutTest, EveryFieldOfEveryMessageIsAtItsDocumentedOffset) {
  auto cases = AllLayoutCases();
  EXPECT_EQ(cases.size(), m::AllMessages().size()) << "one layout case per message type";
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name_crc);
    EXPECT_TRUE(c.roundtrip_ok) << "decode(encode(x)) != x";
    auto it = by_name_crc_.find(c.name_crc);
    ASSERT_NE(it, by_name_crc_.end());
    const json& j = it->second;
    size_t fixed = j["fixed_size"].get<size_t>();
    bool variable = false;
    std::set<std::string> seen;
    for (const auto& f : j["flat_fields"]) {
      std::string name = f["name"].get<std::string>();
      SCOPED_TRACE(name);
      size_t offset = f["offset"].get<size_t>();
      auto exp = c.fields.find(name);
      ASSERT_NE(exp, c.fields.end()) << "test case does not cover this field";
      seen.insert(name);
      const Bytes& want = exp->second;
      if (f["size"].is_number()) {
        EXPECT_EQ(want.size(), f["size"].get<size_t>());
      } else {
        // Variable part (VLA or string[]): it is the last thing in the message.
        variable = true;
        EXPECT_EQ(c.encoded.size(), offset + want.size());
      }
      ASSERT_LE(offset + want.size(), c.encoded.size());
      Bytes got(c.encoded.begin() + static_cast<std::ptrdiff_t>(offset),
                c.encoded.begin() + static_cast<std::ptrdiff_t>(offset + want.size()));
      EXPECT_EQ(ToHex(got), ToHex(want));
    }
    EXPECT_EQ(seen.size(), c.fields.size()) << "test case lists fields the JSON does not have";
    if (!variable) {
      EXPECT_EQ(c.encoded.size(), fixed);
    }
  }
}

// --- quirks and robustness -------------------------------------------------

TEST(MessagesTest, VipDetailsQuirksDecode) {
  // NAT4 VIP 192.0.2.80/32 udp/53 NODEPORT target_port 3307, table 65536
  // (truncated to 0), as VPP master writes it.
  Bytes p =
      FromHex("04110000000900c000025000000000000000000000000020110035000000030001000000eb0c0000");
  auto d = m::Decode<m::LbVipDetails>(p);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->vip.pfx.address, Ip("192.0.2.80"));
  EXPECT_EQ(d->vip.pfx.len, 32);
  EXPECT_EQ(d->vip.protocol, 17);
  EXPECT_EQ(d->vip.port, 53);
  EXPECT_EQ(d->encap, m::EncapType::kNat4);
  EXPECT_EQ(d->srv_type, m::SrvType::kNodePort);
  EXPECT_EQ(d->target_port, 3307);
  EXPECT_EQ(d->flow_table_length, 0);
}

TEST(MessagesTest, TruncatedPayloadsAreErrorsForEveryMessage) {
  for (const auto& c : AllLayoutCases()) {
    SCOPED_TRACE(c.name_crc);
    for (size_t len = 0; len < c.encoded.size(); ++len) {
      Bytes cut(c.encoded.begin(), c.encoded.begin() + static_cast<std::ptrdiff_t>(len));
      // Decode through the matching type by name.
      absl::Status s;
      bool found = false;
      auto try_type = [&](auto tag) {
        using M = decltype(tag);
        if (c.name_crc != M::kNameCrc) return;
        found = true;
        s = m::Decode<M>(cut).status();
      };
      std::apply(
          [&](auto... t) { (try_type(t), ...); },
          std::tuple<m::GetFirstMsgId, m::GetFirstMsgIdReply, m::ApiVersions, m::ApiVersionsReply,
                     m::SockclntCreate, m::SockclntCreateReply, m::SockclntDelete,
                     m::SockclntDeleteReply, m::MemclntKeepalive, m::MemclntKeepaliveReply,
                     m::ControlPing, m::ControlPingReply, m::ShowVersion, m::ShowVersionReply,
                     m::CliInband, m::CliInbandReply, m::LbConf, m::LbConfReply, m::LbConfGet,
                     m::LbConfGetReply, m::LbAddDelVip, m::LbAddDelVipReply, m::LbAddDelVipV2,
                     m::LbAddDelVipV2Reply, m::LbAddDelAs, m::LbAddDelAsReply, m::LbAddDelAsV2,
                     m::LbAddDelAsV2Reply, m::LbAsSetWeight, m::LbAsSetWeightReply, m::LbFlushVip,
                     m::LbFlushVipReply, m::LbVipDump, m::LbVipDetails, m::LbAsDump, m::LbAsDetails,
                     m::LbAsV2Dump, m::LbAsV2Details>{});
      ASSERT_TRUE(found);
      EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << "length " << len;
    }
  }
}

TEST(MessagesTest, TrailingBytesAreIgnoredLikeVppDoes) {
  Bytes p = m::Encode(m::LbAddDelAsV2Reply{}, {0x40b, 0, 9});
  p.push_back(0xee);
  m::Header h;
  auto d = m::Decode<m::LbAddDelAsV2Reply>(p, &h);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(h.context, 9u);
}

TEST(MessagesTest, MessageTableCountBeyondPayloadIsAnError) {
  m::SockclntCreateReply msg;
  msg.message_table = {{23, "control_ping_51077d14"}};
  Bytes p = m::Encode(msg, {16, 0, 1});
  p[18] = 0x03;  // count = 0x0301 entries, only one present
  p[19] = 0x01;
  auto d = m::Decode<m::SockclntCreateReply>(p);
  EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(d.status().message().find("message table count 769"), absl::string_view::npos)
      << d.status();
  // One entry short by a byte is an error too.
  p[18] = 0;
  p[19] = 1;
  p.pop_back();
  EXPECT_FALSE(m::Decode<m::SockclntCreateReply>(p).ok());
}

TEST(MessagesTest, HugeApiVersionsCountIsAnErrorWithoutAllocating) {
  Bytes p = m::Encode(m::ApiVersionsReply{}, {13, 0, 1});
  p[10] = p[11] = p[12] = p[13] = 0xff;  // count = 4294967295
  EXPECT_EQ(m::Decode<m::ApiVersionsReply>(p).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(MessagesTest, HugeStringLengthIsAnError) {
  m::CliInbandReply msg;
  msg.reply = "abc";
  Bytes p = m::Encode(msg, {0x500, 0, 1});
  p[10] = 0xff;  // length 0xff000003
  EXPECT_EQ(m::Decode<m::CliInbandReply>(p).status().code(), absl::StatusCode::kInvalidArgument);
  p[10] = 0;
  p[13] = 4;  // one more byte than present
  EXPECT_FALSE(m::Decode<m::CliInbandReply>(p).ok());
  p[13] = 3;
  auto ok = m::Decode<m::CliInbandReply>(p);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->reply, "abc");
}

TEST(MessagesTest, BadAddressFamilyAndPrefixLengthsAreErrors) {
  m::LbAsDetails msg;
  msg.vip = {{Ip("192.0.2.0"), 24}, 6, 80};
  msg.app_srv = Ip("10.0.0.1");
  Bytes good = m::Encode(msg, {0x413, 0, 1});
  ASSERT_TRUE(m::Decode<m::LbAsDetails>(good).ok());

  Bytes bad_af = good;
  bad_af[6] = 7;  // vip.pfx.address.af
  auto d = m::Decode<m::LbAsDetails>(bad_af);
  EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(d.status().message().find("address family 7"), absl::string_view::npos);

  Bytes bad_app_af = good;
  bad_app_af[27] = 2;  // app_srv.af
  EXPECT_FALSE(m::Decode<m::LbAsDetails>(bad_app_af).ok());

  Bytes v4_len_33 = good;
  v4_len_33[23] = 33;
  EXPECT_FALSE(m::Decode<m::LbAsDetails>(v4_len_33).ok());

  msg.vip.pfx = {Ip("2001:db8::"), 128};
  Bytes v6 = m::Encode(msg, {0x413, 0, 1});
  ASSERT_TRUE(m::Decode<m::LbAsDetails>(v6).ok());
  v6[23] = 129;
  EXPECT_FALSE(m::Decode<m::LbAsDetails>(v6).ok());
}

TEST(MessagesTest, FixedStringsStopAtNulAndTruncateOnEncode) {
  m::ShowVersionReply msg;
  msg.version = std::string(40, 'v');  // longer than the 32-byte field
  Bytes p = m::Encode(msg, {0x300, 0, 1});
  ASSERT_EQ(p.size(), m::ShowVersionReply::kFixedSize);
  EXPECT_EQ(p[42 + 31], 0) << "last byte of the field stays NUL";
  // Junk after the NUL (VPP does not clear the buffer) is ignored.
  p[10 + 3] = 0;
  p[10 + 4] = 'X';
  p[10 + 5] = 'Y';
  p[10] = 'v';
  p[11] = 'p';
  p[12] = 'e';
  auto d = m::Decode<m::ShowVersionReply>(p);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->program, "vpe");
  EXPECT_EQ(d->version, std::string(31, 'v'));
  // A field without any NUL decodes to its full width.
  for (int i = 0; i < 32; ++i) p[74 + i] = 'd';
  d = m::Decode<m::ShowVersionReply>(p);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->build_date, std::string(32, 'd'));
}

}  // namespace
}  // namespace maglev
