#include "lb/effective_weights.h"

namespace maglev {

const char* FrontendStateName(FrontendState s) {
  switch (s) {
    case FrontendState::kUnknown:
      return "unknown";
    case FrontendState::kUp:
      return "up";
    case FrontendState::kDown:
      return "down";
  }
  return "unknown";
}

std::pair<int, bool> EffectiveWeightRule(BackendState state, bool in_active_pool,
                                         int configured_weight, bool flush_on_down) {
  switch (state) {
    case BackendState::kUp:
      return {in_active_pool ? configured_weight : 0, false};
    case BackendState::kDown:
      return {0, flush_on_down};
    case BackendState::kDisabled:
    case BackendState::kRemoved:
      return {0, true};
    case BackendState::kUnknown:
    case BackendState::kPaused:
      return {0, false};
  }
  return {0, false};
}

FrontendEffective ComputeEffective(const Frontend& fe, const BackendStateLookup& state_of,
                                   const WeightOverrides& overrides) {
  FrontendEffective out;
  out.pools.reserve(fe.pools.size());
  int active = -1;
  bool all_unknown = true;
  for (size_t p = 0; p < fe.pools.size(); ++p) {
    EffectivePool pool{fe.pools[p].name, {}};
    pool.backends.reserve(fe.pools[p].backends.size());
    for (const PoolBackend& pb : fe.pools[p].backends) {
      EffectiveBackend eb;
      eb.backend = pb.backend;
      eb.state = state_of(pb.backend);
      auto it = overrides.find({fe.name, fe.pools[p].name, pb.backend});
      eb.configured_weight = it == overrides.end() ? pb.weight : it->second;
      if (eb.state == BackendState::kUp && active < 0) active = static_cast<int>(p);
      if (eb.state != BackendState::kUnknown) all_unknown = false;
      pool.backends.push_back(std::move(eb));
    }
    out.pools.push_back(std::move(pool));
  }
  out.active_pool = active < 0 ? 0 : active;
  out.has_active_pool = active >= 0;
  bool any_weight = false;
  for (size_t p = 0; p < out.pools.size(); ++p) {
    for (EffectiveBackend& eb : out.pools[p].backends) {
      auto [w, flush] = EffectiveWeightRule(eb.state, static_cast<int>(p) == active,
                                            eb.configured_weight, fe.flush_on_down);
      eb.effective_weight = w;
      eb.flush = flush;
      any_weight |= w > 0;
    }
  }
  out.state = any_weight    ? FrontendState::kUp
              : all_unknown ? FrontendState::kUnknown
                            : FrontendState::kDown;
  return out;
}

}  // namespace maglev
