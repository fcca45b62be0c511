// SPDX-License-Identifier: Apache-2.0
#include "lb/desired_vip.h"

#include <algorithm>

namespace maglev {

VipKey FrontendVipKey(const Frontend& fe) {
  uint8_t proto = fe.protocol == Protocol::kAny ? kLbProtoAny : ProtocolNumber(fe.protocol);
  uint16_t port = fe.protocol == Protocol::kAny ? 0 : fe.port;
  return VipKey::Host(fe.address, proto, port).Normalized();
}

DesiredVip BuildDesiredVip(const Config& cfg, const Frontend& fe, const FrontendEffective& eff) {
  DesiredVip out;
  out.frontend = fe.name;
  out.spec.key = FrontendVipKey(fe);
  out.spec.src_ip_sticky = fe.src_ip_sticky;
  out.spec.new_flows_table_length = std::max<uint32_t>(cfg.vpp_lb.new_flows_table_length, 1);
  bool v6 = false;
  for (const EffectivePool& pool : eff.pools) {
    for (const EffectiveBackend& eb : pool.backends) {
      auto it = cfg.backends.find(eb.backend);
      if (it == cfg.backends.end()) continue;
      v6 = it->second.address.is_v6();
      out.ases.push_back(DesiredAs{eb.backend, it->second.address,
                                   static_cast<uint8_t>(std::clamp(eb.effective_weight, 0, 100)),
                                   eb.flush});
    }
  }
  // All backends of a frontend share one family (validated by the config).
  out.spec.encap = v6 ? LbEncap::kGre6 : LbEncap::kGre4;
  std::sort(out.ases.begin(), out.ases.end(),
            [](const DesiredAs& a, const DesiredAs& b) { return a.address < b.address; });
  return out;
}

}  // namespace maglev
