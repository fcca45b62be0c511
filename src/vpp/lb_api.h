// The typed view of VPP's lb (Maglev) plugin that the reconciler programs
// against: value types for VIPs, ASes and the global conf, the mutating calls
// as data (LbCall, so they can be batched, logged and compared in tests), and
// the abstract LbApi interface. LbClient (lb_client.h) implements it over the
// VPP socket; tests may implement it in memory. No wire details here.
//
// Pure value types and an interface; implementations state their threading.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/ip_address.h"
#include "lb/vip.h"

namespace maglev {

// What the connected VPP's lb plugin can do (PROTOCOL.md §1.12).
enum class LbApiLevel {
  kNone,       // not connected / plugin absent
  kLegacy,     // lb 1.1.0 or older (<= VPP 26.06): no weights, no lb_conf_get
  kNoWeights,  // lb 1.2.0 without weights (lb_conf_get, no lb_as_set_weight)
  kWeights,    // lb 1.2.0 with weights: lb_conf_get, *_v2, lb_as_set_weight, lb_as_v2_dump
};
std::string_view LbApiLevelName(LbApiLevel level);  // "none", "legacy", "no-weights", "weights"

// A VIP as lb_vip_dump reports it (src_ip_sticky is not reported by VPP).
struct VipInfo {
  VipKey key;
  LbEncap encap = LbEncap::kGre4;
  uint8_t dscp = 0;
  uint32_t srv_type = 0;     // NAT only (decoded with VPP's host-order quirk)
  uint16_t target_port = 0;  // NAT only (decoded with VPP's byte-swap quirk)
  // The VIP's new-flow table length truncated to 16 bits by VPP (65536 -> 0).
  uint16_t flow_table_length_low16 = 0;
  bool FlowTableLengthMatches(uint32_t length) const {
    return (length & 0xffff) == flow_table_length_low16;
  }
  friend bool operator==(const VipInfo&, const VipInfo&) = default;
};

// An AS as lb_as_dump / lb_as_v2_dump reports it. Removed ASes awaiting VPP's
// garbage collection are included with active() == false.
struct AsInfo {
  VipKey vip;
  IpAddress address;
  uint8_t flags = 0;
  uint32_t in_use_since = 0;
  std::optional<uint8_t> weight;        // lb_as_v2_dump only
  std::optional<uint32_t> num_buckets;  // lb_as_v2_dump only
  bool active() const { return (flags & 1) != 0; }
  friend bool operator==(const AsInfo&, const AsInfo&) = default;
};

// Global lb configuration (lb_conf / lb_conf_get).
struct LbConf {
  IpAddress ip4_src_address;                // IPv4
  IpAddress ip6_src_address;                // IPv6
  uint32_t sticky_buckets_per_core = 1024;  // power of two; 0xffffffff = keep
  uint32_t flow_timeout = 40;               // seconds; 0xffffffff = keep
  friend bool operator==(const LbConf&, const LbConf&) = default;
};

struct VppVersionInfo {
  std::string program;
  std::string version;
  std::string build_date;
  std::string build_directory;
  uint32_t vpe_pid = 0;  // from control_ping_reply
};

// The mutating calls, as data.
struct LbAddVip {
  VipSpec spec;
  friend bool operator==(const LbAddVip&, const LbAddVip&) = default;
};
struct LbDelVip {
  VipKey key;
  friend bool operator==(const LbDelVip&, const LbDelVip&) = default;
};
struct LbAddAs {
  VipKey vip;
  IpAddress address;
  uint8_t weight = 100;  // 0..100; ignored below LbApiLevel::kWeights (VPP uses 100)
  bool flush = false;    // only matters when re-activating a removed AS
  friend bool operator==(const LbAddAs&, const LbAddAs&) = default;
};
struct LbDelAs {
  VipKey vip;
  IpAddress address;
  bool flush = false;
  friend bool operator==(const LbDelAs&, const LbDelAs&) = default;
};
struct LbSetAsWeight {
  VipKey vip;
  IpAddress address;
  uint8_t weight = 0;  // 0..100
  bool flush = false;
  friend bool operator==(const LbSetAsWeight&, const LbSetAsWeight&) = default;
};
struct LbFlushVip {
  VipKey key;
  friend bool operator==(const LbFlushVip&, const LbFlushVip&) = default;
};
struct LbSetConf {
  LbConf conf;
  friend bool operator==(const LbSetConf&, const LbSetConf&) = default;
};
using LbCall =
    std::variant<LbAddVip, LbDelVip, LbAddAs, LbDelAs, LbSetAsWeight, LbFlushVip, LbSetConf>;

// One line for logs, e.g. "add-as 192.0.2.80/32 tcp/80 198.51.100.10 weight 100".
std::string DescribeLbCall(const LbCall& call);

// If `status` came from a VPP reply with a non-zero retval, that retval.
std::optional<int32_t> VppRetvalOf(const absl::Status& status);
// "VNET_API_ERROR_VALUE_EXIST" for -81, or "" when the value is not known.
std::string_view VnetApiErrorName(int32_t retval);
// The Status for a non-zero retval of `message`, e.g. "lb_add_del_as_v2:
// VNET_API_ERROR_VALUE_EXIST (-81)", code mapped (-6 NotFound, -81
// AlreadyExists, -7/-70/-73/-97 InvalidArgument, else Unknown) and the retval
// attached (VppRetvalOf). OK for 0.
absl::Status VppRetvalStatus(std::string_view message, int32_t retval);

// The dataplane as the reconciler sees it. Every call blocks until VPP
// answers or fails; see the implementation for threading.
class LbApi {
 public:
  virtual ~LbApi() = default;

  virtual LbApiLevel api_level() const = 0;

  // Liveness check; returns VPP's process id.
  virtual absl::StatusOr<uint32_t> ControlPing() = 0;
  virtual absl::StatusOr<VppVersionInfo> ShowVersion() = 0;

  // Unimplemented below LbApiLevel::kNoWeights.
  virtual absl::StatusOr<LbConf> ConfGet() = 0;
  virtual absl::Status SetConf(const LbConf& conf) = 0;

  virtual absl::Status AddVip(const VipSpec& spec) = 0;
  virtual absl::Status DelVip(const VipKey& key) = 0;
  virtual absl::Status AddAs(const LbAddAs& call) = 0;
  virtual absl::Status DelAs(const LbDelAs& call) = 0;
  // Unimplemented below LbApiLevel::kWeights.
  virtual absl::Status SetAsWeight(const LbSetAsWeight& call) = 0;
  // VPP answers OK even for an unknown VIP: check existence first.
  virtual absl::Status FlushVip(const VipKey& key) = 0;

  // Every active VIP.
  virtual absl::StatusOr<std::vector<VipInfo>> DumpVips() = 0;
  // Every AS of every VIP VPP still holds (including deleted VIPs and removed
  // ASes awaiting garbage collection).
  virtual absl::StatusOr<std::vector<AsInfo>> DumpAllAses() = 0;
  // The ASes of one VIP (dumped without a VPP-side filter, filtered here by
  // the normalised key). If a VIP with this key was deleted and re-created
  // before VPP collected the old one, the old VIP's ASes are listed too (all
  // inactive), so an address may appear twice: trust the active entry.
  virtual absl::StatusOr<std::vector<AsInfo>> DumpAses(const VipKey& vip) = 0;

  // Sends all calls pipelined, then collects all answers: one Status per
  // call, in order. VPP executes them in order, so later calls may depend on
  // earlier ones (e.g. add VIP, then add its ASes).
  virtual std::vector<absl::Status> Execute(const std::vector<LbCall>& calls) = 0;
};

}  // namespace maglev
