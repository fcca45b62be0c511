#include "vppsim/messages.h"

#include <algorithm>
#include <cstdio>
#include <iterator>

#include "absl/status/status.h"

namespace maglev::vppsim {
namespace {

struct Def {
  const char* name;
  uint32_t crc;
};

// memclnt.api in definition order: ids 1..28, fixed in every VPP.
constexpr Def kMemclnt[] = {
    {"memclnt_create", 0x9c5e1c2f},         {"memclnt_create_reply", 0x42ec4560},
    {"memclnt_delete", 0x7e1c04e3},         {"memclnt_delete_reply", 0x3d3b6312},
    {"rx_thread_exit", 0xc3a3a452},         {"memclnt_rx_thread_suspend", 0xc3a3a452},
    {"memclnt_read_timeout", 0xc3a3a452},   {"rpc_call", 0x7e8a2c95},
    {"rpc_call_reply", 0xe8d4e804},         {"get_first_msg_id", 0xebf79a66},
    {"get_first_msg_id_reply", 0x7d337472}, {"api_versions", 0x51077d14},
    {"api_versions_reply", 0x5f0d99d6},     {"trace_plugin_msg_ids", 0xf476d3ce},
    {"sockclnt_create", 0x455fb9c4},        {"sockclnt_create_reply", 0x35166268},
    {"sockclnt_delete", 0x8ac76db6},        {"sockclnt_delete_reply", 0x8f38b1ee},
    {"sock_init_shm", 0x51646d92},          {"sock_init_shm_reply", 0xe8d4e804},
    {"memclnt_keepalive", 0x51077d14},      {"memclnt_keepalive_reply", 0xe8d4e804},
    {"control_ping", 0x51077d14},           {"control_ping_reply", 0xf6b0b8ca},
    {"memclnt_create_v2", 0xc4bd4882},      {"memclnt_create_v2_reply", 0x42ec4560},
    {"get_api_json", 0x51077d14},           {"get_api_json_reply", 0xea715b59},
};

// vlib.api and vpe.api in definition order. Every message is published, as
// VPP does; only cli_inband and show_version have handlers here, the others
// are dropped like any message without a handler.
constexpr Def kVlib[] = {
    {"cli", 0x23bfbfff},
    {"cli_inband", 0xf8377302},
    {"cli_reply", 0x06d68297},
    {"cli_inband_reply", 0x05879051},
    {"get_node_index", 0xf1984c64},
    {"get_node_index_reply", 0xa8600b89},
    {"add_node_next", 0x2457116d},
    {"add_node_next_reply", 0x2ed75f32},
    {"show_threads", 0x51077d14},
    {"show_threads_reply", 0xefd78e83},
    {"get_node_graph", 0x51077d14},
    {"get_node_graph_reply", 0x06d68297},
    {"get_next_index", 0x2457116d},
    {"get_next_index_reply", 0x2ed75f32},
    {"get_f64_endian_value", 0x809fcd44},
    {"get_f64_endian_value_reply", 0x7e02e404},
    {"get_f64_increment_by_one", 0xb64f027e},
    {"get_f64_increment_by_one_reply", 0xd25dbaa3},
};

constexpr Def kVpe[] = {
    {"show_version", 0x51077d14},
    {"show_version_reply", 0xc919bde1},
    {"show_vpe_system_time", 0x51077d14},
    {"show_vpe_system_time_reply", 0x7ffd8193},
    {"log_dump", 0x6ab31753},
    {"log_details", 0x03d61cc0},
};

// lb.api 1.2.0 (master b575ec2c) in definition order.
constexpr Def kLb120[] = {
    {"lb_conf", 0x56cd3261},
    {"lb_conf_reply", 0xe8d4e804},
    {"lb_conf_get", 0x51077d14},
    {"lb_conf_get_reply", 0x923427ac},
    {"lb_add_del_vip", 0x6fa569c7},
    {"lb_add_del_vip_reply", 0xe8d4e804},
    {"lb_add_del_vip_v2", 0x7c520e0f},
    {"lb_add_del_vip_v2_reply", 0xe8d4e804},
    {"lb_add_del_as", 0x35d72500},
    {"lb_add_del_as_reply", 0xe8d4e804},
    {"lb_add_del_as_v2", 0x2f1d3b0e},
    {"lb_add_del_as_v2_reply", 0xe8d4e804},
    {"lb_as_set_weight", 0x2d89bdbd},
    {"lb_as_set_weight_reply", 0xe8d4e804},
    {"lb_flush_vip", 0x1063f819},
    {"lb_flush_vip_reply", 0xe8d4e804},
    {"lb_vip_dump", 0x56110cb7},
    {"lb_vip_details", 0x1329ec9b},
    {"lb_as_dump", 0x1063f819},
    {"lb_as_details", 0x8d24c29e},
    {"lb_as_v2_dump", 0x1063f819},
    {"lb_as_v2_details", 0x90064aae},
    {"lb_add_del_intf_nat4", 0x47d6e753},
    {"lb_add_del_intf_nat4_reply", 0xe8d4e804},
    {"lb_add_del_intf_nat6", 0x47d6e753},
    {"lb_add_del_intf_nat6_reply", 0xe8d4e804},
};

// lb.api 1.1.0 (v26.06 and earlier) in definition order.
constexpr Def kLb110[] = {
    {"lb_conf", 0x56cd3261},
    {"lb_conf_reply", 0xe8d4e804},
    {"lb_add_del_vip", 0x6fa569c7},
    {"lb_add_del_vip_reply", 0xe8d4e804},
    {"lb_add_del_vip_v2", 0x7c520e0f},
    {"lb_add_del_vip_v2_reply", 0xe8d4e804},
    {"lb_add_del_as", 0x35d72500},
    {"lb_add_del_as_reply", 0xe8d4e804},
    {"lb_flush_vip", 0x1063f819},
    {"lb_flush_vip_reply", 0xe8d4e804},
    {"lb_vip_dump", 0x56110cb7},
    {"lb_vip_details", 0x1329ec9b},
    {"lb_as_dump", 0x1063f819},
    {"lb_as_details", 0x8d24c29e},
    {"lb_add_del_intf_nat4", 0x47d6e753},
    {"lb_add_del_intf_nat4_reply", 0xe8d4e804},
    {"lb_add_del_intf_nat6", 0x47d6e753},
    {"lb_add_del_intf_nat6_reply", 0xe8d4e804},
};

// ip.api 3.2.0: the one request the simulator answers (STATS.md 4.3).
constexpr Def kIp[] = {
    {"ip_route_lookup", 0x710d6471},
    {"ip_route_lookup_reply", 0x5d8febcb},
};

static_assert(std::size(kIp) == kIpBlockSize);
static_assert(std::size(kVlib) == kVlibBlockSize);
static_assert(std::size(kVpe) == kVpeBlockSize);
static_assert(std::size(kLb120) == kLb120BlockSize);
static_assert(std::size(kLb110) == kLb110BlockSize);

// Block names answered by get_first_msg_id (the C generator's file CRCs).
constexpr const char* kVlibBlock = "vlib_9a9e84e4";
constexpr const char* kVpeBlock = "vpe_33b45969";
constexpr const char* kLb120Block = "lb_487dee0a";
constexpr const char* kLb110Block = "lb_31818767";

uint32_t Fnv1a(std::string_view s) {
  uint32_t h = 2166136261u;
  for (char c : s) {
    h ^= static_cast<uint8_t>(c);
    h *= 16777619u;
  }
  return h;
}

using namespace wire;  // NOLINT: the field names read best unqualified here

constexpr WireField kRequest[] = {kMsgId, kClientIndex, kContext};
constexpr WireField kGetFirstMsgId[] = {kMsgId, kClientIndex, kContext, kGetFirstMsgIdName};
constexpr WireField kSockclntCreate[] = {kMsgId, kCreateContext, kCreateName};
constexpr WireField kSockclntDelete[] = {kMsgId, kClientIndex, kContext, kDeleteIndex};
constexpr WireField kCliInband[] = {kMsgId, kClientIndex, kContext, kCliCmd};
constexpr WireField kLbConf[] = {kMsgId,      kClientIndex,       kContext,        kConfIp4Src,
                                 kConfIp6Src, kConfStickyBuckets, kConfFlowTimeout};
constexpr WireField kLbAddDelVip[] = {
    kMsgId,    kClientIndex, kContext, kVipPfx,        kVipProtocol, kVipPort,
    kVipEncap, kVipDscp,     kVipType, kVipTargetPort, kVipNodePort, kVipNewFlowsTableLength,
    kVipIsDel};
constexpr WireField kLbAddDelVipV2[] = {kMsgId,
                                        kClientIndex,
                                        kContext,
                                        kVipPfx,
                                        kVipProtocol,
                                        kVipPort,
                                        kVipEncap,
                                        kVipDscp,
                                        kVipType,
                                        kVipTargetPort,
                                        kVipNodePort,
                                        kVipNewFlowsTableLength,
                                        kVipV2SrcIpSticky,
                                        kVipV2IsDel};
constexpr WireField kLbAddDelAs[] = {kMsgId,   kClientIndex, kContext, kVipPfx,   kVipProtocol,
                                     kVipPort, kAsAddress,   kAsIsDel, kAsIsFlush};
constexpr WireField kLbAddDelAsV2[] = {kMsgId,       kClientIndex, kContext,   kVipPfx,
                                       kVipProtocol, kVipPort,     kAsAddress, kAsV2Weight,
                                       kAsV2IsDel,   kAsV2IsFlush};
constexpr WireField kLbAsSetWeight[] = {kMsgId,     kClientIndex,     kContext,
                                        kVipPfx,    kVipProtocol,     kVipPort,
                                        kAsAddress, kSetWeightWeight, kSetWeightIsFlush};
// lb_flush_vip, lb_as_dump, lb_as_v2_dump.
constexpr WireField kVipSelector[] = {kMsgId,  kClientIndex, kContext,
                                      kVipPfx, kVipProtocol, kVipPort};
constexpr WireField kIpRouteLookup[] = {kMsgId,        kClientIndex, kContext,
                                        kRouteTableId, kRouteExact,  kRoutePrefix};
constexpr WireField kIntfNat[] = {kMsgId, kClientIndex, kContext, kIntfNatIsAdd, kIntfNatSwIfIndex};

// Fixed sizes as in PROTOCOL.md §3; lb_vip_dump's filter is ignored (quirk 1).
constexpr RequestLayout kRequestLayouts[] = {
    {"get_first_msg_id", 74, kGetFirstMsgId},
    {"api_versions", 10, kRequest},
    {"sockclnt_create", 70, kSockclntCreate},
    {"sockclnt_delete", 14, kSockclntDelete},
    {"memclnt_keepalive", 10, kRequest},
    {"control_ping", 10, kRequest},
    {"show_version", 10, kRequest},
    {"cli_inband", 14, kCliInband},
    {"ip_route_lookup", 33, kIpRouteLookup},
    {"lb_conf", 38, kLbConf},
    {"lb_conf_get", 10, kRequest},
    {"lb_add_del_vip", 49, kLbAddDelVip},
    {"lb_add_del_vip_v2", 50, kLbAddDelVipV2},
    {"lb_add_del_as", 50, kLbAddDelAs},
    {"lb_add_del_as_v2", 51, kLbAddDelAsV2},
    {"lb_as_set_weight", 50, kLbAsSetWeight},
    {"lb_flush_vip", 31, kVipSelector},
    {"lb_vip_dump", 33, kRequest},
    {"lb_as_dump", 31, kVipSelector},
    {"lb_as_v2_dump", 31, kVipSelector},
    {"lb_add_del_intf_nat4", 15, kIntfNat},
    {"lb_add_del_intf_nat6", 15, kIntfNat},
};

}  // namespace

std::span<const RequestLayout> RequestLayouts() { return kRequestLayouts; }

const RequestLayout* FindRequestLayout(std::string_view name) {
  for (const RequestLayout& l : kRequestLayouts) {
    if (l.name == name) return &l;
  }
  return nullptr;
}

std::string MessageInfo::NameCrc() const {
  char crc_hex[9];
  std::snprintf(crc_hex, sizeof crc_hex, "%08x", crc);
  return name + "_" + crc_hex;
}

absl::StatusOr<MessageTable> MessageTable::Create(const Options& options) {
  const uint16_t lb_size = options.legacy_lb ? kLb110BlockSize : kLb120BlockSize;
  struct Block {
    const char* module;
    uint32_t first;
    uint32_t size;
  };
  const Block blocks[] = {{"vlib", options.vlib_first_msg_id, kVlibBlockSize},
                          {"vpe", options.vpe_first_msg_id, kVpeBlockSize},
                          {"lb", options.lb_first_msg_id, lb_size},
                          {"ip", options.ip_first_msg_id, kIpBlockSize}};
  const uint32_t memclnt_end = std::size(kMemclnt) + 1;  // ids 1..28
  for (size_t i = 0; i < std::size(blocks); ++i) {
    const Block& b = blocks[i];
    if (b.first < memclnt_end || b.first + b.size > 0x10000) {
      return absl::InvalidArgumentError(std::string("message id block of ") + b.module +
                                        " must lie within " + std::to_string(memclnt_end) +
                                        "..65535");
    }
    for (size_t j = 0; j < i; ++j) {
      const Block& o = blocks[j];
      if (b.first < o.first + o.size && o.first < b.first + b.size) {
        return absl::InvalidArgumentError(std::string("message id blocks of ") + o.module +
                                          " and " + b.module + " overlap");
      }
    }
  }

  MessageTable t;
  t.legacy_lb_ = options.legacy_lb;
  uint16_t id = 1;
  for (const Def& d : kMemclnt) t.messages_.push_back({d.name, d.crc, "memclnt", id++});
  uint16_t pos = 0;
  for (const Def& d : kVlib) {
    t.messages_.push_back(
        {d.name, d.crc, "vlib", static_cast<uint16_t>(options.vlib_first_msg_id + pos++)});
  }
  pos = 0;
  for (const Def& d : kVpe) {
    t.messages_.push_back(
        {d.name, d.crc, "vpe", static_cast<uint16_t>(options.vpe_first_msg_id + pos++)});
  }
  pos = 0;
  if (options.legacy_lb) {
    for (const Def& d : kLb110) {
      t.messages_.push_back(
          {d.name, d.crc, "lb", static_cast<uint16_t>(options.lb_first_msg_id + pos++)});
    }
  } else {
    for (const Def& d : kLb120) {
      t.messages_.push_back(
          {d.name, d.crc, "lb", static_cast<uint16_t>(options.lb_first_msg_id + pos++)});
    }
  }
  pos = 0;
  for (const Def& d : kIp) {
    t.messages_.push_back(
        {d.name, d.crc, "ip", static_cast<uint16_t>(options.ip_first_msg_id + pos++)});
  }
  // VPP lists its table in hash order; a stable scramble keeps clients honest.
  std::sort(t.messages_.begin(), t.messages_.end(), [](const MessageInfo& a, const MessageInfo& b) {
    uint32_t ha = Fnv1a(a.name), hb = Fnv1a(b.name);
    return ha != hb ? ha < hb : a.name < b.name;
  });
  for (size_t i = 0; i < t.messages_.size(); ++i) {
    t.by_name_[t.messages_[i].name] = t.messages_[i].id;
    t.by_id_[t.messages_[i].id] = i;
  }
  t.blocks_[kVlibBlock] = options.vlib_first_msg_id;
  t.blocks_[kVpeBlock] = options.vpe_first_msg_id;
  t.blocks_[options.legacy_lb ? kLb110Block : kLb120Block] = options.lb_first_msg_id;
  return t;
}

std::optional<uint16_t> MessageTable::IdOf(std::string_view name) const {
  auto it = by_name_.find(std::string(name));
  if (it == by_name_.end()) return std::nullopt;
  return it->second;
}

const MessageInfo* MessageTable::ById(uint16_t id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &messages_[it->second];
}

std::optional<uint16_t> MessageTable::FirstMsgId(std::string_view block_name) const {
  auto it = blocks_.find(std::string(block_name));
  if (it == blocks_.end()) return std::nullopt;
  return it->second;
}

}  // namespace maglev::vppsim
