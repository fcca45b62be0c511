// SPDX-License-Identifier: Apache-2.0
//
// The VIP a frontend should have in VPP, from its effective weights (spec
// §5.1): key, encapsulation, table length, and one AS per pool backend with
// its weight and whether the §5.1 table asks for a flush on its way to 0.
// Built once per change by the lb stage. Pure; thread-agnostic.
#pragma once

#include <string>
#include <vector>

#include "config/config.h"
#include "lb/effective_weights.h"
#include "lb/vip.h"

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

// The VIP key of a frontend (single address, protocol number, port).
VipKey FrontendVipKey(const Frontend& fe);

// Builds the desired VIP for a frontend from its effective weights.
DesiredVip BuildDesiredVip(const Config& cfg, const Frontend& fe, const FrontendEffective& eff);

}  // namespace maglev
