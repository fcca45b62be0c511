// SPDX-License-Identifier: Apache-2.0
// Parses VPP's `show lb vips verbose` (cli_inband) into VIP pool indices,
// keys, counters and ASs: the binary API does not expose a VIP's pool index,
// which keys the lb counters in the stats segment (STATS.md §4.2). The text
// is format_lb_vip_detailed's (see docs/vppsim.md; the simulator prints it
// byte for byte). Lines it does not know are skipped. Pure; thread-agnostic.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/ip_address.h"

namespace maglev {

struct LbCliAs {
  IpAddress address;
  uint32_t weight = 0;
  uint32_t buckets = 0;
  uint64_t flows = 0;  // sticky entries referencing it
  uint32_t dpo = 0;
  bool used = false;
};

struct LbCliVip {
  uint32_t index = 0;  // the VIP's pool index
  std::string type;    // "ip4-gre4", ...
  IpAddress prefix;
  uint8_t plen = 0;        // as printed (IPv4: 0..32)
  uint8_t protocol = 255;  // 255 for all-port VIPs
  uint16_t port = 0;
  bool src_ip_sticky = false;
  bool removed = false;                // deleted, awaiting GC
  std::array<uint64_t, 4> counters{};  // in VPP's order
  std::vector<LbCliAs> ases;
};

std::vector<LbCliVip> ParseShowLbVipsVerbose(std::string_view text);

}  // namespace maglev
