// Desired dataplane state and the diff against what VPP has (spec §5.1, §5.2):
// frontend + effective weights -> the VIP and ASes VPP should hold, and the
// minimal, deterministically ordered list of lb calls that gets it there.
// Pure: no I/O, no clock; thread-agnostic (computed on the core loop, diffed
// on the VPP thread).
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "config/config.h"
#include "lb/effective_weights.h"
#include "vpp/lb_api.h"

namespace maglev {

struct DesiredAs {
  std::string backend;
  IpAddress address;
  uint8_t weight = 0;  // effective weight 0..100
  bool flush = false;  // flush sticky flows on the transition to 0
  friend bool operator==(const DesiredAs&, const DesiredAs&) = default;
};

struct DesiredVip {
  std::string frontend;
  VipSpec spec;
  std::vector<DesiredAs> ases;  // one per pool backend, ascending address
  friend bool operator==(const DesiredVip&, const DesiredVip&) = default;
};

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

// The VIP key of a frontend (single address, protocol number, port).
VipKey FrontendVipKey(const Frontend& fe);

// Builds the desired VIP for a frontend from its effective weights.
DesiredVip BuildDesiredVip(const Config& cfg, const Frontend& fe, const FrontendEffective& eff);

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
