// Typed VPP binary-API messages used by the controller (memclnt handshake and
// liveness, vpe show_version, vlib cli_inband, the lb plugin 1.2.0 / 1.1.0) and
// their encoders/decoders. Layouts follow shared/vpp-api/PROTOCOL.md §3 and
// vpp-lb-messages.json: packed, big-endian, with the byte-order quirks of
// §4.8 reproduced where VPP has them. Every message can be both encoded and
// decoded (the reverse direction serves test servers and the fuzzer).
//
// A payload is: u16 BE message id, then either `client_index, context`
// (HeaderKind::kWithClientIndex: requests, and sockclnt_create_reply) or
// `context` alone (HeaderKind::kContextOnly: replies, details,
// sockclnt_create), then the body. Decoders accept trailing bytes (as VPP
// does) but never read past the payload: short payloads, VLA counts or string
// lengths that exceed the payload, unknown address families and out-of-range
// prefix lengths are reported as InvalidArgument.
//
// Pure; no I/O; thread-agnostic.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "common/ip_address.h"
#include "vpp/wire.h"

namespace maglev::vppmsg {

// Debian's Abseil has its own string_view type (not std::string_view): this
// bridges our std::string_view constants into absl::StrCat and friends.
inline absl::string_view Sv(std::string_view s) { return absl::string_view(s.data(), s.size()); }

enum class HeaderKind { kWithClientIndex, kContextOnly };

// The leading fields common to every message. `client_index` is only on the
// wire for HeaderKind::kWithClientIndex messages.
struct Header {
  uint16_t msg_id = 0;
  uint32_t client_index = 0;
  uint32_t context = 0;
  friend bool operator==(const Header&, const Header&) = default;
};

// vl_api_address_family_t values.
inline constexpr uint8_t kAddressIp4 = 0;
inline constexpr uint8_t kAddressIp6 = 1;
// vl_api_ip_proto_t values used by lb.
inline constexpr uint8_t kProtoTcp = 6;
inline constexpr uint8_t kProtoUdp = 17;
inline constexpr uint8_t kProtoAny = 255;  // lb: all protocols / all ports

// vl_api_lb_encap_type_t (u32 on the wire). Any u32 can be represented.
enum class EncapType : uint32_t { kGre4 = 0, kGre6 = 1, kL3dsr = 2, kNat4 = 3, kNat6 = 4 };
// vl_api_lb_srv_type_t (u32; see the byte-order quirk on LbAddDelVip::type).
enum class SrvType : uint32_t { kClusterIp = 0, kNodePort = 1 };

// vl_api_prefix_t: 17-byte vl_api_address_t (af + 16-byte union, IPv4 in the
// first four bytes) followed by u8 len.
struct Prefix {
  IpAddress address;
  uint8_t len = 0;
  friend bool operator==(const Prefix&, const Prefix&) = default;
};

// vl_api_lb_vip_t: prefix, u8 protocol, u16 BE port (21 bytes).
struct LbVip {
  Prefix pfx;
  uint8_t protocol = kProtoAny;
  uint16_t port = 0;
  friend bool operator==(const LbVip&, const LbVip&) = default;
};

// Field codecs shared by the messages (exposed for tests).
void EncodeAddress(WireWriter& w, const IpAddress& a);
IpAddress DecodeAddress(WireReader& r);
void EncodePrefix(WireWriter& w, const Prefix& p);
Prefix DecodePrefix(WireReader& r);
void EncodeLbVip(WireWriter& w, const LbVip& v);
LbVip DecodeLbVip(WireReader& r);

// ---------------------------------------------------------------------------
// Message definitions. Each has kName, kNameCrc (the key into the
// sockclnt_create_reply table), kFixedId (memclnt fixed id, 0 = dynamic),
// kHeader, kFixedSize (bytes without variable-length parts), EncodeBody and
// DecodeBody.

#define MAGLEV_VPP_MESSAGE(Type, name, crc, fixed_id, header, fixed_size) \
  static constexpr std::string_view kName = name;                         \
  static constexpr std::string_view kNameCrc = name "_" crc;              \
  static constexpr uint16_t kFixedId = fixed_id;                          \
  static constexpr HeaderKind kHeader = HeaderKind::header;               \
  static constexpr size_t kFixedSize = fixed_size;                        \
  friend bool operator==(const Type&, const Type&) = default

// --- memclnt ---------------------------------------------------------------

struct SockclntCreate {
  MAGLEV_VPP_MESSAGE(SockclntCreate, "sockclnt_create", "455fb9c4", 15, kContextOnly, 70);
  std::string name;  // string[64]
  void EncodeBody(WireWriter& w) const;
  void DecodeBody(WireReader& r);
};

struct MessageTableEntry {
  uint16_t index = 0;
  std::string name;  // "<message>_<crc>", string[64]
  friend bool operator==(const MessageTableEntry&, const MessageTableEntry&) = default;
};
inline constexpr size_t kMessageTableEntrySize = 66;

struct SockclntCreateReply {
  MAGLEV_VPP_MESSAGE(SockclntCreateReply, "sockclnt_create_reply", "35166268", 16, kWithClientIndex,
                     20);
  int32_t response = 0;
  uint32_t index = 0;                            // the client handle to use as client_index
  std::vector<MessageTableEntry> message_table;  // u16 count + 66-byte entries
  void EncodeBody(WireWriter& w) const;
  void DecodeBody(WireReader& r);
};

struct SockclntDelete {
  MAGLEV_VPP_MESSAGE(SockclntDelete, "sockclnt_delete", "8ac76db6", 17, kWithClientIndex, 14);
  uint32_t index = 0;
  void EncodeBody(WireWriter& w) const { w.U32(index); }
  void DecodeBody(WireReader& r) { index = r.U32(); }
};

struct SockclntDeleteReply {
  MAGLEV_VPP_MESSAGE(SockclntDeleteReply, "sockclnt_delete_reply", "8f38b1ee", 18, kContextOnly,
                     10);
  int32_t response = 0;  // 1 on success (quirk 11)
  void EncodeBody(WireWriter& w) const { w.I32(response); }
  void DecodeBody(WireReader& r) { response = r.I32(); }
};

struct ControlPing {
  MAGLEV_VPP_MESSAGE(ControlPing, "control_ping", "51077d14", 23, kWithClientIndex, 10);
  void EncodeBody(WireWriter&) const {}
  void DecodeBody(WireReader&) {}
};

struct ControlPingReply {
  MAGLEV_VPP_MESSAGE(ControlPingReply, "control_ping_reply", "f6b0b8ca", 24, kContextOnly, 18);
  int32_t retval = 0;
  uint32_t client_index = 0;  // body field (echo of the request's)
  uint32_t vpe_pid = 0;
  void EncodeBody(WireWriter& w) const {
    w.I32(retval);
    w.U32(client_index);
    w.U32(vpe_pid);
  }
  void DecodeBody(WireReader& r) {
    retval = r.I32();
    client_index = r.U32();
    vpe_pid = r.U32();
  }
};

struct MemclntKeepalive {
  MAGLEV_VPP_MESSAGE(MemclntKeepalive, "memclnt_keepalive", "51077d14", 21, kWithClientIndex, 10);
  void EncodeBody(WireWriter&) const {}
  void DecodeBody(WireReader&) {}
};

// Every "autoreply" reply: context + retval (10 bytes).
struct RetvalBody {
  int32_t retval = 0;
  void EncodeBody(WireWriter& w) const { w.I32(retval); }
  void DecodeBody(WireReader& r) { retval = r.I32(); }
  friend bool operator==(const RetvalBody&, const RetvalBody&) = default;
};

struct MemclntKeepaliveReply : RetvalBody {
  MAGLEV_VPP_MESSAGE(MemclntKeepaliveReply, "memclnt_keepalive_reply", "e8d4e804", 22, kContextOnly,
                     10);
};

struct GetFirstMsgId {
  MAGLEV_VPP_MESSAGE(GetFirstMsgId, "get_first_msg_id", "ebf79a66", 10, kWithClientIndex, 74);
  std::string name;  // string[64]
  void EncodeBody(WireWriter& w) const { w.FixedString(name, 64); }
  void DecodeBody(WireReader& r) { name = r.FixedString(64); }
};

struct GetFirstMsgIdReply {
  MAGLEV_VPP_MESSAGE(GetFirstMsgIdReply, "get_first_msg_id_reply", "7d337472", 11, kContextOnly,
                     12);
  int32_t retval = 0;
  uint16_t first_msg_id = 0;
  void EncodeBody(WireWriter& w) const {
    w.I32(retval);
    w.U16(first_msg_id);
  }
  void DecodeBody(WireReader& r) {
    retval = r.I32();
    first_msg_id = r.U16();
  }
};

struct ApiVersions {
  MAGLEV_VPP_MESSAGE(ApiVersions, "api_versions", "51077d14", 12, kWithClientIndex, 10);
  void EncodeBody(WireWriter&) const {}
  void DecodeBody(WireReader&) {}
};

struct ModuleVersion {
  uint32_t major = 0, minor = 0, patch = 0;
  std::string name;  // string[64]
  friend bool operator==(const ModuleVersion&, const ModuleVersion&) = default;
};
inline constexpr size_t kModuleVersionSize = 76;

struct ApiVersionsReply {
  MAGLEV_VPP_MESSAGE(ApiVersionsReply, "api_versions_reply", "5f0d99d6", 13, kContextOnly, 14);
  int32_t retval = 0;
  std::vector<ModuleVersion> api_versions;  // u32 count + 76-byte entries
  void EncodeBody(WireWriter& w) const;
  void DecodeBody(WireReader& r);
};

// --- vpe / vlib --------------------------------------------------------------

struct ShowVersion {
  MAGLEV_VPP_MESSAGE(ShowVersion, "show_version", "51077d14", 0, kWithClientIndex, 10);
  void EncodeBody(WireWriter&) const {}
  void DecodeBody(WireReader&) {}
};

struct ShowVersionReply {
  MAGLEV_VPP_MESSAGE(ShowVersionReply, "show_version_reply", "c919bde1", 0, kContextOnly, 362);
  int32_t retval = 0;
  std::string program;          // string[32]
  std::string version;          // string[32]
  std::string build_date;       // string[32]
  std::string build_directory;  // string[256]
  void EncodeBody(WireWriter& w) const;
  void DecodeBody(WireReader& r);
};

struct CliInband {
  MAGLEV_VPP_MESSAGE(CliInband, "cli_inband", "f8377302", 0, kWithClientIndex, 14);
  std::string cmd;  // string[] (u32 BE length + bytes)
  void EncodeBody(WireWriter& w) const { w.VarString(cmd); }
  void DecodeBody(WireReader& r) { cmd = r.VarString(); }
};

struct CliInbandReply {
  MAGLEV_VPP_MESSAGE(CliInbandReply, "cli_inband_reply", "05879051", 0, kContextOnly, 14);
  int32_t retval = 0;
  std::string reply;  // string[]
  void EncodeBody(WireWriter& w) const {
    w.I32(retval);
    w.VarString(reply);
  }
  void DecodeBody(WireReader& r) {
    retval = r.I32();
    reply = r.VarString();
  }
};

// --- lb ----------------------------------------------------------------------

struct LbConf {
  MAGLEV_VPP_MESSAGE(LbConf, "lb_conf", "56cd3261", 0, kWithClientIndex, 38);
  IpAddress ip4_src_address;             // 4 raw bytes (must be IPv4 to encode meaningfully)
  IpAddress ip6_src_address;             // 16 raw bytes
  uint32_t sticky_buckets_per_core = 0;  // 0xffffffff = keep
  uint32_t flow_timeout = 0;             // seconds; 0xffffffff = keep
  void EncodeBody(WireWriter& w) const;
  void DecodeBody(WireReader& r);
};

struct LbConfReply : RetvalBody {
  MAGLEV_VPP_MESSAGE(LbConfReply, "lb_conf_reply", "e8d4e804", 0, kContextOnly, 10);
};

struct LbConfGet {
  MAGLEV_VPP_MESSAGE(LbConfGet, "lb_conf_get", "51077d14", 0, kWithClientIndex, 10);
  void EncodeBody(WireWriter&) const {}
  void DecodeBody(WireReader&) {}
};

struct LbConfGetReply {
  MAGLEV_VPP_MESSAGE(LbConfGetReply, "lb_conf_get_reply", "923427ac", 0, kContextOnly, 38);
  int32_t retval = 0;
  IpAddress ip4_src_address;
  IpAddress ip6_src_address;
  uint32_t sticky_buckets_per_core = 0;
  uint32_t flow_timeout = 0;
  void EncodeBody(WireWriter& w) const;
  void DecodeBody(WireReader& r);
};

// lb_add_del_vip. `type` (lb_srv_type, u32) is encoded in the form VPP
// actually reads: only the first wire byte counts (quirk 4.8/4), so the value
// goes little-endian (NODEPORT = 01 00 00 00); decoding mirrors that.
struct LbAddDelVip {
  MAGLEV_VPP_MESSAGE(LbAddDelVip, "lb_add_del_vip", "6fa569c7", 0, kWithClientIndex, 49);
  Prefix pfx;
  uint8_t protocol = kProtoAny;
  uint16_t port = 0;
  EncapType encap = EncapType::kGre4;
  uint8_t dscp = 0;
  SrvType type = SrvType::kClusterIp;
  uint16_t target_port = 0;
  uint16_t node_port = 0;
  uint32_t new_flows_table_length = 0;  // never send 0 (quirk 8)
  bool is_del = false;
  void EncodeBody(WireWriter& w) const;
  void DecodeBody(WireReader& r);
};

struct LbAddDelVipReply : RetvalBody {
  MAGLEV_VPP_MESSAGE(LbAddDelVipReply, "lb_add_del_vip_reply", "e8d4e804", 0, kContextOnly, 10);
};

struct LbAddDelVipV2 {
  MAGLEV_VPP_MESSAGE(LbAddDelVipV2, "lb_add_del_vip_v2", "7c520e0f", 0, kWithClientIndex, 50);
  Prefix pfx;
  uint8_t protocol = kProtoAny;
  uint16_t port = 0;
  EncapType encap = EncapType::kGre4;
  uint8_t dscp = 0;
  SrvType type = SrvType::kClusterIp;  // same quirk as LbAddDelVip::type
  uint16_t target_port = 0;
  uint16_t node_port = 0;
  uint32_t new_flows_table_length = 0;
  bool src_ip_sticky = false;
  bool is_del = false;
  void EncodeBody(WireWriter& w) const;
  void DecodeBody(WireReader& r);
};

struct LbAddDelVipV2Reply : RetvalBody {
  MAGLEV_VPP_MESSAGE(LbAddDelVipV2Reply, "lb_add_del_vip_v2_reply", "e8d4e804", 0, kContextOnly,
                     10);
};

struct LbAddDelAs {
  MAGLEV_VPP_MESSAGE(LbAddDelAs, "lb_add_del_as", "35d72500", 0, kWithClientIndex, 50);
  Prefix pfx;
  uint8_t protocol = kProtoAny;
  uint16_t port = 0;
  IpAddress as_address;
  bool is_del = false;
  bool is_flush = false;
  void EncodeBody(WireWriter& w) const;
  void DecodeBody(WireReader& r);
};

struct LbAddDelAsReply : RetvalBody {
  MAGLEV_VPP_MESSAGE(LbAddDelAsReply, "lb_add_del_as_reply", "e8d4e804", 0, kContextOnly, 10);
};

struct LbAddDelAsV2 {
  MAGLEV_VPP_MESSAGE(LbAddDelAsV2, "lb_add_del_as_v2", "2f1d3b0e", 0, kWithClientIndex, 51);
  Prefix pfx;
  uint8_t protocol = kProtoAny;
  uint16_t port = 0;
  IpAddress as_address;
  uint8_t weight = 0;
  bool is_del = false;
  bool is_flush = false;
  void EncodeBody(WireWriter& w) const;
  void DecodeBody(WireReader& r);
};

struct LbAddDelAsV2Reply : RetvalBody {
  MAGLEV_VPP_MESSAGE(LbAddDelAsV2Reply, "lb_add_del_as_v2_reply", "e8d4e804", 0, kContextOnly, 10);
};

struct LbAsSetWeight {
  MAGLEV_VPP_MESSAGE(LbAsSetWeight, "lb_as_set_weight", "2d89bdbd", 0, kWithClientIndex, 50);
  Prefix pfx;
  uint8_t protocol = kProtoAny;
  uint16_t port = 0;
  IpAddress as_address;
  uint8_t weight = 0;
  bool is_flush = false;
  void EncodeBody(WireWriter& w) const;
  void DecodeBody(WireReader& r);
};

struct LbAsSetWeightReply : RetvalBody {
  MAGLEV_VPP_MESSAGE(LbAsSetWeightReply, "lb_as_set_weight_reply", "e8d4e804", 0, kContextOnly, 10);
};

// lb_flush_vip, lb_as_dump and lb_as_v2_dump share one body: pfx, protocol, port.
struct VipFilterBody {
  Prefix pfx;
  uint8_t protocol = kProtoAny;
  uint16_t port = 0;
  void EncodeBody(WireWriter& w) const;
  void DecodeBody(WireReader& r);
  friend bool operator==(const VipFilterBody&, const VipFilterBody&) = default;
};

struct LbFlushVip : VipFilterBody {
  MAGLEV_VPP_MESSAGE(LbFlushVip, "lb_flush_vip", "1063f819", 0, kWithClientIndex, 31);
};

struct LbFlushVipReply : RetvalBody {
  MAGLEV_VPP_MESSAGE(LbFlushVipReply, "lb_flush_vip_reply", "e8d4e804", 0, kContextOnly, 10);
};

// All fields are ignored by VPP (quirk 1): every active VIP is dumped.
struct LbVipDump {
  MAGLEV_VPP_MESSAGE(LbVipDump, "lb_vip_dump", "56110cb7", 0, kWithClientIndex, 33);
  Prefix pfx;
  uint8_t pfx_matcher_le = 0;
  uint8_t pfx_matcher_ge = 0;
  uint8_t protocol = kProtoAny;
  uint16_t port = 0;
  void EncodeBody(WireWriter& w) const;
  void DecodeBody(WireReader& r);
};

// lb_vip_details with VPP's byte orders (quirk 3): srv_type is a host-order
// (little-endian) u32, target_port is little-endian, flow_table_length is the
// table length truncated to 16 bits (BE).
struct LbVipDetails {
  MAGLEV_VPP_MESSAGE(LbVipDetails, "lb_vip_details", "1329ec9b", 0, kContextOnly, 40);
  LbVip vip;
  EncapType encap = EncapType::kGre4;
  uint8_t dscp = 0;
  SrvType srv_type = SrvType::kClusterIp;
  uint16_t target_port = 0;
  uint16_t flow_table_length = 0;
  void EncodeBody(WireWriter& w) const;
  void DecodeBody(WireReader& r);
};

// A zero address union (any af) means "dump all" (quirk 2).
struct LbAsDump : VipFilterBody {
  MAGLEV_VPP_MESSAGE(LbAsDump, "lb_as_dump", "1063f819", 0, kWithClientIndex, 31);
};

struct LbAsDetails {
  MAGLEV_VPP_MESSAGE(LbAsDetails, "lb_as_details", "8d24c29e", 0, kContextOnly, 49);
  LbVip vip;
  IpAddress app_srv;
  uint8_t flags = 0;  // bit 0 = active
  uint32_t in_use_since = 0;
  void EncodeBody(WireWriter& w) const;
  void DecodeBody(WireReader& r);
};

struct LbAsV2Dump : VipFilterBody {
  MAGLEV_VPP_MESSAGE(LbAsV2Dump, "lb_as_v2_dump", "1063f819", 0, kWithClientIndex, 31);
};

struct LbAsV2Details {
  MAGLEV_VPP_MESSAGE(LbAsV2Details, "lb_as_v2_details", "90064aae", 0, kContextOnly, 54);
  LbVip vip;
  IpAddress app_srv;
  uint8_t flags = 0;
  uint32_t in_use_since = 0;
  uint8_t weight = 0;
  uint32_t num_buckets = 0;
  void EncodeBody(WireWriter& w) const;
  void DecodeBody(WireReader& r);
};

// --- ip (ip.api 3.2.0; STATS.md 4.3) ----------------------------------------

// ip_route_lookup: the FIB entry of `prefix` in `table_id` (exact match, or
// longest prefix with exact = 0); its reply carries the route's
// stats_index, which keys /net/route/to in the stats segment.
struct IpRouteLookup {
  MAGLEV_VPP_MESSAGE(IpRouteLookup, "ip_route_lookup", "710d6471", 0, kWithClientIndex, 33);
  uint32_t table_id = 0;
  uint8_t exact = 1;
  Prefix prefix;
  void EncodeBody(WireWriter& w) const {
    w.U32(table_id);
    w.U8(exact);
    EncodePrefix(w, prefix);
  }
  void DecodeBody(WireReader& r) {
    table_id = r.U32();
    exact = r.U8();
    prefix = DecodePrefix(r);
  }
};

// Its reply: retval (-6 = no such route), then vl_api_ip_route_t: table_id,
// stats_index, prefix, n_paths and n_paths vl_api_fib_path_t of 167 bytes
// each (checked against the payload and skipped: maglevd only needs the
// stats_index).
struct IpRouteLookupReply {
  MAGLEV_VPP_MESSAGE(IpRouteLookupReply, "ip_route_lookup_reply", "5d8febcb", 0, kContextOnly, 37);
  static constexpr size_t kFibPathSize = 167;
  int32_t retval = 0;
  uint32_t table_id = 0;
  uint32_t stats_index = 0;
  Prefix prefix;
  uint8_t n_paths = 0;  // paths are not kept; encoded as zero bytes
  void EncodeBody(WireWriter& w) const;
  void DecodeBody(WireReader& r);
};

#undef MAGLEV_VPP_MESSAGE

// ---------------------------------------------------------------------------
// Generic encode/decode.

// Writes the header (msg id, [client_index,] context) of message type M.
template <typename M>
void EncodeHeader(WireWriter& w, const Header& h) {
  w.U16(h.msg_id);
  if constexpr (M::kHeader == HeaderKind::kWithClientIndex) w.U32(h.client_index);
  w.U32(h.context);
}

// Appends the full payload (header + body) of `m` to `out`.
template <typename M>
void EncodeTo(std::vector<uint8_t>* out, const M& m, const Header& h) {
  WireWriter w(out);
  EncodeHeader<M>(w, h);
  m.EncodeBody(w);
}

// Returns the full payload (header + body) of `m`.
template <typename M>
std::vector<uint8_t> Encode(const M& m, const Header& h) {
  std::vector<uint8_t> out;
  out.reserve(M::kFixedSize);
  EncodeTo(&out, m, h);
  return out;
}

// Decodes a payload as message type M (the message id is returned in
// `header`, not checked: the caller maps ids to types). Errors name M.
template <typename M>
absl::StatusOr<M> Decode(const uint8_t* data, size_t size, Header* header = nullptr) {
  if (size < M::kFixedSize) {
    return absl::InvalidArgumentError(absl::StrCat("malformed ", Sv(M::kName), ": payload of ",
                                                   size, " bytes, fixed size is ", M::kFixedSize));
  }
  WireReader r(data, size);
  Header h;
  h.msg_id = r.U16();
  if constexpr (M::kHeader == HeaderKind::kWithClientIndex) h.client_index = r.U32();
  h.context = r.U32();
  M m;
  m.DecodeBody(r);
  if (!r.ok()) return r.status(M::kName);
  if (header) *header = h;
  return m;
}

template <typename M>
absl::StatusOr<M> Decode(const std::vector<uint8_t>& payload, Header* header = nullptr) {
  return Decode<M>(payload.data(), payload.size(), header);
}

// Peeks at the message id of a payload (0 if shorter than 2 bytes).
uint16_t PeekMsgId(const uint8_t* data, size_t size);

// Static description of one message type (for tables and tests).
struct MessageInfo {
  std::string_view name;
  std::string_view name_crc;
  uint16_t fixed_id;
  HeaderKind header;
  size_t fixed_size;
};

// Every message type defined above.
const std::vector<MessageInfo>& AllMessages();

}  // namespace maglev::vppmsg
