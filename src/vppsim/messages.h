// The simulator's message catalogue: every message it publishes in the
// sockclnt_create_reply table, with VPP's real names and CRCs (lb 1.2.0 from
// master, or lb 1.1.0 as in VPP <= 26.06), and the id each one gets. memclnt
// messages keep VPP's fixed ids 1..28; vlib, vpe and lb get contiguous blocks
// like VPP's run-time allocator hands out (PROTOCOL.md §1.5). Pure;
// thread-agnostic after construction.
#pragma once

#include <cstdint>
#include <optional>
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
