// The diff between a desired VIP (lb/desired_vip.h, built by the lb stage)
// and what VPP has (spec §5.2): the minimal, deterministically ordered list
// of lb calls that gets VPP there, VPP's state grouped from dumps, and the
// cache kept exact by applying our own calls. Pure: no I/O, no clock;
// thread-agnostic (diffed on the VPP thread).
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "config/config.h"
#include "lb/desired_vip.h"
#include "vpp/lb_api.h"

namespace maglev {

// What VPP holds for one VIP.
struct ActualVip {
  VipInfo info;
  std::map<IpAddress, AsInfo> active;  // flags & 1
  std::set<IpAddress> removed;         // attached but removed, awaiting GC
  // src_ip_sticky is not reported by VPP's dumps: known only when this
  // process created the VIP.
  std::optional<bool> src_ip_sticky;
  // The dump truncates the table length to 16 bits (65536 reads as 0): the
  // full value is known only when this process created the VIP.
  std::optional<uint32_t> table_length;
};

// Whether a live VIP must be deleted and re-created to match (encap family,
// table length, or src-ip-sticky when known).
bool NeedsRecreate(const DesiredVip& want, const ActualVip& have);

// The calls that move `have` (nullptr: VIP absent) to `want`.
// `flush_now`: addresses whose state transition asked for a flush, issued
// even when their weight is already 0. With `level` below kWeights the
// membership fallback applies: weight 0 = AS removed, > 0 = present.
std::vector<LbCall> DiffVip(const DesiredVip& want, const ActualVip* have, LbApiLevel level,
                            const std::set<IpAddress>& flush_now);

// How VPP's copy of a VIP compares with the desired one (the frontend view's
// "does the dataplane agree?"). Uses DiffVip itself, so "in sync" means
// exactly "a sync of this frontend would send nothing".
struct VipComparison {
  bool vip_present = false;
  // Active ASes and the weight VPP holds for each (100 for an active AS
  // when the API has no weights).
  std::map<IpAddress, uint32_t> vpp_weights;
  std::vector<LbCall> pending;    // what a sync would send; empty: in sync
  std::set<IpAddress> differing;  // ASes a pending call adds, removes or re-weights
  bool in_sync() const { return pending.empty(); }
};
VipComparison CompareVip(const DesiredVip& want, const ActualVip* have, LbApiLevel level);

// Removes a VIP we no longer want: its active ASes with flush, then the VIP.
std::vector<LbCall> RemoveVipCalls(const ActualVip& have);

// Groups dumps into ActualVips (only VIPs present in `vips`; only ASes of
// those VIPs), keyed by normalised VIP key.
std::map<VipKey, ActualVip> GroupDumps(const std::vector<VipInfo>& vips,
                                       const std::vector<AsInfo>& ases);

// Applies a successful call to a cached ActualVip map (so event-driven syncs
// can diff without a dump round trip).
void ApplyToCache(const LbCall& call, std::map<VipKey, ActualVip>* cache);

// The global conf we want, from the config (addresses default to VPP's
// "unset" all-ones values when the config has none).
LbConf DesiredConf(const VppLbConfig& cfg);

}  // namespace maglev
