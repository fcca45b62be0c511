// SPDX-License-Identifier: Apache-2.0
//
// A VIP as the load balancer models it: identity (prefix, protocol, port),
// encapsulation and table parameters. The lb stage builds desired VIPs of
// these; the VPP client sends and dumps them. Pure value types;
// thread-agnostic.
#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/ip_address.h"

namespace maglev {

// lb_encap_type values.
enum class LbEncap : uint32_t { kGre4 = 0, kGre6 = 1, kL3dsr = 2, kNat4 = 3, kNat6 = 4 };
std::string_view LbEncapName(LbEncap e);  // "gre4", ... or "encap-<n>"

inline constexpr uint8_t kLbProtoTcp = 6;
inline constexpr uint8_t kLbProtoUdp = 17;
inline constexpr uint8_t kLbProtoAny = 255;  // all protocols; goes with port 0

// A VIP's identity in VPP: prefix, protocol, port. Port 0 means "all ports"
// and then VPP forces protocol 255; Normalized() applies the same rules as
// VPP (and clears host bits), and is what comparisons with dumps must use.
struct VipKey {
  IpAddress address;
  uint8_t prefix_len = 32;
  uint8_t protocol = kLbProtoAny;
  uint16_t port = 0;

  // A single-address VIP (/32 or /128).
  static VipKey Host(const IpAddress& address, uint8_t protocol, uint16_t port);
  VipKey Normalized() const;
  bool IsValid() const;          // prefix length within the family
  std::string ToString() const;  // "192.0.2.80/32 tcp/80", "2001:db8::1/128 any"

  friend bool operator==(const VipKey&, const VipKey&) = default;
  friend auto operator<=>(const VipKey&, const VipKey&) = default;
};

// A VIP as we ask VPP to create it.
struct VipSpec {
  VipKey key;
  LbEncap encap = LbEncap::kGre4;
  bool src_ip_sticky = false;
  uint32_t new_flows_table_length = 1024;  // power of two; never 0
  uint8_t dscp = 0;                        // L3DSR only
  friend bool operator==(const VipSpec&, const VipSpec&) = default;
};

}  // namespace maglev
