#include "vpp/messages.h"

#include <cstring>

namespace maglev::vppmsg {

void EncodeAddress(WireWriter& w, const IpAddress& a) {
  if (a.is_v4()) {
    // vl_api_address_t puts IPv4 in the first four bytes of the union, unlike
    // VPP's internal ip46 form (which IpAddress mirrors).
    w.U8(kAddressIp4);
    w.Bytes(a.v4_bytes(), 4);
    w.Zeros(12);
  } else {
    w.U8(kAddressIp6);
    w.Bytes(a.ip46().data(), 16);
  }
}

IpAddress DecodeAddress(WireReader& r) {
  uint8_t af = r.U8();
  uint8_t un[16];
  r.Bytes(un, sizeof un);
  if (!r.ok()) return {};
  if (af == kAddressIp4) return IpAddress::FromV4Bytes(un);
  if (af == kAddressIp6) return IpAddress::FromV6Bytes(un);
  r.Fail(absl::StrCat("unknown address family ", af));
  return {};
}

void EncodePrefix(WireWriter& w, const Prefix& p) {
  EncodeAddress(w, p.address);
  w.U8(p.len);
}

Prefix DecodePrefix(WireReader& r) {
  Prefix p;
  p.address = DecodeAddress(r);
  p.len = r.U8();
  if (r.ok() && p.len > (p.address.is_v4() ? 32 : 128)) {
    r.Fail(absl::StrCat("prefix length ", p.len, " out of range for ",
                        p.address.is_v4() ? "IPv4" : "IPv6"));
  }
  return p;
}

void EncodeLbVip(WireWriter& w, const LbVip& v) {
  EncodePrefix(w, v.pfx);
  w.U8(v.protocol);
  w.U16(v.port);
}

LbVip DecodeLbVip(WireReader& r) {
  LbVip v;
  v.pfx = DecodePrefix(r);
  v.protocol = r.U8();
  v.port = r.U16();
  return v;
}

uint16_t PeekMsgId(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  return static_cast<uint16_t>((data[0] << 8) | data[1]);
}

// --- memclnt ---------------------------------------------------------------

void SockclntCreate::EncodeBody(WireWriter& w) const { w.FixedString(name, 64); }
void SockclntCreate::DecodeBody(WireReader& r) { name = r.FixedString(64); }

void SockclntCreateReply::EncodeBody(WireWriter& w) const {
  w.I32(response);
  w.U32(index);
  w.U16(static_cast<uint16_t>(message_table.size()));
  for (const auto& e : message_table) {
    w.U16(e.index);
    w.FixedString(e.name, 64);
  }
}

void SockclntCreateReply::DecodeBody(WireReader& r) {
  response = r.I32();
  index = r.U32();
  uint16_t count = r.U16();
  if (!r.ok()) return;
  // Check the claimed count against what is really there before allocating.
  if (size_t{count} * kMessageTableEntrySize > r.remaining()) {
    r.Fail(absl::StrCat("message table count ", count, " needs ",
                        size_t{count} * kMessageTableEntrySize, " bytes, only ", r.remaining(),
                        " left"));
    return;
  }
  message_table.resize(count);
  for (auto& e : message_table) {
    e.index = r.U16();
    e.name = r.FixedString(64);
  }
}

void ApiVersionsReply::EncodeBody(WireWriter& w) const {
  w.I32(retval);
  w.U32(static_cast<uint32_t>(api_versions.size()));
  for (const auto& v : api_versions) {
    w.U32(v.major);
    w.U32(v.minor);
    w.U32(v.patch);
    w.FixedString(v.name, 64);
  }
}

void ApiVersionsReply::DecodeBody(WireReader& r) {
  retval = r.I32();
  uint32_t count = r.U32();
  if (!r.ok()) return;
  if (uint64_t{count} * kModuleVersionSize > r.remaining()) {
    r.Fail(absl::StrCat("api_versions count ", count, " exceeds the payload"));
    return;
  }
  api_versions.resize(count);
  for (auto& v : api_versions) {
    v.major = r.U32();
    v.minor = r.U32();
    v.patch = r.U32();
    v.name = r.FixedString(64);
  }
}

// --- vpe -------------------------------------------------------------------

void ShowVersionReply::EncodeBody(WireWriter& w) const {
  w.I32(retval);
  w.FixedString(program, 32);
  w.FixedString(version, 32);
  w.FixedString(build_date, 32);
  w.FixedString(build_directory, 256);
}

void ShowVersionReply::DecodeBody(WireReader& r) {
  retval = r.I32();
  program = r.FixedString(32);
  version = r.FixedString(32);
  build_date = r.FixedString(32);
  build_directory = r.FixedString(256);
}

// --- lb ----------------------------------------------------------------------

namespace {

void EncodeIp4Raw(WireWriter& w, const IpAddress& a) {
  if (a.is_v4()) {
    w.Bytes(a.v4_bytes(), 4);
  } else {
    w.Zeros(4);
  }
}

void EncodeIp6Raw(WireWriter& w, const IpAddress& a) {
  if (a.is_v6()) {
    w.Bytes(a.ip46().data(), 16);
  } else {
    w.Zeros(16);
  }
}

IpAddress DecodeIp4Raw(WireReader& r) {
  uint8_t b[4];
  r.Bytes(b, sizeof b);
  return IpAddress::FromV4Bytes(b);
}

IpAddress DecodeIp6Raw(WireReader& r) {
  uint8_t b[16];
  r.Bytes(b, sizeof b);
  return IpAddress::FromV6Bytes(b);
}

}  // namespace

void LbConf::EncodeBody(WireWriter& w) const {
  EncodeIp4Raw(w, ip4_src_address);
  EncodeIp6Raw(w, ip6_src_address);
  w.U32(sticky_buckets_per_core);
  w.U32(flow_timeout);
}

void LbConf::DecodeBody(WireReader& r) {
  ip4_src_address = DecodeIp4Raw(r);
  ip6_src_address = DecodeIp6Raw(r);
  sticky_buckets_per_core = r.U32();
  flow_timeout = r.U32();
}

void LbConfGetReply::EncodeBody(WireWriter& w) const {
  w.I32(retval);
  EncodeIp4Raw(w, ip4_src_address);
  EncodeIp6Raw(w, ip6_src_address);
  w.U32(sticky_buckets_per_core);
  w.U32(flow_timeout);
}

void LbConfGetReply::DecodeBody(WireReader& r) {
  retval = r.I32();
  ip4_src_address = DecodeIp4Raw(r);
  ip6_src_address = DecodeIp6Raw(r);
  sticky_buckets_per_core = r.U32();
  flow_timeout = r.U32();
}

void LbAddDelVip::EncodeBody(WireWriter& w) const {
  EncodePrefix(w, pfx);
  w.U8(protocol);
  w.U16(port);
  w.U32(static_cast<uint32_t>(encap));
  w.U8(dscp);
  w.U32Le(static_cast<uint32_t>(type));
  w.U16(target_port);
  w.U16(node_port);
  w.U32(new_flows_table_length);
  w.Bool(is_del);
}

void LbAddDelVip::DecodeBody(WireReader& r) {
  pfx = DecodePrefix(r);
  protocol = r.U8();
  port = r.U16();
  encap = static_cast<EncapType>(r.U32());
  dscp = r.U8();
  type = static_cast<SrvType>(r.U32Le());
  target_port = r.U16();
  node_port = r.U16();
  new_flows_table_length = r.U32();
  is_del = r.Bool();
}

void LbAddDelVipV2::EncodeBody(WireWriter& w) const {
  EncodePrefix(w, pfx);
  w.U8(protocol);
  w.U16(port);
  w.U32(static_cast<uint32_t>(encap));
  w.U8(dscp);
  w.U32Le(static_cast<uint32_t>(type));
  w.U16(target_port);
  w.U16(node_port);
  w.U32(new_flows_table_length);
  w.Bool(src_ip_sticky);
  w.Bool(is_del);
}

void LbAddDelVipV2::DecodeBody(WireReader& r) {
  pfx = DecodePrefix(r);
  protocol = r.U8();
  port = r.U16();
  encap = static_cast<EncapType>(r.U32());
  dscp = r.U8();
  type = static_cast<SrvType>(r.U32Le());
  target_port = r.U16();
  node_port = r.U16();
  new_flows_table_length = r.U32();
  src_ip_sticky = r.Bool();
  is_del = r.Bool();
}

void LbAddDelAs::EncodeBody(WireWriter& w) const {
  EncodePrefix(w, pfx);
  w.U8(protocol);
  w.U16(port);
  EncodeAddress(w, as_address);
  w.Bool(is_del);
  w.Bool(is_flush);
}

void LbAddDelAs::DecodeBody(WireReader& r) {
  pfx = DecodePrefix(r);
  protocol = r.U8();
  port = r.U16();
  as_address = DecodeAddress(r);
  is_del = r.Bool();
  is_flush = r.Bool();
}

void LbAddDelAsV2::EncodeBody(WireWriter& w) const {
  EncodePrefix(w, pfx);
  w.U8(protocol);
  w.U16(port);
  EncodeAddress(w, as_address);
  w.U8(weight);
  w.Bool(is_del);
  w.Bool(is_flush);
}

void LbAddDelAsV2::DecodeBody(WireReader& r) {
  pfx = DecodePrefix(r);
  protocol = r.U8();
  port = r.U16();
  as_address = DecodeAddress(r);
  weight = r.U8();
  is_del = r.Bool();
  is_flush = r.Bool();
}

void LbAsSetWeight::EncodeBody(WireWriter& w) const {
  EncodePrefix(w, pfx);
  w.U8(protocol);
  w.U16(port);
  EncodeAddress(w, as_address);
  w.U8(weight);
  w.Bool(is_flush);
}

void LbAsSetWeight::DecodeBody(WireReader& r) {
  pfx = DecodePrefix(r);
  protocol = r.U8();
  port = r.U16();
  as_address = DecodeAddress(r);
  weight = r.U8();
  is_flush = r.Bool();
}

void VipFilterBody::EncodeBody(WireWriter& w) const {
  EncodePrefix(w, pfx);
  w.U8(protocol);
  w.U16(port);
}

void VipFilterBody::DecodeBody(WireReader& r) {
  pfx = DecodePrefix(r);
  protocol = r.U8();
  port = r.U16();
}

void LbVipDump::EncodeBody(WireWriter& w) const {
  EncodePrefix(w, pfx);
  w.U8(pfx_matcher_le);
  w.U8(pfx_matcher_ge);
  w.U8(protocol);
  w.U16(port);
}

void LbVipDump::DecodeBody(WireReader& r) {
  pfx = DecodePrefix(r);
  pfx_matcher_le = r.U8();
  pfx_matcher_ge = r.U8();
  protocol = r.U8();
  port = r.U16();
}

void LbVipDetails::EncodeBody(WireWriter& w) const {
  EncodeLbVip(w, vip);
  w.U32(static_cast<uint32_t>(encap));
  w.U8(dscp);
  w.U32Le(static_cast<uint32_t>(srv_type));
  w.U16Le(target_port);
  w.U16(flow_table_length);
}

void LbVipDetails::DecodeBody(WireReader& r) {
  vip = DecodeLbVip(r);
  encap = static_cast<EncapType>(r.U32());
  dscp = r.U8();
  srv_type = static_cast<SrvType>(r.U32Le());
  target_port = r.U16Le();
  flow_table_length = r.U16();
}

void LbAsDetails::EncodeBody(WireWriter& w) const {
  EncodeLbVip(w, vip);
  EncodeAddress(w, app_srv);
  w.U8(flags);
  w.U32(in_use_since);
}

void LbAsDetails::DecodeBody(WireReader& r) {
  vip = DecodeLbVip(r);
  app_srv = DecodeAddress(r);
  flags = r.U8();
  in_use_since = r.U32();
}

void LbAsV2Details::EncodeBody(WireWriter& w) const {
  EncodeLbVip(w, vip);
  EncodeAddress(w, app_srv);
  w.U8(flags);
  w.U32(in_use_since);
  w.U8(weight);
  w.U32(num_buckets);
}

void LbAsV2Details::DecodeBody(WireReader& r) {
  vip = DecodeLbVip(r);
  app_srv = DecodeAddress(r);
  flags = r.U8();
  in_use_since = r.U32();
  weight = r.U8();
  num_buckets = r.U32();
}

// --- table -------------------------------------------------------------------

namespace {

template <typename M>
MessageInfo InfoOf() {
  return {M::kName, M::kNameCrc, M::kFixedId, M::kHeader, M::kFixedSize};
}

}  // namespace

const std::vector<MessageInfo>& AllMessages() {
  static const std::vector<MessageInfo> kAll = {
      InfoOf<SockclntCreate>(),   InfoOf<SockclntCreateReply>(),
      InfoOf<SockclntDelete>(),   InfoOf<SockclntDeleteReply>(),
      InfoOf<ControlPing>(),      InfoOf<ControlPingReply>(),
      InfoOf<MemclntKeepalive>(), InfoOf<MemclntKeepaliveReply>(),
      InfoOf<GetFirstMsgId>(),    InfoOf<GetFirstMsgIdReply>(),
      InfoOf<ApiVersions>(),      InfoOf<ApiVersionsReply>(),
      InfoOf<ShowVersion>(),      InfoOf<ShowVersionReply>(),
      InfoOf<CliInband>(),        InfoOf<CliInbandReply>(),
      InfoOf<LbConf>(),           InfoOf<LbConfReply>(),
      InfoOf<LbConfGet>(),        InfoOf<LbConfGetReply>(),
      InfoOf<LbAddDelVip>(),      InfoOf<LbAddDelVipReply>(),
      InfoOf<LbAddDelVipV2>(),    InfoOf<LbAddDelVipV2Reply>(),
      InfoOf<LbAddDelAs>(),       InfoOf<LbAddDelAsReply>(),
      InfoOf<LbAddDelAsV2>(),     InfoOf<LbAddDelAsV2Reply>(),
      InfoOf<LbAsSetWeight>(),    InfoOf<LbAsSetWeightReply>(),
      InfoOf<LbFlushVip>(),       InfoOf<LbFlushVipReply>(),
      InfoOf<LbVipDump>(),        InfoOf<LbVipDetails>(),
      InfoOf<LbAsDump>(),         InfoOf<LbAsDetails>(),
      InfoOf<LbAsV2Dump>(),       InfoOf<LbAsV2Details>(),
  };
  return kAll;
}

void IpRouteLookupReply::EncodeBody(WireWriter& w) const {
  w.I32(retval);
  w.U32(table_id);
  w.U32(stats_index);
  EncodePrefix(w, prefix);
  w.U8(n_paths);
  for (size_t i = 0; i < size_t{n_paths} * kFibPathSize; ++i) w.U8(0);
}

void IpRouteLookupReply::DecodeBody(WireReader& r) {
  retval = r.I32();
  table_id = r.U32();
  stats_index = r.U32();
  prefix = DecodePrefix(r);
  n_paths = r.U8();
  r.Skip(size_t{n_paths} * kFibPathSize);
}

}  // namespace maglev::vppmsg
