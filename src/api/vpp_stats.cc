// SPDX-License-Identifier: Apache-2.0
#include "api/vpp_stats.h"

#include <algorithm>

#include "maglev/flow_hash.h"
#include "maglev/maglev.h"

namespace maglev {

absl::StatusOr<FlowLookupResult> LookupNewFlow(const VppVipData& vip, bool legacy_lb,
                                               bool src_ip_sticky, const IpAddress& src,
                                               uint16_t src_port, const IpAddress& dst,
                                               uint16_t dst_port, uint8_t protocol) {
  if (src.family() != dst.family()) {
    return absl::InvalidArgumentError("source " + src.ToString() + " and VIP " + dst.ToString() +
                                      " are not of the same address family");
  }
  if (!IsValidMaglevLength(vip.flow_table_length)) {
    return absl::InvalidArgumentError("VIP " + vip.prefix + " has a new-flow table length of " +
                                      std::to_string(vip.flow_table_length) +
                                      ", not a power of two");
  }
  std::vector<MaglevEntry> entries;
  std::vector<IpAddress> addresses;
  for (const VppAsData& a : vip.ases) {
    if ((a.flags & 1) == 0) continue;  // removed, awaiting GC: not in the table
    entries.push_back(MaglevEntry{a.address.ip46(), a.weight});
    addresses.push_back(a.address);
  }
  LbFlow flow;
  flow.ip6 = dst.is_v6();
  if (flow.ip6) {
    flow.src = src.ip46();
    flow.dst = dst.ip46();
  } else {
    std::copy(src.v4_bytes(), src.v4_bytes() + 4, flow.src.begin());
    std::copy(dst.v4_bytes(), dst.v4_bytes() + 4, flow.dst.begin());
  }
  flow.protocol = protocol;
  flow.src_port = src_port;
  flow.dst_port = dst_port;
  FlowLookupResult r;
  r.table_length = vip.flow_table_length;
  r.hash = LbFlowHash(flow, src_ip_sticky);
  r.bucket = LbNewFlowBucket(r.hash, r.table_length);
  if (entries.empty()) return r;
  std::vector<uint32_t> table = BuildNewFlowTable(
      entries, r.table_length, legacy_lb ? MaglevMode::kLegacy : MaglevMode::kWeighted);
  if (r.bucket < table.size() && table[r.bucket] < addresses.size()) {
    r.as = addresses[table[r.bucket]];
  }
  return r;
}

}  // namespace maglev
