// The API's view of the VPP dataplane: what the VPP RPCs (GetVPPInfo,
// GetVPPLBState, SyncVPPLBState) need, behind an interface so that the gRPC
// service does not depend on the VPP client. maglevd implements it on top of
// its VPP connection and reconciler; tests use fakes. With no dataplane
// (`--vpp-api-addr ""`) the service gets nullptr and answers UNAVAILABLE.
//
// Threading: the service calls these methods on the core loop thread; the
// `done` callbacks may run on any thread, exactly once each.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/ip_address.h"

namespace maglev {

struct VppInfoData {
  bool connected = false;
  std::string version, build_date, build_directory;
  std::string lb_api;  // e.g. "lb 1.2.0 (weights)" or "legacy (membership fallback)"
  uint32_t pid = 0;
  int64_t boottime_ns = 0;     // VPP start, unix ns
  int64_t connecttime_ns = 0;  // our connection, unix ns
};

struct VppAsData {
  IpAddress address;
  uint32_t weight = 0;
  uint32_t flags = 0;  // bit 0 used, bit 1 flushed
  uint32_t num_buckets = 0;
  int64_t in_use_since_ns = 0;
  uint32_t in_use_since_s = 0;  // as VPP reports it: seconds of VPP's uptime
};

struct VppVipData {
  std::string prefix;  // CIDR
  uint32_t protocol = 0;
  uint32_t port = 0;
  std::string encap;  // gre4|gre6|l3dsr|nat4|nat6
  uint32_t flow_table_length = 0;
  std::vector<VppAsData> ases;
};

struct VppLbStateData {
  std::string ip4_src, ip6_src;
  uint32_t sticky_buckets_per_core = 0;
  uint32_t flow_timeout = 0;  // seconds
  std::vector<VppVipData> vips;
  bool legacy_lb = false;  // lb <= 1.1.0: the new-flow table ignores weights
};

// How VPP's copy of one frontend's VIP compares with the desired state.
struct FrontendDataplaneData {
  std::string status;  // in-sync | out-of-sync | warmup
  bool vip_present = false;
  std::map<IpAddress, uint32_t> as_weights;  // active ASes in VPP and their weight
  std::set<IpAddress> differing;             // ASes a sync would change
  std::vector<std::string> pending;          // the calls a sync would send, in order
};

class Dataplane {
 public:
  virtual ~Dataplane() = default;
  // Called on the core loop; `done` may run on any thread. Errors are
  // returned to the client as is (e.g. Unavailable when VPP is not
  // connected).
  virtual void GetInfo(std::function<void(absl::StatusOr<VppInfoData>)> done) = 0;
  virtual void GetLbState(std::function<void(absl::StatusOr<VppLbStateData>)> done) = 0;
  // Reconciles one frontend (never removes VIPs) or, with nullopt, every
  // frontend (and removes VIPs not in the configuration).
  virtual void Sync(std::optional<std::string> frontend,
                    std::function<void(absl::Status)> done) = 0;
  // Reads the frontend's VIP from VPP (not from any cache) and compares it
  // with the desired state. Read-only. The frontend exists (the caller
  // checked, on the core loop).
  virtual void InspectFrontend(const std::string& frontend,
                               std::function<void(absl::StatusOr<FrontendDataplaneData>)> done) = 0;
};

}  // namespace maglev
