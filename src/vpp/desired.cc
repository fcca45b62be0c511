#include "vpp/desired.h"

#include <algorithm>

namespace maglev {

bool NeedsRecreate(const DesiredVip& want, const ActualVip& have) {
  if (have.info.encap != want.spec.encap) return true;
  if (!have.info.FlowTableLengthMatches(want.spec.new_flows_table_length)) return true;
  if (have.table_length && *have.table_length != want.spec.new_flows_table_length) return true;
  if (have.src_ip_sticky && *have.src_ip_sticky != want.spec.src_ip_sticky) return true;
  return false;
}

std::vector<LbCall> RemoveVipCalls(const ActualVip& have) {
  std::vector<LbCall> calls;
  for (const auto& [addr, _] : have.active)  // std::map: ascending, v4 first
    calls.push_back(LbDelAs{have.info.key, addr, true});
  calls.push_back(LbDelVip{have.info.key});
  return calls;
}

std::vector<LbCall> DiffVip(const DesiredVip& want, const ActualVip* have, LbApiLevel level,
                            const std::set<IpAddress>& flush_now) {
  std::vector<LbCall> calls;
  const VipKey& key = want.spec.key;
  const bool weights = level == LbApiLevel::kWeights;
  const ActualVip empty{};
  if (have && NeedsRecreate(want, *have)) {
    calls = RemoveVipCalls(*have);
    have = nullptr;
  }
  if (!have) {
    calls.push_back(LbAddVip{want.spec});
    have = &empty;
  }
  std::set<IpAddress> wanted;
  for (const DesiredAs& as : want.ases) {
    wanted.insert(as.address);
    auto it = have->active.find(as.address);
    bool active = it != have->active.end();
    bool flush_requested = as.flush && flush_now.count(as.address) > 0;
    if (weights) {
      if (!active) {
        calls.push_back(LbAddAs{key, as.address, as.weight, false});
      } else if (it->second.weight != as.weight) {
        calls.push_back(LbSetAsWeight{key, as.address, as.weight, as.flush && as.weight == 0});
      } else if (as.weight == 0 && flush_requested) {
        // Already at 0 (e.g. a standby that got disabled): still flush.
        calls.push_back(LbSetAsWeight{key, as.address, 0, true});
      }
    } else {
      if (as.weight > 0 && !active) {
        calls.push_back(LbAddAs{key, as.address, 100, false});
      } else if (as.weight == 0 && active) {
        calls.push_back(LbDelAs{key, as.address, as.flush});
      } else if (as.weight == 0 && flush_requested && have->removed.count(as.address)) {
        calls.push_back(LbDelAs{key, as.address, true});
      }
    }
  }
  // ASes we do not want (backends removed from the frontend, or foreign).
  for (const auto& [addr, _] : have->active)
    if (!wanted.count(addr)) calls.push_back(LbDelAs{key, addr, true});
  return calls;
}

VipComparison CompareVip(const DesiredVip& want, const ActualVip* have, LbApiLevel level) {
  VipComparison out;
  out.vip_present = have != nullptr;
  if (have) {
    for (const auto& [addr, as] : have->active) out.vpp_weights[addr] = as.weight.value_or(100);
  }
  out.pending = DiffVip(want, have, level, {});
  for (const LbCall& call : out.pending) {
    if (auto* c = std::get_if<LbAddAs>(&call)) out.differing.insert(c->address);
    if (auto* c = std::get_if<LbDelAs>(&call)) out.differing.insert(c->address);
    if (auto* c = std::get_if<LbSetAsWeight>(&call)) out.differing.insert(c->address);
  }
  return out;
}

std::map<VipKey, ActualVip> GroupDumps(const std::vector<VipInfo>& vips,
                                       const std::vector<AsInfo>& ases) {
  std::map<VipKey, ActualVip> out;
  for (const VipInfo& v : vips) {
    ActualVip a;
    a.info = v;
    a.info.key = v.key.Normalized();
    out[a.info.key] = std::move(a);
  }
  for (const AsInfo& as : ases) {
    auto it = out.find(as.vip.Normalized());
    if (it == out.end()) continue;  // a deleted VIP awaiting GC
    if (as.active()) {
      it->second.active[as.address] = as;
    } else {
      it->second.removed.insert(as.address);
    }
  }
  return out;
}

void ApplyToCache(const LbCall& call, std::map<VipKey, ActualVip>* cache) {
  if (auto* c = std::get_if<LbAddVip>(&call)) {
    ActualVip a;
    a.info.key = c->spec.key.Normalized();
    a.info.encap = c->spec.encap;
    a.info.flow_table_length_low16 = static_cast<uint16_t>(c->spec.new_flows_table_length);
    a.src_ip_sticky = c->spec.src_ip_sticky;
    a.table_length = c->spec.new_flows_table_length;
    (*cache)[a.info.key] = std::move(a);
  } else if (auto* c = std::get_if<LbDelVip>(&call)) {
    cache->erase(c->key.Normalized());
  } else if (auto* c = std::get_if<LbAddAs>(&call)) {
    auto it = cache->find(c->vip.Normalized());
    if (it == cache->end()) return;
    AsInfo as;
    as.vip = it->first;
    as.address = c->address;
    as.flags = 1;
    as.weight = c->weight;
    it->second.active[c->address] = as;
    it->second.removed.erase(c->address);
  } else if (auto* c = std::get_if<LbDelAs>(&call)) {
    auto it = cache->find(c->vip.Normalized());
    if (it == cache->end()) return;
    it->second.active.erase(c->address);
    it->second.removed.insert(c->address);
  } else if (auto* c = std::get_if<LbSetAsWeight>(&call)) {
    auto it = cache->find(c->vip.Normalized());
    if (it == cache->end()) return;
    auto as = it->second.active.find(c->address);
    if (as != it->second.active.end()) as->second.weight = c->weight;
  }
}

LbConf DesiredConf(const VppLbConfig& cfg) {
  static const uint8_t kOnes[16] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  LbConf c;
  c.ip4_src_address = cfg.ipv4_src_address ? *cfg.ipv4_src_address : IpAddress::FromV4Bytes(kOnes);
  c.ip6_src_address = cfg.ipv6_src_address ? *cfg.ipv6_src_address : IpAddress::FromV6Bytes(kOnes);
  c.sticky_buckets_per_core = cfg.sticky_buckets_per_core;
  c.flow_timeout = static_cast<uint32_t>(
      std::chrono::duration_cast<std::chrono::seconds>(cfg.flow_timeout).count());
  return c;
}

}  // namespace maglev
