// The single source of truth that turns backend health into dataplane
// weights (spec §5.1): pool failover, effective weight and flush per pool
// backend, and the frontend's own state. Used by the gRPC API (GetFrontend),
// the metrics and the VPP reconciler alike. Pure; thread-agnostic.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "config/config.h"
#include "health/state_machine.h"

namespace maglev {

enum class FrontendState { kUnknown, kUp, kDown };
const char* FrontendStateName(FrontendState s);  // "unknown", "up", "down"

struct EffectiveBackend {
  std::string backend;
  BackendState state = BackendState::kUnknown;
  int configured_weight = 0;  // runtime weight (operator override or YAML)
  int effective_weight = 0;   // what VPP should carry
  bool flush = false;         // flush sticky flows on the transition to 0
};

struct EffectivePool {
  std::string name;
  std::vector<EffectiveBackend> backends;  // config order
};

struct FrontendEffective {
  int active_pool = 0;           // first pool with an `up` backend (0 when none)
  bool has_active_pool = false;  // false: no pool has an `up` backend
  FrontendState state = FrontendState::kUnknown;
  std::vector<EffectivePool> pools;
};

// (frontend, pool, backend) -> operator-set weight; overrides the YAML weight.
using WeightOverrides = std::map<std::tuple<std::string, std::string, std::string>, int>;

// Lookup of a backend's current state; a backend unknown to the caller is
// reported as kUnknown.
using BackendStateLookup = std::function<BackendState(const std::string& backend)>;

FrontendEffective ComputeEffective(const Frontend& fe, const BackendStateLookup& state_of,
                                   const WeightOverrides& overrides);

// The per-row rule of the §5.1 table, exposed for table tests.
// Returns {effective_weight, flush}.
std::pair<int, bool> EffectiveWeightRule(BackendState state, bool in_active_pool,
                                         int configured_weight, bool flush_on_down);

}  // namespace maglev
