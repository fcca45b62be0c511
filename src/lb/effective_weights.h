// The single source of truth that turns backend health into dataplane
// weights (spec §5.1): pool failover, effective weight and flush per pool
// backend, and the frontend's own state. Used by the gRPC API (GetFrontend),
// the metrics and the VPP reconciler alike. Pure; thread-agnostic.
#pragma once

#include <functional>
#include <map>
#include <set>
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
  bool draining = false;      // operator drain: weight 0, no flush
  double ramp = 1.0;          // slow start: share of the weight it may carry now, (0, 1]
};

struct EffectivePool {
  std::string name;
  std::vector<EffectiveBackend> backends;  // config order
};

struct FrontendEffective {
  int active_pool = 0;           // the serving pool (0 when none)
  bool has_active_pool = false;  // false: no pool has an `up` backend
  FrontendState state = FrontendState::kUnknown;
  std::vector<EffectivePool> pools;
};

// (frontend, pool, backend) -> operator-set weight; overrides the YAML weight.
using WeightOverrides = std::map<std::tuple<std::string, std::string, std::string>, int>;

// Lookup of a backend's current state; a backend unknown to the caller is
// reported as kUnknown.
using BackendStateLookup = std::function<BackendState(const std::string& backend)>;

// Which pool serves, given which pools are eligible (have a backend that is
// up and not draining): the index, or -1 when none is. The default is the
// first eligible pool (spec §5.1); the lb stage's fail-back hold-down may
// keep a lower-priority pool for a while.
using PoolChooser = std::function<int(const std::vector<bool>& eligible)>;

// Everything effective weights depend on besides the frontend's config.
struct EffectiveInputs {
  BackendStateLookup state_of;                          // required
  const WeightOverrides* overrides = nullptr;           // operator weights
  const std::map<std::string, double>* ramp = nullptr;  // slow start shares (< 1)
  const std::set<std::string>* draining = nullptr;      // draining backends
  PoolChooser choose_pool;                              // empty: first eligible
};

FrontendEffective ComputeEffective(const Frontend& fe, const EffectiveInputs& in);
// The same without slow start, drains or hold-down.
FrontendEffective ComputeEffective(const Frontend& fe, const BackendStateLookup& state_of,
                                   const WeightOverrides& overrides);

// The per-row rule of the §5.1 table, exposed for table tests.
// Returns {effective_weight, flush}.
std::pair<int, bool> EffectiveWeightRule(BackendState state, bool in_active_pool,
                                         int configured_weight, bool flush_on_down);

// The weight a backend carries while ramping: `share` of `weight`, at least
// 1 while the weight is not 0 (so that it stays in VPP's table).
int RampedWeight(int weight, double share);

}  // namespace maglev
