// The simulator's message catalogue: every message it publishes in the
// sockclnt_create_reply table, with VPP's real names and CRCs (lb 1.2.0 from
// master, or lb 1.1.0 as in VPP <= 26.06), and the id each one gets. memclnt
// messages keep VPP's fixed ids 1..28; vlib, vpe and lb get contiguous blocks
// like VPP's run-time allocator hands out (PROTOCOL.md §1.5). Pure;
// thread-agnostic after construction.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "absl/status/statusor.h"

namespace maglev::vppsim {

inline constexpr uint16_t kDefaultVlibFirstMsgId = 29;
inline constexpr uint16_t kDefaultVpeFirstMsgId = 47;
inline constexpr uint16_t kDefaultLbFirstMsgId = 553;
// ip.api: only the messages the simulator answers (ip_route_lookup and its
// reply), at the start of where VPP's ip block would be.
inline constexpr uint16_t kDefaultIpFirstMsgId = 200;
// Number of ids in each dynamic block (= messages in that module's .api).
inline constexpr uint16_t kVlibBlockSize = 18;
inline constexpr uint16_t kVpeBlockSize = 6;
inline constexpr uint16_t kLb120BlockSize = 26;
inline constexpr uint16_t kLb110BlockSize = 18;
inline constexpr uint16_t kIpBlockSize = 2;

struct MessageInfo {
  std::string name;    // e.g. "lb_add_del_vip"
  uint32_t crc = 0;    // e.g. 0x6fa569c7
  std::string module;  // "memclnt", "vlib", "vpe", "lb"
  uint16_t id = 0;
  // "name_crc" as published: "lb_add_del_vip_6fa569c7".
  std::string NameCrc() const;
};

// Where a field the simulator reads lies in a request payload: the name is
// the one vpp-lb-messages.json gives it under "fields" (nested types such
// as a prefix are one field), offset and size in bytes. The simulator's
// decoders read through these instead of bare numbers; they are independent
// of the client's codec (src/vpp) so that the two check each other, and
// tests/unit/vppsim/messages_test.cc checks them against the JSON.
struct WireField {
  std::string_view name;
  uint16_t offset;
  uint16_t size;
};

inline constexpr uint16_t kAddressSize = 17;  // vl_api_address_t: af + 16-byte union

namespace wire {
// Request header: the one without client_index is sockclnt_create.
inline constexpr WireField kMsgId{"_vl_msg_id", 0, 2};
inline constexpr WireField kClientIndex{"client_index", 2, 4};
inline constexpr WireField kContext{"context", 6, 4};
inline constexpr WireField kCreateContext{"context", 2, 4};
// memclnt, vlib
inline constexpr WireField kGetFirstMsgIdName{"name", 10, 64};
inline constexpr WireField kCreateName{"name", 6, 64};
inline constexpr WireField kDeleteIndex{"index", 10, 4};
inline constexpr WireField kCliCmd{"cmd", 10, 4};  // u32 BE length; the bytes follow
// ip_route_lookup
inline constexpr WireField kRouteTableId{"table_id", 10, 4};
inline constexpr WireField kRouteExact{"exact", 14, 1};
inline constexpr WireField kRoutePrefix{"prefix", 15, 18};
// lb_conf
inline constexpr WireField kConfIp4Src{"ip4_src_address", 10, 4};
inline constexpr WireField kConfIp6Src{"ip6_src_address", 14, 16};
inline constexpr WireField kConfStickyBuckets{"sticky_buckets_per_core", 30, 4};
inline constexpr WireField kConfFlowTimeout{"flow_timeout", 34, 4};
// The VIP selector every lb request but lb_vip_dump starts with (the prefix
// is an address then u8 len).
inline constexpr WireField kVipPfx{"pfx", 10, 18};
inline constexpr WireField kVipProtocol{"protocol", 28, 1};
inline constexpr WireField kVipPort{"port", 29, 2};
// lb_add_del_vip and lb_add_del_vip_v2, after the selector.
inline constexpr WireField kVipEncap{"encap", 31, 4};
inline constexpr WireField kVipDscp{"dscp", 35, 1};
inline constexpr WireField kVipType{"type", 36, 4};  // only its first byte counts (quirk 4)
inline constexpr WireField kVipTargetPort{"target_port", 40, 2};
inline constexpr WireField kVipNodePort{"node_port", 42, 2};
inline constexpr WireField kVipNewFlowsTableLength{"new_flows_table_length", 44, 4};
inline constexpr WireField kVipIsDel{"is_del", 48, 1};
inline constexpr WireField kVipV2SrcIpSticky{"src_ip_sticky", 48, 1};
inline constexpr WireField kVipV2IsDel{"is_del", 49, 1};
// lb_add_del_as, lb_add_del_as_v2 and lb_as_set_weight, after the selector.
inline constexpr WireField kAsAddress{"as_address", 31, 17};
inline constexpr WireField kAsIsDel{"is_del", 48, 1};
inline constexpr WireField kAsIsFlush{"is_flush", 49, 1};
inline constexpr WireField kAsV2Weight{"weight", 48, 1};
inline constexpr WireField kAsV2IsDel{"is_del", 49, 1};
inline constexpr WireField kAsV2IsFlush{"is_flush", 50, 1};
inline constexpr WireField kSetWeightWeight{"weight", 48, 1};
inline constexpr WireField kSetWeightIsFlush{"is_flush", 49, 1};
// lb_add_del_intf_nat4 / nat6
inline constexpr WireField kIntfNatIsAdd{"is_add", 10, 1};
inline constexpr WireField kIntfNatSwIfIndex{"sw_if_index", 11, 4};
}  // namespace wire

// A request the simulator handles: its fixed size (shorter payloads are
// dropped as truncated) and the fields it reads.
struct RequestLayout {
  std::string_view name;
  uint16_t fixed_size;
  std::span<const WireField> fields;
};

// Every request with a handler, in handler order.
std::span<const RequestLayout> RequestLayouts();
// nullptr for a name without a layout.
const RequestLayout* FindRequestLayout(std::string_view name);

class MessageTable {
 public:
  struct Options {
    bool legacy_lb = false;  // lb 1.1.0 message set instead of 1.2.0
    uint16_t vlib_first_msg_id = kDefaultVlibFirstMsgId;
    uint16_t vpe_first_msg_id = kDefaultVpeFirstMsgId;
    uint16_t lb_first_msg_id = kDefaultLbFirstMsgId;
    uint16_t ip_first_msg_id = kDefaultIpFirstMsgId;
  };

  // Fails when blocks overlap each other, the memclnt ids, or exceed u16.
  static absl::StatusOr<MessageTable> Create(const Options& options);

  // Every published message, in a fixed pseudo-random ("hash") order as VPP
  // lists them: clients must not depend on the order.
  const std::vector<MessageInfo>& messages() const { return messages_; }
  std::optional<uint16_t> IdOf(std::string_view name) const;
  const MessageInfo* ById(uint16_t id) const;
  // get_first_msg_id: "<module>_<crc>" block name -> base id.
  std::optional<uint16_t> FirstMsgId(std::string_view block_name) const;
  bool legacy_lb() const { return legacy_lb_; }

 private:
  MessageTable() = default;
  std::vector<MessageInfo> messages_;
  std::unordered_map<std::string, uint16_t> by_name_;
  std::unordered_map<uint16_t, size_t> by_id_;
  std::unordered_map<std::string, uint16_t> blocks_;
  bool legacy_lb_ = false;
};

}  // namespace maglev::vppsim
