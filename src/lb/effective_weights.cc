#include "lb/effective_weights.h"

#include <algorithm>
#include <cmath>

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

int RampedWeight(int weight, double share) {
  if (weight <= 0 || share >= 1.0) return weight;
  int w = static_cast<int>(std::lround(weight * share));
  return std::clamp(w, 1, weight);
}

FrontendEffective ComputeEffective(const Frontend& fe, const EffectiveInputs& in) {
  FrontendEffective out;
  out.pools.reserve(fe.pools.size());
  std::vector<bool> eligible(fe.pools.size(), false);
  bool all_unknown = true;
  for (size_t p = 0; p < fe.pools.size(); ++p) {
    EffectivePool pool{fe.pools[p].name, {}};
    pool.backends.reserve(fe.pools[p].backends.size());
    for (const PoolBackend& pb : fe.pools[p].backends) {
      EffectiveBackend eb;
      eb.backend = pb.backend;
      eb.state = in.state_of(pb.backend);
      eb.configured_weight = pb.weight;
      if (in.overrides) {
        auto it = in.overrides->find({fe.name, fe.pools[p].name, pb.backend});
        if (it != in.overrides->end()) eb.configured_weight = it->second;
      }
      eb.draining = in.draining && in.draining->count(pb.backend);
      if (in.ramp) {
        auto r = in.ramp->find(pb.backend);
        if (r != in.ramp->end()) eb.ramp = r->second;
      }
      // A draining backend is on its way out: it does not keep its pool
      // active (the frontend fails over rather than black-hole new flows).
      if (eb.state == BackendState::kUp && !eb.draining) eligible[p] = true;
      if (eb.state != BackendState::kUnknown) all_unknown = false;
      pool.backends.push_back(std::move(eb));
    }
    out.pools.push_back(std::move(pool));
  }
  int active = -1;
  if (in.choose_pool) {
    active = in.choose_pool(eligible);
  } else {
    for (size_t p = 0; p < eligible.size() && active < 0; ++p)
      if (eligible[p]) active = static_cast<int>(p);
  }
  out.active_pool = active < 0 ? 0 : active;
  out.has_active_pool = active >= 0;
  bool any_weight = false;
  for (size_t p = 0; p < out.pools.size(); ++p) {
    for (EffectiveBackend& eb : out.pools[p].backends) {
      auto [w, flush] = EffectiveWeightRule(eb.state, static_cast<int>(p) == active,
                                            eb.configured_weight, fe.flush_on_down);
      if (eb.draining) {
        w = 0;  // new flows avoid it; existing ones finish
        flush = false;
      }
      eb.effective_weight = RampedWeight(w, eb.ramp);
      eb.flush = flush;
      any_weight |= eb.effective_weight > 0;
    }
  }
  out.state = any_weight    ? FrontendState::kUp
              : all_unknown ? FrontendState::kUnknown
                            : FrontendState::kDown;
  return out;
}

FrontendEffective ComputeEffective(const Frontend& fe, const BackendStateLookup& state_of,
                                   const WeightOverrides& overrides) {
  EffectiveInputs in;
  in.state_of = state_of;
  in.overrides = &overrides;
  return ComputeEffective(fe, in);
}

}  // namespace maglev
