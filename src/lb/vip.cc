// SPDX-License-Identifier: Apache-2.0
#include "lb/vip.h"

#include <cstring>

#include "absl/strings/str_cat.h"

namespace maglev {
namespace {

std::string ProtocolText(uint8_t protocol) {
  switch (protocol) {
    case kLbProtoTcp:
      return "tcp";
    case kLbProtoUdp:
      return "udp";
    case kLbProtoAny:
      return "any";
    default:
      return absl::StrCat("proto-", protocol);
  }
}

}  // namespace

std::string_view LbEncapName(LbEncap e) {
  switch (e) {
    case LbEncap::kGre4:
      return "gre4";
    case LbEncap::kGre6:
      return "gre6";
    case LbEncap::kL3dsr:
      return "l3dsr";
    case LbEncap::kNat4:
      return "nat4";
    case LbEncap::kNat6:
      return "nat6";
  }
  return "encap-unknown";
}

VipKey VipKey::Host(const IpAddress& address, uint8_t protocol, uint16_t port) {
  VipKey k;
  k.address = address;
  k.prefix_len = address.is_v4() ? 32 : 128;
  k.protocol = protocol;
  k.port = port;
  return k;
}

bool VipKey::IsValid() const { return prefix_len <= (address.is_v4() ? 32 : 128); }

VipKey VipKey::Normalized() const {
  VipKey k = *this;
  if (k.port == 0) k.protocol = kLbProtoAny;  // VPP's all-port rule
  if (!IsValid()) return k;
  // VPP clears host bits before looking a VIP up.
  uint8_t bytes[16];
  size_t n = address.is_v4() ? 4 : 16;
  std::memcpy(bytes, address.is_v4() ? address.v4_bytes() : address.ip46().data(), n);
  for (size_t i = 0; i < n; ++i) {
    int keep = static_cast<int>(prefix_len) - static_cast<int>(i * 8);
    if (keep >= 8) continue;
    bytes[i] &= keep <= 0 ? 0 : static_cast<uint8_t>(0xff << (8 - keep));
  }
  k.address = address.is_v4() ? IpAddress::FromV4Bytes(bytes) : IpAddress::FromV6Bytes(bytes);
  return k;
}

std::string VipKey::ToString() const {
  std::string s = absl::StrCat(address.ToString(), "/", prefix_len, " ", ProtocolText(protocol));
  if (port != 0 || protocol != kLbProtoAny) absl::StrAppend(&s, "/", port);
  return s;
}

}  // namespace maglev
