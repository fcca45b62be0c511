#include "vpp/messages.h"

namespace maglev::vppmsg {

void Codec<IpAddress>::Encode(WireWriter& w, const IpAddress& a) {
  if (a.is_v4()) {
    w.U8(kAddressIp4);
    w.Bytes(a.v4_bytes(), 4);
    w.Zeros(12);
  } else {
    w.U8(kAddressIp6);
    w.Bytes(a.ip46().data(), 16);
  }
}

void Codec<IpAddress>::Decode(WireReader& r, IpAddress& a) {
  uint8_t af = r.U8();
  uint8_t un[16];
  r.Bytes(un, sizeof un);
  a = {};
  if (!r.ok()) return;
  if (af == kAddressIp4) {
    a = IpAddress::FromV4Bytes(un);
  } else if (af == kAddressIp6) {
    a = IpAddress::FromV6Bytes(un);
  } else {
    r.Fail(absl::StrCat("unknown address family ", af));
  }
}

void Prefix::Check(const Prefix& p, WireReader& r) {
  if (p.len > (p.address.is_v4() ? 32 : 128)) {
    r.Fail(absl::StrCat("prefix length ", p.len, " out of range for ",
                        p.address.is_v4() ? "IPv4" : "IPv6"));
  }
}

void EncodeAddress(WireWriter& w, const IpAddress& a) { Codec<IpAddress>::Encode(w, a); }

IpAddress DecodeAddress(WireReader& r) {
  IpAddress a;
  Codec<IpAddress>::Decode(r, a);
  return a;
}

void EncodePrefix(WireWriter& w, const Prefix& p) { Codec<Prefix>::Encode(w, p); }

Prefix DecodePrefix(WireReader& r) {
  Prefix p;
  Codec<Prefix>::Decode(r, p);
  return p;
}

void EncodeLbVip(WireWriter& w, const LbVip& v) { Codec<LbVip>::Encode(w, v); }

LbVip DecodeLbVip(WireReader& r) {
  LbVip v;
  Codec<LbVip>::Decode(r, v);
  return v;
}

uint16_t PeekMsgId(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  return static_cast<uint16_t>((data[0] << 8) | data[1]);
}

const std::vector<MessageInfo>& AllMessages() {
  static const std::vector<MessageInfo> kAll = [] {
    std::vector<MessageInfo> out;
    std::apply(
        [&](auto... m) {
          (out.push_back({decltype(m)::kName, decltype(m)::kNameCrc, decltype(m)::kFixedId,
                          decltype(m)::kHeader, decltype(m)::kFixedSize, &FlatLayout<decltype(m)>}),
           ...);
        },
        AllMessageTypes{});
    return out;
  }();
  return kAll;
}

}  // namespace maglev::vppmsg
