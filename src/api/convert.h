// Conversion from the daemon's domain types (config, checker snapshots,
// effective weights, dataplane data) to the API's protobuf messages. Pure
// functions; callers run them on the core loop where the inputs live.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "api/dataplane.h"
#include "api/vpp_stats.h"
#include "checker/checker.h"
#include "config/config.h"
#include "health/state_machine.h"
#include "lb/effective_weights.h"
#include "lb/lb_stage.h"
#include "proto/maglev.pb.h"

namespace maglev {

void FillTransitionRecord(const Transition& t, TransitionRecord* out);

// Every pool backend gets its configured (runtime) and effective weight and
// its state; `eff` must have been computed for `fe`.
// vpp_weight is -1 (not known) until FillFrontendDataplane fills it.
void FillFrontendInfo(const Frontend& fe, const FrontendEffective& eff, FrontendInfo* out);

// The dataplane fields of a filled FrontendInfo: `data` from
// Dataplane::InspectFrontend (an error reads as "unknown" with its message);
// `addresses`: each pool backend's address, by backend name.
void FillFrontendDataplane(const absl::StatusOr<FrontendDataplaneData>& data,
                           const std::map<std::string, IpAddress>& addresses, FrontendInfo* out);

// `frontends`: the frontends referencing the backend, sorted; `lb`: its
// drain and slow-start state.
void FillBackendInfo(const BackendSnapshot& snap, const std::vector<std::string>& frontends,
                     const LbStage& lb, BackendInfo* out);

void FillHealthCheckInfo(const HealthCheck& hc, HealthCheckInfo* out);

void FillVppInfo(const VppInfoData& in, VPPInfo* out);
// `vpp_boottime_ns` (0: unknown) turns the removed ASes' in_use_since
// (seconds of VPP's uptime) into unix ns. An address dumped twice for one VIP
// (a deleted VIP's removed AS awaiting GC, next to the re-created VIP's) is
// listed once, the active entry winning.
void FillVppLbState(const VppLbStateData& in, VPPLBState* out, int64_t vpp_boottime_ns = 0);
std::vector<VppAsData> DedupeVipAses(const std::vector<VppAsData>& ases);
// Unix ns of an AS's removal from VPP's uptime seconds; 0 for an active AS
// (VPP's value is then unspecified) or an unknown boot time.
int64_t InUseSinceNs(uint32_t in_use_since_s, uint32_t flags, int64_t vpp_boottime_ns);

// GetVPPLBCounters: `frontends` (name, VIP key) in the reply's order, `r`'s
// vips parallel to it.
void FillVppLbCounters(const std::vector<std::pair<std::string, VipKey>>& frontends,
                       const VppCountersReading& r, VPPLBCounters* out);

// Frontends that reference `backend` in any pool, sorted.
std::vector<std::string> FrontendsReferencing(const Config& cfg, const std::string& backend);

}  // namespace maglev
