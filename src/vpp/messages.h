// Typed VPP binary-API messages used by the controller (memclnt handshake and
// liveness, vpe show_version, vlib cli_inband, the lb plugin 1.2.0 / 1.1.0) and
// their table-driven codec. Layouts follow shared/vpp-api/PROTOCOL.md §3 and
// vpp-lb-messages.json: packed, big-endian, with the byte-order quirks of
// §4.8 reproduced where VPP has them. Every message can be both encoded and
// decoded (the reverse direction serves test servers and the fuzzer).
//
// Each message is a struct whose one field list (kFields, built with F() and
// Base()) drives its encoder, its decoder, its fixed size and its flat
// layout (the (name, offset, size) rows vpp-lb-messages.json lists). A field
// is encoded by the natural codec of its C++ type (Codec<T>: integers and
// enums big-endian, bool as one byte, IpAddress as vl_api_address_t, and any
// struct with its own kFields, such as Prefix and LbVip) unless the field
// names another wire format (Le, Str<N>, VarStr, Ip4Raw, Ip6Raw, Vla<Count>).
// docs/design.md ("VPP codec") has the recipe for adding a message.
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
#include <tuple>
#include <type_traits>
#include <utility>
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

constexpr size_t HeaderSize(HeaderKind k) { return k == HeaderKind::kWithClientIndex ? 10 : 6; }

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

// ---------------------------------------------------------------------------
// The codec machinery.

// One row of a message's flat layout: a leaf field at `offset`, `size` bytes
// long, or a variable-length part (VLA or string[]) when `variable`.
struct FlatField {
  std::string name;  // dotted like vpp-lb-messages.json: "pfx.address.af"
  size_t offset = 0;
  size_t size = 0;
  bool variable = false;
};

// Collects FlatFields in wire order.
class LayoutBuilder {
 public:
  explicit LayoutBuilder(size_t start = 0) : offset_(start) {}
  void Leaf(std::string name, size_t size) {
    out_.push_back({std::move(name), offset_, size, false});
    offset_ += size;
  }
  void Variable(std::string name) { out_.push_back({std::move(name), offset_, 0, true}); }
  std::vector<FlatField> Take() { return std::move(out_); }

 private:
  size_t offset_;
  std::vector<FlatField> out_;
};

// "a.b" for a nested field name, "b" at the top level (or for a Base()).
inline std::string Join(const std::string& prefix, std::string_view name) {
  return prefix.empty() ? std::string(name) : absl::StrCat(prefix, ".", Sv(name));
}

// The natural wire codec of a C++ type: kFixedSize, Encode, Decode, Layout.
// Structs with a kFields list get the generic one below.
template <typename T>
struct Codec;

template <typename T>
requires std::is_integral_v<T> || std::is_enum_v<T>
struct Codec<T> {
  static constexpr size_t kFixedSize = std::is_same_v<T, bool> ? 1 : sizeof(T);
  static_assert(kFixedSize == 1 || kFixedSize == 2 || kFixedSize == 4 || kFixedSize == 8);
  static void Encode(WireWriter& w, const T& v) {
    if constexpr (std::is_same_v<T, bool>) {
      w.Bool(v);
    } else if constexpr (kFixedSize == 1) {
      w.U8(static_cast<uint8_t>(v));
    } else if constexpr (kFixedSize == 2) {
      w.U16(static_cast<uint16_t>(v));
    } else if constexpr (kFixedSize == 4) {
      w.U32(static_cast<uint32_t>(v));
    } else {
      w.U64(static_cast<uint64_t>(v));
    }
  }
  static void Decode(WireReader& r, T& v) {
    if constexpr (std::is_same_v<T, bool>) {
      v = r.Bool();
    } else if constexpr (kFixedSize == 1) {
      v = static_cast<T>(r.U8());
    } else if constexpr (kFixedSize == 2) {
      v = static_cast<T>(r.U16());
    } else if constexpr (kFixedSize == 4) {
      v = static_cast<T>(r.U32());
    } else {
      v = static_cast<T>(r.U64());
    }
  }
  static void Layout(const std::string& name, LayoutBuilder& b) { b.Leaf(name, kFixedSize); }
};

// vl_api_address_t: u8 af + 16-byte union, IPv4 in the first four bytes
// (unlike VPP's internal ip46 form, which IpAddress mirrors). Decoding an
// unknown af is an error.
template <>
struct Codec<IpAddress> {
  static constexpr size_t kFixedSize = 17;
  static void Encode(WireWriter& w, const IpAddress& a);
  static void Decode(WireReader& r, IpAddress& a);
  static void Layout(const std::string& name, LayoutBuilder& b) {
    b.Leaf(Join(name, "af"), 1);
    b.Leaf(Join(name, "un"), 16);
  }
};

// Wire formats other than the natural one, named as F<Format>(...).
struct Natural {  // Codec<T>
  template <typename T>
  static constexpr size_t FixedSize() {
    return Codec<T>::kFixedSize;
  }
  template <typename T>
  static void Encode(WireWriter& w, const T& v) {
    Codec<T>::Encode(w, v);
  }
  template <typename T>
  static void Decode(WireReader& r, T& v) {
    Codec<T>::Decode(r, v);
  }
  template <typename T>
  static void Layout(const std::string& name, const std::string&, LayoutBuilder& b) {
    Codec<T>::Layout(name, b);
  }
};

// Little-endian integer or enum: the few fields VPP writes in host order.
struct Le {
  template <typename T>
  static constexpr size_t FixedSize() {
    static_assert(sizeof(T) == 2 || sizeof(T) == 4);
    return sizeof(T);
  }
  template <typename T>
  static void Encode(WireWriter& w, const T& v) {
    if constexpr (sizeof(T) == 2) {
      w.U16Le(static_cast<uint16_t>(v));
    } else {
      w.U32Le(static_cast<uint32_t>(v));
    }
  }
  template <typename T>
  static void Decode(WireReader& r, T& v) {
    if constexpr (sizeof(T) == 2) {
      v = static_cast<T>(r.U16Le());
    } else {
      v = static_cast<T>(r.U32Le());
    }
  }
  template <typename T>
  static void Layout(const std::string& name, const std::string&, LayoutBuilder& b) {
    b.Leaf(name, sizeof(T));
  }
};

// `string x[N]`: N bytes, NUL padded (WireWriter/WireReader::FixedString).
template <size_t N>
struct Str {
  template <typename T>
  static constexpr size_t FixedSize() {
    return N;
  }
  static void Encode(WireWriter& w, const std::string& v) { w.FixedString(v, N); }
  static void Decode(WireReader& r, std::string& v) { v = r.FixedString(N); }
  template <typename T>
  static void Layout(const std::string& name, const std::string&, LayoutBuilder& b) {
    b.Leaf(name, N);
  }
};

// `string x[]`: u32 BE length + bytes; the length counts in the fixed size.
struct VarStr {
  template <typename T>
  static constexpr size_t FixedSize() {
    return 4;
  }
  static void Encode(WireWriter& w, const std::string& v) { w.VarString(v); }
  static void Decode(WireReader& r, std::string& v) { v = r.VarString(); }
  template <typename T>
  static void Layout(const std::string& name, const std::string&, LayoutBuilder& b) {
    b.Variable(name);
  }
};

// ip4_address_t / ip6_address_t: the raw 4 or 16 bytes, no family byte (an
// address of the other family encodes as zeros).
template <size_t N>
requires(N == 4 || N == 16) struct IpRaw {
  static constexpr bool kV4 = N == 4;
  template <typename T>
  static constexpr size_t FixedSize() {
    return N;
  }
  static void Encode(WireWriter& w, const IpAddress& a) {
    if (kV4 ? a.is_v4() : a.is_v6()) {
      w.Bytes(kV4 ? a.v4_bytes() : a.ip46().data(), N);
    } else {
      w.Zeros(N);
    }
  }
  static void Decode(WireReader& r, IpAddress& a) {
    uint8_t b[N];
    r.Bytes(b, N);
    a = kV4 ? IpAddress::FromV4Bytes(b) : IpAddress::FromV6Bytes(b);
  }
  template <typename T>
  static void Layout(const std::string& name, const std::string&, LayoutBuilder& b) {
    b.Leaf(name, N);
  }
};
using Ip4Raw = IpRaw<4>;
using Ip6Raw = IpRaw<16>;

// `T arr[count]` with the count (of type Count, big-endian) right before the
// elements: the field is a std::vector<T> of fixed-size elements, the count
// is written from its size and checked against the payload before anything
// is allocated. The count counts in the fixed size, the elements do not.
template <typename Count>
struct Vla {
  template <typename V>
  static constexpr size_t FixedSize() {
    return sizeof(Count);
  }
  template <typename V>
  static void Encode(WireWriter& w, const V& v) {
    Codec<Count>::Encode(w, static_cast<Count>(v.size()));
    for (const auto& e : v) Codec<typename V::value_type>::Encode(w, e);
  }
  template <typename V>
  static void Decode(WireReader& r, V& v, std::string_view name) {
    using E = typename V::value_type;
    Count count{};
    Codec<Count>::Decode(r, count);
    if (!r.ok()) return;
    const uint64_t need = uint64_t{count} * Codec<E>::kFixedSize;
    if (need > r.remaining()) {
      std::string what(name);
      for (char& c : what) c = c == '_' ? ' ' : c;
      r.Fail(absl::StrCat(what, " count ", uint64_t{count}, " needs ", need, " bytes, only ",
                          r.remaining(), " left"));
      return;
    }
    v.resize(count);
    for (auto& e : v) Codec<E>::Decode(r, e);
  }
  template <typename V>
  static void Layout(const std::string& name, const std::string& count_name, LayoutBuilder& b) {
    b.Leaf(count_name, sizeof(Count));
    b.Variable(name);
  }
};

// One entry of a field list: the member `member` of Owner, `name` as in
// vpp-lb-messages.json, encoded in Format. `count_name` names a Vla's count.
template <typename Format, typename Owner, typename T>
struct Field {
  std::string_view name;
  T Owner::*member;
  std::string_view count_name = {};

  static constexpr size_t kFixedSize = Format::template FixedSize<T>();

  template <typename M>
  void Encode(WireWriter& w, const M& m) const {
    Format::Encode(w, m.*member);
  }
  template <typename M>
  void Decode(WireReader& r, M& m) const {
    if constexpr (requires { Format::Decode(r, m.*member, name); }) {
      Format::Decode(r, m.*member, name);
    } else {
      Format::Decode(r, m.*member);
    }
  }
  void Layout(const std::string& prefix, LayoutBuilder& b) const {
    Format::template Layout<T>(Join(prefix, name), Join(prefix, count_name), b);
  }
};

// Field(name, &Owner::member) in the natural codec of the member's type, or
// F<Format>(...) in another format.
template <typename Format = Natural, typename Owner, typename T>
constexpr Field<Format, Owner, T> F(std::string_view name, T Owner::*member,
                                    std::string_view count_name = {}) {
  return {name, member, count_name};
}

// The fields of base class B, in place (no name prefix): how the lb messages
// put the shared VIP selector (LbVip) first.
template <typename B>
struct BaseFields {
  static constexpr size_t kFixedSize = Codec<B>::kFixedSize;
  template <typename M>
  void Encode(WireWriter& w, const M& m) const {
    Codec<B>::Encode(w, static_cast<const B&>(m));
  }
  template <typename M>
  void Decode(WireReader& r, M& m) const {
    Codec<B>::Decode(r, static_cast<B&>(m));
  }
  void Layout(const std::string& prefix, LayoutBuilder& b) const { Codec<B>::Layout(prefix, b); }
};
template <typename B>
constexpr BaseFields<B> Base() {
  return {};
}

template <typename Fields>
constexpr size_t FieldsFixedSize() {
  return []<size_t... I>(std::index_sequence<I...>) {
    return (size_t{0} + ... + std::tuple_element_t<I, Fields>::kFixedSize);
  }
  (std::make_index_sequence<std::tuple_size_v<Fields>>());
}

// A struct with a field list. Its optional `static void Check(const T&,
// WireReader&)` validates a decoded value (e.g. a prefix length).
template <typename T>
requires requires { T::kFields; }
struct Codec<T> {
  static constexpr size_t kFixedSize = FieldsFixedSize<std::remove_cv_t<decltype(T::kFields)>>();
  static void Encode(WireWriter& w, const T& v) {
    std::apply([&](const auto&... f) { (f.Encode(w, v), ...); }, T::kFields);
  }
  static void Decode(WireReader& r, T& v) {
    std::apply([&](const auto&... f) { (f.Decode(r, v), ...); }, T::kFields);
    if constexpr (requires { T::Check(v, r); }) {
      if (r.ok()) T::Check(v, r);
    }
  }
  static void Layout(const std::string& prefix, LayoutBuilder& b) {
    std::apply([&](const auto&... f) { (f.Layout(prefix, b), ...); }, T::kFields);
  }
};

// The field list of a struct.
#define MAGLEV_VPP_FIELDS(...) \
  static constexpr auto kFields = std::tuple { __VA_ARGS__ }

// The constants of a message, then its field list: kName, kNameCrc (the key
// into the sockclnt_create_reply table), kFixedId (memclnt fixed id, 0 =
// dynamic), kHeader, kFields and kFixedSize (bytes without the variable
// parts, computed from the header and the fields).
#define MAGLEV_VPP_MESSAGE(Type, name, crc, fixed_id, header, ...)                  \
  static constexpr std::string_view kName = name;                                   \
  static constexpr std::string_view kNameCrc = name "_" crc;                        \
  static constexpr uint16_t kFixedId = fixed_id;                                    \
  static constexpr HeaderKind kHeader = HeaderKind::header;                         \
  MAGLEV_VPP_FIELDS(__VA_ARGS__);                                                   \
  static constexpr size_t kFixedSize =                                              \
      HeaderSize(kHeader) + FieldsFixedSize<std::remove_cv_t<decltype(kFields)>>(); \
  friend bool operator==(const Type&, const Type&) = default

// An "autoreply" reply: context + retval (RetvalBody, below), CRC e8d4e804.
#define MAGLEV_VPP_AUTOREPLY(Type, name, fixed_id)                                          \
  struct Type : RetvalBody {                                                                \
    MAGLEV_VPP_MESSAGE(Type, name, "e8d4e804", fixed_id, kContextOnly, Base<RetvalBody>()); \
  }

// ---------------------------------------------------------------------------
// Field types shared by the messages.

// vl_api_prefix_t: 17-byte vl_api_address_t followed by u8 len.
struct Prefix {
  IpAddress address;
  uint8_t len = 0;
  MAGLEV_VPP_FIELDS(F("address", &Prefix::address), F("len", &Prefix::len));
  static void Check(const Prefix& p, WireReader& r);
  friend bool operator==(const Prefix&, const Prefix&) = default;
};

// The VIP selector every lb message names a VIP by, vl_api_lb_vip_t on the
// wire: prefix, u8 protocol, u16 BE port (21 bytes). Requests inherit it (its
// fields come first, unprefixed: "pfx", "protocol", "port"); details carry it
// as a member ("vip.pfx", ...).
struct LbVip {
  Prefix pfx;
  uint8_t protocol = kProtoAny;
  uint16_t port = 0;
  MAGLEV_VPP_FIELDS(F("pfx", &LbVip::pfx), F("protocol", &LbVip::protocol),
                    F("port", &LbVip::port));
  friend bool operator==(const LbVip&, const LbVip&) = default;
};

// Every "autoreply" reply: context + retval (10 bytes).
struct RetvalBody {
  int32_t retval = 0;
  MAGLEV_VPP_FIELDS(F("retval", &RetvalBody::retval));
  friend bool operator==(const RetvalBody&, const RetvalBody&) = default;
};

// Field codecs shared by the messages (exposed for tests).
void EncodeAddress(WireWriter& w, const IpAddress& a);
IpAddress DecodeAddress(WireReader& r);
void EncodePrefix(WireWriter& w, const Prefix& p);
Prefix DecodePrefix(WireReader& r);
void EncodeLbVip(WireWriter& w, const LbVip& v);
LbVip DecodeLbVip(WireReader& r);

// ---------------------------------------------------------------------------
// Message definitions. A request names its reply as `Reply` (so callers pick
// the pair once); replies come first for that reason.

// --- memclnt ---------------------------------------------------------------

struct SockclntCreate {
  std::string name;
  MAGLEV_VPP_MESSAGE(SockclntCreate, "sockclnt_create", "455fb9c4", 15, kContextOnly,
                     F<Str<64>>("name", &SockclntCreate::name));
};

struct MessageTableEntry {
  uint16_t index = 0;
  std::string name;  // "<message>_<crc>"
  MAGLEV_VPP_FIELDS(F("index", &MessageTableEntry::index),
                    F<Str<64>>("name", &MessageTableEntry::name));
  friend bool operator==(const MessageTableEntry&, const MessageTableEntry&) = default;
};
inline constexpr size_t kMessageTableEntrySize = Codec<MessageTableEntry>::kFixedSize;

struct SockclntCreateReply {
  int32_t response = 0;
  uint32_t index = 0;  // the client handle to use as client_index
  std::vector<MessageTableEntry> message_table;
  MAGLEV_VPP_MESSAGE(SockclntCreateReply, "sockclnt_create_reply", "35166268", 16, kWithClientIndex,
                     F("response", &SockclntCreateReply::response),
                     F("index", &SockclntCreateReply::index),
                     F<Vla<uint16_t>>("message_table", &SockclntCreateReply::message_table,
                                      "count"));
};

struct SockclntDeleteReply {
  int32_t response = 0;  // 1 on success (quirk 11)
  MAGLEV_VPP_MESSAGE(SockclntDeleteReply, "sockclnt_delete_reply", "8f38b1ee", 18, kContextOnly,
                     F("response", &SockclntDeleteReply::response));
};

struct SockclntDelete {
  using Reply = SockclntDeleteReply;
  uint32_t index = 0;
  MAGLEV_VPP_MESSAGE(SockclntDelete, "sockclnt_delete", "8ac76db6", 17, kWithClientIndex,
                     F("index", &SockclntDelete::index));
};

struct ControlPingReply {
  int32_t retval = 0;
  uint32_t client_index = 0;  // body field (echo of the request's)
  uint32_t vpe_pid = 0;
  MAGLEV_VPP_MESSAGE(ControlPingReply, "control_ping_reply", "f6b0b8ca", 24, kContextOnly,
                     F("retval", &ControlPingReply::retval),
                     F("client_index", &ControlPingReply::client_index),
                     F("vpe_pid", &ControlPingReply::vpe_pid));
};

struct ControlPing {
  using Reply = ControlPingReply;
  MAGLEV_VPP_MESSAGE(ControlPing, "control_ping", "51077d14", 23, kWithClientIndex);
};

MAGLEV_VPP_AUTOREPLY(MemclntKeepaliveReply, "memclnt_keepalive_reply", 22);

struct MemclntKeepalive {
  using Reply = MemclntKeepaliveReply;
  MAGLEV_VPP_MESSAGE(MemclntKeepalive, "memclnt_keepalive", "51077d14", 21, kWithClientIndex);
};

struct GetFirstMsgIdReply {
  int32_t retval = 0;
  uint16_t first_msg_id = 0;
  MAGLEV_VPP_MESSAGE(GetFirstMsgIdReply, "get_first_msg_id_reply", "7d337472", 11, kContextOnly,
                     F("retval", &GetFirstMsgIdReply::retval),
                     F("first_msg_id", &GetFirstMsgIdReply::first_msg_id));
};

struct GetFirstMsgId {
  using Reply = GetFirstMsgIdReply;
  std::string name;
  MAGLEV_VPP_MESSAGE(GetFirstMsgId, "get_first_msg_id", "ebf79a66", 10, kWithClientIndex,
                     F<Str<64>>("name", &GetFirstMsgId::name));
};

struct ModuleVersion {
  uint32_t major = 0, minor = 0, patch = 0;
  std::string name;
  MAGLEV_VPP_FIELDS(F("major", &ModuleVersion::major), F("minor", &ModuleVersion::minor),
                    F("patch", &ModuleVersion::patch), F<Str<64>>("name", &ModuleVersion::name));
  friend bool operator==(const ModuleVersion&, const ModuleVersion&) = default;
};
inline constexpr size_t kModuleVersionSize = Codec<ModuleVersion>::kFixedSize;

struct ApiVersionsReply {
  int32_t retval = 0;
  std::vector<ModuleVersion> api_versions;
  MAGLEV_VPP_MESSAGE(ApiVersionsReply, "api_versions_reply", "5f0d99d6", 13, kContextOnly,
                     F("retval", &ApiVersionsReply::retval),
                     F<Vla<uint32_t>>("api_versions", &ApiVersionsReply::api_versions, "count"));
};

struct ApiVersions {
  using Reply = ApiVersionsReply;
  MAGLEV_VPP_MESSAGE(ApiVersions, "api_versions", "51077d14", 12, kWithClientIndex);
};

// --- vpe / vlib --------------------------------------------------------------

struct ShowVersionReply {
  int32_t retval = 0;
  std::string program;
  std::string version;
  std::string build_date;
  std::string build_directory;
  MAGLEV_VPP_MESSAGE(ShowVersionReply, "show_version_reply", "c919bde1", 0, kContextOnly,
                     F("retval", &ShowVersionReply::retval),
                     F<Str<32>>("program", &ShowVersionReply::program),
                     F<Str<32>>("version", &ShowVersionReply::version),
                     F<Str<32>>("build_date", &ShowVersionReply::build_date),
                     F<Str<256>>("build_directory", &ShowVersionReply::build_directory));
};

struct ShowVersion {
  using Reply = ShowVersionReply;
  MAGLEV_VPP_MESSAGE(ShowVersion, "show_version", "51077d14", 0, kWithClientIndex);
};

struct CliInbandReply {
  int32_t retval = 0;
  std::string reply;
  MAGLEV_VPP_MESSAGE(CliInbandReply, "cli_inband_reply", "05879051", 0, kContextOnly,
                     F("retval", &CliInbandReply::retval),
                     F<VarStr>("reply", &CliInbandReply::reply));
};

struct CliInband {
  using Reply = CliInbandReply;
  std::string cmd;
  MAGLEV_VPP_MESSAGE(CliInband, "cli_inband", "f8377302", 0, kWithClientIndex,
                     F<VarStr>("cmd", &CliInband::cmd));
};

// --- lb ----------------------------------------------------------------------

MAGLEV_VPP_AUTOREPLY(LbConfReply, "lb_conf_reply", 0);

struct LbConf {
  using Reply = LbConfReply;
  IpAddress ip4_src_address;             // must be IPv4 to encode meaningfully
  IpAddress ip6_src_address;             //
  uint32_t sticky_buckets_per_core = 0;  // 0xffffffff = keep
  uint32_t flow_timeout = 0;             // seconds; 0xffffffff = keep
  MAGLEV_VPP_MESSAGE(LbConf, "lb_conf", "56cd3261", 0, kWithClientIndex,
                     F<Ip4Raw>("ip4_src_address", &LbConf::ip4_src_address),
                     F<Ip6Raw>("ip6_src_address", &LbConf::ip6_src_address),
                     F("sticky_buckets_per_core", &LbConf::sticky_buckets_per_core),
                     F("flow_timeout", &LbConf::flow_timeout));
};

struct LbConfGetReply {
  int32_t retval = 0;
  IpAddress ip4_src_address;
  IpAddress ip6_src_address;
  uint32_t sticky_buckets_per_core = 0;
  uint32_t flow_timeout = 0;
  MAGLEV_VPP_MESSAGE(LbConfGetReply, "lb_conf_get_reply", "923427ac", 0, kContextOnly,
                     F("retval", &LbConfGetReply::retval),
                     F<Ip4Raw>("ip4_src_address", &LbConfGetReply::ip4_src_address),
                     F<Ip6Raw>("ip6_src_address", &LbConfGetReply::ip6_src_address),
                     F("sticky_buckets_per_core", &LbConfGetReply::sticky_buckets_per_core),
                     F("flow_timeout", &LbConfGetReply::flow_timeout));
};

struct LbConfGet {
  using Reply = LbConfGetReply;
  MAGLEV_VPP_MESSAGE(LbConfGet, "lb_conf_get", "51077d14", 0, kWithClientIndex);
};

MAGLEV_VPP_AUTOREPLY(LbAddDelVipReply, "lb_add_del_vip_reply", 0);

// lb_add_del_vip. `type` (lb_srv_type, u32) is encoded in the form VPP
// actually reads: only the first wire byte counts (quirk 4.8/4), so the value
// goes little-endian (NODEPORT = 01 00 00 00); decoding mirrors that.
struct LbAddDelVip : LbVip {
  using Reply = LbAddDelVipReply;
  EncapType encap = EncapType::kGre4;
  uint8_t dscp = 0;
  SrvType type = SrvType::kClusterIp;
  uint16_t target_port = 0;
  uint16_t node_port = 0;
  uint32_t new_flows_table_length = 0;  // never send 0 (quirk 8)
  bool is_del = false;
  MAGLEV_VPP_MESSAGE(LbAddDelVip, "lb_add_del_vip", "6fa569c7", 0, kWithClientIndex, Base<LbVip>(),
                     F("encap", &LbAddDelVip::encap), F("dscp", &LbAddDelVip::dscp),
                     F<Le>("type", &LbAddDelVip::type), F("target_port", &LbAddDelVip::target_port),
                     F("node_port", &LbAddDelVip::node_port),
                     F("new_flows_table_length", &LbAddDelVip::new_flows_table_length),
                     F("is_del", &LbAddDelVip::is_del));
};

MAGLEV_VPP_AUTOREPLY(LbAddDelVipV2Reply, "lb_add_del_vip_v2_reply", 0);

struct LbAddDelVipV2 : LbVip {
  using Reply = LbAddDelVipV2Reply;
  EncapType encap = EncapType::kGre4;
  uint8_t dscp = 0;
  SrvType type = SrvType::kClusterIp;  // same quirk as LbAddDelVip::type
  uint16_t target_port = 0;
  uint16_t node_port = 0;
  uint32_t new_flows_table_length = 0;
  bool src_ip_sticky = false;
  bool is_del = false;
  MAGLEV_VPP_MESSAGE(LbAddDelVipV2, "lb_add_del_vip_v2", "7c520e0f", 0, kWithClientIndex,
                     Base<LbVip>(), F("encap", &LbAddDelVipV2::encap),
                     F("dscp", &LbAddDelVipV2::dscp), F<Le>("type", &LbAddDelVipV2::type),
                     F("target_port", &LbAddDelVipV2::target_port),
                     F("node_port", &LbAddDelVipV2::node_port),
                     F("new_flows_table_length", &LbAddDelVipV2::new_flows_table_length),
                     F("src_ip_sticky", &LbAddDelVipV2::src_ip_sticky),
                     F("is_del", &LbAddDelVipV2::is_del));
};

MAGLEV_VPP_AUTOREPLY(LbAddDelAsReply, "lb_add_del_as_reply", 0);

struct LbAddDelAs : LbVip {
  using Reply = LbAddDelAsReply;
  IpAddress as_address;
  bool is_del = false;
  bool is_flush = false;
  MAGLEV_VPP_MESSAGE(LbAddDelAs, "lb_add_del_as", "35d72500", 0, kWithClientIndex, Base<LbVip>(),
                     F("as_address", &LbAddDelAs::as_address), F("is_del", &LbAddDelAs::is_del),
                     F("is_flush", &LbAddDelAs::is_flush));
};

MAGLEV_VPP_AUTOREPLY(LbAddDelAsV2Reply, "lb_add_del_as_v2_reply", 0);

struct LbAddDelAsV2 : LbVip {
  using Reply = LbAddDelAsV2Reply;
  IpAddress as_address;
  uint8_t weight = 0;
  bool is_del = false;
  bool is_flush = false;
  MAGLEV_VPP_MESSAGE(LbAddDelAsV2, "lb_add_del_as_v2", "2f1d3b0e", 0, kWithClientIndex,
                     Base<LbVip>(), F("as_address", &LbAddDelAsV2::as_address),
                     F("weight", &LbAddDelAsV2::weight), F("is_del", &LbAddDelAsV2::is_del),
                     F("is_flush", &LbAddDelAsV2::is_flush));
};

MAGLEV_VPP_AUTOREPLY(LbAsSetWeightReply, "lb_as_set_weight_reply", 0);

struct LbAsSetWeight : LbVip {
  using Reply = LbAsSetWeightReply;
  IpAddress as_address;
  uint8_t weight = 0;
  bool is_flush = false;
  MAGLEV_VPP_MESSAGE(LbAsSetWeight, "lb_as_set_weight", "2d89bdbd", 0, kWithClientIndex,
                     Base<LbVip>(), F("as_address", &LbAsSetWeight::as_address),
                     F("weight", &LbAsSetWeight::weight), F("is_flush", &LbAsSetWeight::is_flush));
};

MAGLEV_VPP_AUTOREPLY(LbFlushVipReply, "lb_flush_vip_reply", 0);

struct LbFlushVip : LbVip {
  using Reply = LbFlushVipReply;
  MAGLEV_VPP_MESSAGE(LbFlushVip, "lb_flush_vip", "1063f819", 0, kWithClientIndex, Base<LbVip>());
};

// lb_vip_details with VPP's byte orders (quirk 3): srv_type is a host-order
// (little-endian) u32, target_port is little-endian, flow_table_length is the
// table length truncated to 16 bits (BE).
struct LbVipDetails {
  LbVip vip;
  EncapType encap = EncapType::kGre4;
  uint8_t dscp = 0;
  SrvType srv_type = SrvType::kClusterIp;
  uint16_t target_port = 0;
  uint16_t flow_table_length = 0;
  MAGLEV_VPP_MESSAGE(LbVipDetails, "lb_vip_details", "1329ec9b", 0, kContextOnly,
                     F("vip", &LbVipDetails::vip), F("encap", &LbVipDetails::encap),
                     F("dscp", &LbVipDetails::dscp), F<Le>("srv_type", &LbVipDetails::srv_type),
                     F<Le>("target_port", &LbVipDetails::target_port),
                     F("flow_table_length", &LbVipDetails::flow_table_length));
};

// All fields are ignored by VPP (quirk 1): every active VIP is dumped. Not
// an LbVip: the prefix matcher sits between the prefix and the protocol.
struct LbVipDump {
  using Details = LbVipDetails;
  Prefix pfx;
  uint8_t pfx_matcher_le = 0;
  uint8_t pfx_matcher_ge = 0;
  uint8_t protocol = kProtoAny;
  uint16_t port = 0;
  MAGLEV_VPP_MESSAGE(LbVipDump, "lb_vip_dump", "56110cb7", 0, kWithClientIndex,
                     F("pfx", &LbVipDump::pfx), F("pfx_matcher.le", &LbVipDump::pfx_matcher_le),
                     F("pfx_matcher.ge", &LbVipDump::pfx_matcher_ge),
                     F("protocol", &LbVipDump::protocol), F("port", &LbVipDump::port));
};

struct LbAsDetails {
  LbVip vip;
  IpAddress app_srv;
  uint8_t flags = 0;  // bit 0 = active
  uint32_t in_use_since = 0;
  MAGLEV_VPP_MESSAGE(LbAsDetails, "lb_as_details", "8d24c29e", 0, kContextOnly,
                     F("vip", &LbAsDetails::vip), F("app_srv", &LbAsDetails::app_srv),
                     F("flags", &LbAsDetails::flags),
                     F("in_use_since", &LbAsDetails::in_use_since));
};

// A zero address union (any af) means "dump all" (quirk 2).
struct LbAsDump : LbVip {
  using Details = LbAsDetails;
  MAGLEV_VPP_MESSAGE(LbAsDump, "lb_as_dump", "1063f819", 0, kWithClientIndex, Base<LbVip>());
};

struct LbAsV2Details {
  LbVip vip;
  IpAddress app_srv;
  uint8_t flags = 0;
  uint32_t in_use_since = 0;
  uint8_t weight = 0;
  uint32_t num_buckets = 0;
  MAGLEV_VPP_MESSAGE(LbAsV2Details, "lb_as_v2_details", "90064aae", 0, kContextOnly,
                     F("vip", &LbAsV2Details::vip), F("app_srv", &LbAsV2Details::app_srv),
                     F("flags", &LbAsV2Details::flags),
                     F("in_use_since", &LbAsV2Details::in_use_since),
                     F("weight", &LbAsV2Details::weight),
                     F("num_buckets", &LbAsV2Details::num_buckets));
};

struct LbAsV2Dump : LbVip {
  using Details = LbAsV2Details;
  MAGLEV_VPP_MESSAGE(LbAsV2Dump, "lb_as_v2_dump", "1063f819", 0, kWithClientIndex, Base<LbVip>());
};

// --- ip (ip.api 3.2.0; STATS.md 4.3) ----------------------------------------
// Not in AllMessageTypes (vpp-lb-messages.json covers the lb plugin and the
// memclnt/vpe messages only); tests/unit/vpp/ip_route_lookup_test.cc pins
// its bytes.

// `vl_api_fib_path_t paths[n_paths]` (167 bytes each) after its u8 count:
// maglevd only needs the route's stats_index, so the member is the count;
// paths encode as zero bytes and are skipped (bounds-checked) on decode.
struct SkippedFibPaths {
  static constexpr size_t kPathSize = 167;
  template <typename T>
  static constexpr size_t FixedSize() {
    return 1;
  }
  static void Encode(WireWriter& w, const uint8_t& n) {
    w.U8(n);
    w.Zeros(size_t{n} * kPathSize);
  }
  static void Decode(WireReader& r, uint8_t& n, std::string_view) {
    n = r.U8();
    if (!r.ok()) return;
    const size_t need = size_t{n} * kPathSize;
    if (need > r.remaining()) {
      r.Fail(absl::StrCat("route paths count ", n, " needs ", need, " bytes, only ", r.remaining(),
                          " left"));
      return;
    }
    r.Skip(need);
  }
  template <typename T>
  static void Layout(const std::string& name, const std::string& count_name, LayoutBuilder& b) {
    b.Leaf(count_name, 1);
    b.Variable(name);
  }
};

// ip_route_lookup: the FIB entry of `prefix` in `table_id` (exact match, or
// longest prefix with exact = 0); its reply carries the route's
// stats_index, which keys /net/route/to in the stats segment.
struct IpRouteLookupReply {
  int32_t retval = 0;  // -6: no such route
  uint32_t table_id = 0;
  uint32_t stats_index = 0;
  Prefix prefix;
  uint8_t n_paths = 0;
  MAGLEV_VPP_MESSAGE(IpRouteLookupReply, "ip_route_lookup_reply", "5d8febcb", 0, kContextOnly,
                     F("retval", &IpRouteLookupReply::retval),
                     F("route.table_id", &IpRouteLookupReply::table_id),
                     F("route.stats_index", &IpRouteLookupReply::stats_index),
                     F("route.prefix", &IpRouteLookupReply::prefix),
                     F<SkippedFibPaths>("route.paths", &IpRouteLookupReply::n_paths,
                                        "route.n_paths"));
};

struct IpRouteLookup {
  using Reply = IpRouteLookupReply;
  uint32_t table_id = 0;
  uint8_t exact = 1;
  Prefix prefix;
  MAGLEV_VPP_MESSAGE(IpRouteLookup, "ip_route_lookup", "710d6471", 0, kWithClientIndex,
                     F("table_id", &IpRouteLookup::table_id), F("exact", &IpRouteLookup::exact),
                     F("prefix", &IpRouteLookup::prefix));
};

#undef MAGLEV_VPP_AUTOREPLY
#undef MAGLEV_VPP_MESSAGE

// Every message type above, once: the one line a new message adds.
using AllMessageTypes =
    std::tuple<SockclntCreate, SockclntCreateReply, SockclntDelete, SockclntDeleteReply,
               ControlPing, ControlPingReply, MemclntKeepalive, MemclntKeepaliveReply,
               GetFirstMsgId, GetFirstMsgIdReply, ApiVersions, ApiVersionsReply, ShowVersion,
               ShowVersionReply, CliInband, CliInbandReply, LbConf, LbConfReply, LbConfGet,
               LbConfGetReply, LbAddDelVip, LbAddDelVipReply, LbAddDelVipV2, LbAddDelVipV2Reply,
               LbAddDelAs, LbAddDelAsReply, LbAddDelAsV2, LbAddDelAsV2Reply, LbAsSetWeight,
               LbAsSetWeightReply, LbFlushVip, LbFlushVipReply, LbVipDump, LbVipDetails, LbAsDump,
               LbAsDetails, LbAsV2Dump, LbAsV2Details>;

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
  Codec<M>::Encode(w, m);
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
  Codec<M>::Decode(r, m);
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

// The flat layout of message M from its field list: the header fields
// ("_vl_msg_id", ["client_index",] "context") then every leaf field, with
// the names and offsets vpp-lb-messages.json lists under flat_fields.
template <typename M>
std::vector<FlatField> FlatLayout() {
  LayoutBuilder b;
  b.Leaf("_vl_msg_id", 2);
  if constexpr (M::kHeader == HeaderKind::kWithClientIndex) b.Leaf("client_index", 4);
  b.Leaf("context", 4);
  Codec<M>::Layout("", b);
  return b.Take();
}

// Static description of one message type (for tables and tests).
struct MessageInfo {
  std::string_view name;
  std::string_view name_crc;
  uint16_t fixed_id;
  HeaderKind header;
  size_t fixed_size;
  std::vector<FlatField> (*flat_layout)();
};

// Every message type of AllMessageTypes, in that order.
const std::vector<MessageInfo>& AllMessages();

}  // namespace maglev::vppmsg
