// The lb plugin's control-plane state as VPP keeps it (PROTOCOL.md §4): the
// global conf, the VIP pool (slot 0 = hidden placeholder), the AS pool (slot
// 0 = the "no server" placeholder), per-VIP AS slots, the Maglev new-flow
// table rebuilt when VPP rebuilds it, and the garbage collection of removed
// ASs and deleted VIPs. Handlers take requests decoded from the wire (raw
// field values, before VPP's normalisation) and return VPP's retval, with
// VPP's validation order and quirks (§3.2, §4.7, §4.8). No I/O; time comes
// from an injected clock. Not thread-safe: one thread (the server's loop).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "maglev/flow_hash.h"
#include "maglev/maglev.h"

namespace maglev::vppsim {

// VNET_API_ERROR_* values the lb plugin returns (§4.7).
inline constexpr int32_t kRetOk = 0;
inline constexpr int32_t kRetInvalidSwIfIndex = -2;
inline constexpr int32_t kRetNoSuchEntry = -6;
inline constexpr int32_t kRetInvalidValue = -7;
inline constexpr int32_t kRetInvalidMemorySize = -70;
inline constexpr int32_t kRetInvalidArgument = -73;
inline constexpr int32_t kRetValueExist = -81;
inline constexpr int32_t kRetInvalidAddressFamily = -97;

// lb_encap_type on the wire.
inline constexpr uint32_t kEncapGre4 = 0;
inline constexpr uint32_t kEncapGre6 = 1;
inline constexpr uint32_t kEncapL3dsr = 2;
inline constexpr uint32_t kEncapNat4 = 3;
inline constexpr uint32_t kEncapNat6 = 4;
inline constexpr uint8_t kSrvTypeClusterIp = 0;
inline constexpr uint8_t kSrvTypeNodePort = 1;
inline constexpr uint8_t kProtocolAny = 255;

// VPP's internal VIP type (family of the VIP x encap).
enum class LbVipType : uint8_t {
  kIp6Gre6 = 0,
  kIp6Gre4 = 1,
  kIp4Gre6 = 2,
  kIp4Gre4 = 3,
  kIp4L3dsr = 4,
  kIp4Nat4 = 5,
  kIp6Nat6 = 6,
};
const char* LbVipTypeName(LbVipType t);  // "ip4-gre4", ...
uint32_t LbVipTypeEncap(LbVipType t);    // back to lb_encap_type
bool LbVipTypeIsIp4(LbVipType t);        // VIP family
bool LbVipTypeEncapIsIp4(LbVipType t);   // AS family required by the encap

using Ip46 = std::array<uint8_t, 16>;
// True when VPP would treat the 16 bytes as IPv4 (first 12 bytes zero).
bool Ip46IsIp4(const Ip46& a);
std::string FormatIp46(const Ip46& a);

// vl_api_address_t as received: af (0 = IPv4, 1 = IPv6) + 16-byte union.
struct ApiAddress {
  uint8_t af = 0;
  std::array<uint8_t, 16> un{};
};
// The VIP-naming fields common to lb requests: pfx, protocol, port.
struct ApiVipKey {
  ApiAddress address;
  uint8_t len = 0;
  uint8_t protocol = 0;
  uint16_t port = 0;
};
// ip46 form of an API address (IPv4 = 12 zero bytes + 4 bytes).
Ip46 DecodeApiAddress(const ApiAddress& a);

// The lb plugin's four per-VIP counters (STATS.md §4.2), in VPP's order; their
// stats-segment names are these strings verbatim.
enum LbVipCounter : uint32_t {
  kCounterNextPacket = 0,   // "packet from existing sessions"
  kCounterFirstPacket = 1,  // "first session packet"
  kCounterUntracked = 2,    // "untracked packet"
  kCounterNoServer = 3,     // "no server configured"
  kNumVipCounters = 4,
};
extern const char* const kLbVipCounterNames[kNumVipCounters];

// Where the model's counters are mirrored besides its own memory: the stats
// segment (vppsim/sim_stats.h). Called on the model's thread.
class LbStatsSink {
 public:
  virtual ~LbStatsSink() = default;
  // vlib_validate + vlib_zero of the four counters at a new VIP's pool index
  // (the counters are created at the first call).
  virtual void ResetVipCounters(uint32_t vip_index) = 0;
  virtual void CountVip(LbVipCounter counter, uint32_t thread, uint32_t vip_index) = 0;
  // A load-balance was allocated: /net/route/to and /via validated and zeroed.
  virtual void ResetRoute(uint32_t lb_index) = 0;
  // ip4-/ip6-lookup forwarded one packet with this load-balance.
  virtual void CountRoute(uint32_t thread, uint32_t lb_index, uint64_t bytes) = 0;
};

// What the lb node did with one injected packet.
struct LbPacketResult {
  uint32_t vip_index = 0;  // 0: the placeholder (per-port miss)
  uint32_t thread = 0;
  uint32_t hash = 0;
  uint32_t route_lb = 0;  // the load-balance whose /net/route/to counted it
  LbVipCounter counter = kCounterNoServer;
  uint32_t as_index = 0;  // 0: dropped (no server)
};

struct LbConf {
  std::array<uint8_t, 4> ip4_src{0xff, 0xff, 0xff, 0xff};
  std::array<uint8_t, 16> ip6_src{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  uint32_t sticky_buckets_per_core = 1024;
  uint32_t flow_timeout = 40;
};

struct VipAddDelRequest {
  ApiVipKey key;
  uint32_t encap = kEncapGre4;
  uint8_t dscp = 0;
  uint8_t srv_type = 0;  // VPP keeps only the first wire byte of `type` (quirk 4)
  uint16_t target_port = 0;
  uint16_t node_port = 0;  // ignored, as by VPP
  uint32_t new_flows_table_length = 0;
  bool src_ip_sticky = false;
  bool is_del = false;
};

struct AsAddDelRequest {
  ApiVipKey vip;
  ApiAddress as;
  bool v2 = false;  // lb_add_del_as_v2: weight and is_flush on add are used
  uint8_t weight = 100;
  bool is_del = false;
  bool is_flush = false;
};

struct AsSetWeightRequest {
  ApiVipKey vip;
  ApiAddress as;
  uint8_t weight = 0;
  bool is_flush = false;
};

struct LbAs {
  Ip46 address{};
  // The load-balance of the AS's host route (FIB source RR), which lb stacks
  // the AS's DPO on: "dpo:N" in `show lb vips verbose`.
  uint32_t dpo = 0;
  uint32_t vip_index = 0;
  bool active = false;  // flags bit 0
  uint8_t weight = 100;
  uint32_t last_used = 0;  // VPP uptime (s) at the last removal; 0 if never removed
  uint32_t num_buckets = 0;
};

struct LbVip {
  Ip46 prefix{};     // normalised (host bits cleared)
  uint8_t plen = 0;  // internal length: +96 for IPv4
  uint8_t protocol = kProtocolAny;
  uint16_t port = 0;
  LbVipType type = LbVipType::kIp6Gre6;
  // dscp (L3DSR) and srv_type (NAT) share one byte in VPP (quirk 3).
  uint8_t encap_arg = 0;
  uint16_t target_port = 0;  // NAT only, host order
  bool active = false;
  bool src_ip_sticky = false;
  uint32_t table_length = 0;
  // bucket -> global AS index (0 = placeholder). Left empty when the length is
  // 0 or too big to materialise (counts are then computed in closed form).
  std::vector<uint32_t> new_flow_table;
  std::vector<std::optional<uint32_t>> as_slots;  // VPP's per-VIP AS pool
  std::vector<uint32_t> free_as_slots;
  uint32_t last_gc = 0;
  uint32_t num_ases() const;
};

class LbModel {
 public:
  struct Options {
    // lb <= 1.1.0 behaviour: weights ignored by the builder (§4.3 "older
    // builder"). The message set and the absence of a background GC are
    // handled by the handler and the server.
    bool legacy = false;
    // Interfaces 0..num_interfaces-1 exist (for lb_add_del_intf_nat4/6).
    uint32_t num_interfaces = 3;
    // Tables longer than this are not materialised (bucket counts are exact
    // anyway: they do not depend on the hash).
    uint32_t max_materialised_table = 1u << 22;
    // VPP threads (main + workers): one sticky table and one counter column
    // each.
    uint32_t num_threads = 1;
  };
  // Seconds since the simulated VPP started (VPP's vlib_time_now()).
  using Clock = std::function<double()>;

  LbModel(Options options, Clock clock);

  // Message handlers; each returns VPP's retval.
  int32_t Conf(const LbConf& requested);
  const LbConf& conf() const { return conf_; }
  int32_t AddDelVip(const VipAddDelRequest& r);
  int32_t AddDelAs(const AsAddDelRequest& r);
  int32_t SetWeight(const AsSetWeightRequest& r);
  // Always 0, even for an unknown VIP (quirk 6).
  int32_t FlushVip(const ApiVipKey& key);
  int32_t AddDelIntfNat(bool ip6, bool is_add, uint32_t sw_if_index);

  // lb_vip_dump: active VIPs (placeholder excluded) in pool order.
  std::vector<uint32_t> VipDump() const;
  // lb_as_dump / lb_as_v2_dump with VPP's raw filter (quirk 2): all-zero
  // `un` = everything; removed ASs and deleted-but-not-collected VIPs included.
  struct AsRef {
    uint32_t vip_index;
    uint32_t as_index;
  };
  std::vector<AsRef> AsDump(const ApiVipKey& filter) const;
  const LbVip& vip(uint32_t index) const { return *vips_[index]; }
  const LbAs& as(uint32_t index) const { return *ases_[index]; }

  // One wake-up of VPP's background GC process (every 60 s on master).
  void BackgroundGc();

  // cli_inband output of "show lb vips [verbose]" and "show lb", byte for
  // byte as VPP's format_lb_vip / format_lb_vip_detailed / format_lb_main.
  std::string ShowVips(bool verbose) const;
  std::string ShowLb() const;

  // The stats segment to mirror counters to (nullptr: none). Set before the
  // first call that changes state.
  void set_stats_sink(LbStatsSink* sink);

  // One packet through ip4-/ip6-lookup and the lb node on `thread`
  // (STATS.md §5): the VIP found by longest prefix match and, for per-port
  // VIPs, (protocol, destination port); the flow hash; the sticky table; one
  // of the four counters; /net/route/to. nullopt when the destination matches
  // no VIP route (the packet never reaches lb). `ip_length` is the IP packet
  // length counted as route bytes.
  std::optional<LbPacketResult> InjectPacket(const LbFlow& flow, uint32_t thread,
                                             uint32_t ip_length);
  // "test lb flowtable flush": every thread's sticky table freed.
  void FlushAllFlowTables();
  // The per-VIP counters summed over threads (0 past the end).
  uint64_t VipCounter(LbVipCounter counter, uint32_t vip_index) const;
  // ip_route_lookup (table 0, exact): the route's stats_index.
  std::optional<uint32_t> RouteStatsIndex(bool ip6, const Ip46& prefix, uint8_t plen) const;
  // The route counters the model keeps for tests (summed over threads).
  uint64_t RoutePackets(uint32_t lb_index) const;
  uint32_t num_threads() const { return options_.num_threads; }
  // Sticky entries referencing an AS (VPP's as_refcount; "flows:N").
  int64_t AsRefcount(uint32_t as_index) const;

  uint32_t NowSeconds() const;
  // VIP slots in use except the placeholder (active or awaiting GC).
  size_t num_vip_slots() const;
  size_t num_as_slots() const;  // ASs in the pool except the placeholder
  uint64_t sticky_flushes() const { return sticky_flushes_; }
  bool legacy() const { return options_.legacy; }

 private:
  struct VipKey {
    Ip46 prefix{};
    uint8_t plen = 0;
    uint8_t protocol = 0;
    uint16_t port = 0;
  };
  enum class Lookup { kSame, kAllPort, kDiffPort };

  static VipKey Normalise(const ApiVipKey& k);
  std::optional<uint32_t> FindVip(const VipKey& key, Lookup how) const;
  std::optional<uint32_t> FindAsInVip(const LbVip& vip, const Ip46& addr) const;
  void RebuildTable(LbVip& vip);
  void VipGc(LbVip& vip);
  void FreeAs(LbVip& vip, size_t slot);
  // lb_flush_vip_as: ~0u as a wildcard.
  void FlushAs(uint32_t vip_index, uint32_t as_index);
  uint32_t AllocVip();
  uint32_t AllocAs();
  uint32_t IndexOf(const LbVip& vip) const;

  // The FIB of table 0 as far as lb touches it: one load-balance per entry,
  // entries shared by sources (lb's VIP prefixes, RR host routes of ASs).
  struct FibKey {
    bool ip6 = false;
    Ip46 prefix{};
    uint8_t plen = 0;  // the family's own length
    auto operator<=>(const FibKey&) const = default;
  };
  struct FibEntry {
    uint32_t lb_index = 0;
    uint32_t lb_refs = 0;  // VIP source
    uint32_t rr_refs = 0;  // AS host routes
  };
  static FibKey VipFibKey(const LbVip& vip);
  FibKey AsFibKey(const LbVip& vip, const LbAs& as) const;
  uint32_t FibAdd(const FibKey& key, bool rr);
  void FibRemove(const FibKey& key, bool rr);
  bool OtherPortVipOnPrefix(const LbVip& vip, uint32_t self) const;

  // One thread's sticky table (lbhash.h): buckets of 4 entries.
  struct StickyBucket {
    uint32_t hash[4] = {};
    uint32_t timeout[4] = {};
    uint32_t vip[4] = {};
    uint32_t value[4] = {};
  };
  struct StickyTable {
    std::vector<StickyBucket> buckets;
    uint32_t timeout = 0;
  };
  StickyTable& GetStickyTable(uint32_t thread);
  void AddRef(uint32_t as_index, int64_t delta);

  Options options_;
  Clock clock_;
  LbConf conf_;
  std::vector<std::optional<LbVip>> vips_;
  std::vector<uint32_t> free_vips_;
  std::vector<std::optional<LbAs>> ases_;
  std::vector<uint32_t> free_ases_;
  std::set<uint16_t> node_ports_;
  std::set<uint32_t> nat4_interfaces_;
  std::set<uint32_t> nat6_interfaces_;
  uint64_t sticky_flushes_ = 0;
  LbStatsSink* sink_ = nullptr;
  // counters_[counter][thread][vip index]
  std::array<std::vector<std::vector<uint64_t>>, kNumVipCounters> counters_;
  std::map<FibKey, FibEntry> fib_;
  std::vector<bool> lb_used_;
  std::vector<uint32_t> free_lbs_;
  std::vector<uint64_t> route_packets_;             // summed over threads, by lb index
  std::vector<std::optional<StickyTable>> sticky_;  // by thread
  std::vector<int64_t> as_refcount_;
};

}  // namespace maglev::vppsim
