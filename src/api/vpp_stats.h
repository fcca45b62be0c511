// SPDX-License-Identifier: Apache-2.0
// The API's view of VPP's stats segment (GetVPPLBCounters, VPPInfo's boot
// time, VPPLBAS.in_use_since_ns), behind an interface so that the gRPC
// service does not depend on the scraper; maglevd implements it over its
// StatsScraper (apps/maglevd/vpp_stats.h), tests may use fakes. With the
// stats segment off (`--vpp-stats-addr ""`) the service gets nullptr and
// answers UNAVAILABLE. Also the pure "which AS does a new flow land on"
// computation of LookupVPPLBFlow.
//
// Threading: VppStats' methods are thread-safe and never block on VPP (they
// read the latest sample). LookupNewFlow is pure.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "api/dataplane.h"
#include "common/ip_address.h"
#include "lb/vip.h"

namespace maglev {

struct VppVipCounterValues {
  std::array<uint64_t, 4> lb{};  // existing sessions, first session, untracked, no server
  uint64_t route_packets = 0, route_bytes = 0;
};

struct VppVipCounters {
  bool in_vpp = false;  // VPP has a live VIP with that key
  uint32_t vip_index = 0;
  std::optional<uint32_t> route_stats_index;
  VppVipCounterValues now;
  // From the sample before, when the same VIP (same pool index) was there.
  std::optional<VppVipCounterValues> previous;
};

struct VppCountersReading {
  int64_t time_ns = 0;
  int64_t previous_time_ns = 0;  // 0: no previous sample
  int64_t interval_ns = 0;
  std::vector<VppVipCounters> vips;  // one per requested key, in order
};

class VppStats {
 public:
  virtual ~VppStats() = default;
  // Unavailable (with the reason) when there is no good sample.
  virtual absl::StatusOr<VppCountersReading> Counters(const std::vector<VipKey>& keys) const = 0;
  // VPP's start (/sys/boottime) as unix ns, from the latest sample; 0 when
  // unknown.
  virtual int64_t BoottimeNs() const = 0;
};

struct FlowLookupResult {
  uint32_t hash = 0;
  uint32_t bucket = 0;
  uint32_t table_length = 0;
  std::optional<IpAddress> as;  // nullopt: no AS takes new flows (dropped)
};

// The AS a new flow of (src, sport) -> (dst, dport, protocol) gets at `vip`
// (its ASes as VPP dumps them: only those with the "used" flag are in the
// table; `legacy_lb`: the table ignores weights). InvalidArgument when the
// families differ or the table length is not a power of two.
absl::StatusOr<FlowLookupResult> LookupNewFlow(const VppVipData& vip, bool legacy_lb,
                                               bool src_ip_sticky, const IpAddress& src,
                                               uint16_t src_port, const IpAddress& dst,
                                               uint16_t dst_port, uint8_t protocol);

}  // namespace maglev
