// SPDX-License-Identifier: Apache-2.0
//
// The lb stage, second step of the walk from probe to VPP:
//
//   Checker --(backend transition)--> LbStage --(LbUpdate)--> DataplaneController, watch hub
//
// It owns the frontends' side of the core: the configuration snapshot it
// works from, the operator's runtime weights and every frontend's state and
// active pool. For each input (a backend transition, an operator weight, a
// reload) it computes the effective weights (§5.1) of every affected
// frontend once, builds its desired VIP, applies the one flush rule and
// emits one LbUpdate naming what changed. Everything downstream reads the
// views it keeps (FrontendView) instead of computing them again.
//
// The flush rule: an AS is flushed now when its backend's transition ends in
// a state for which the §5.1 table says "flush" (EffectiveWeightRule), also
// when its weight is already 0 (a standby that gets disabled still has
// sticky flows); the desired VIP's per-AS `flush` carries the same table for
// the way to weight 0.
//
// Runs on the core loop thread; not thread-safe.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "config/config.h"
#include "health/state_machine.h"
#include "lb/desired_vip.h"
#include "lb/effective_weights.h"

namespace maglev {

// A frontend as the stage last computed it.
struct FrontendView {
  FrontendEffective effective;
  DesiredVip desired;
  std::string active_pool;  // name; "" when no pool has an up backend
};

// A frontend's state or active pool changed (failover, fail-back, the last
// backend lost). `reason` says why the pool changed ("" when it did not).
struct FrontendStatusChange {
  FrontendState from = FrontendState::kUnknown;
  FrontendState to = FrontendState::kUnknown;
  std::string from_pool, to_pool;
  std::string reason;
};

struct FrontendChange {
  std::string frontend;
  // The frontend now; null when a reload removed it. Valid until the stage
  // is next changed: listeners copy what they keep.
  const FrontendView* view = nullptr;
  // Addresses of ASes to flush now (the flush rule above).
  std::set<IpAddress> flush;
  std::optional<FrontendStatusChange> status;
};

// What one input did: every affected frontend, in name order.
struct LbUpdate {
  enum class Cause { kTransition, kWeight, kReload };
  Cause cause = Cause::kTransition;
  std::vector<FrontendChange> frontends;
};

class LbStage {
 public:
  // `state_of` answers a backend's current state (the checker's).
  explicit LbStage(BackendStateLookup state_of);
  LbStage(const LbStage&) = delete;
  LbStage& operator=(const LbStage&) = delete;

  // Computes every frontend of `config`; emits nothing.
  void Start(std::shared_ptr<const Config> config);
  // Applies a validated config. `reload_backends` runs first (the checker's
  // reload, which may publish transitions: they are folded into this reload
  // instead of being handled against the old config), then every frontend
  // is computed once and one kReload update is emitted, with the frontends
  // the reload removed (view null). Runtime weights survive unless the YAML
  // changed that very weight or the item is gone.
  void Reload(std::shared_ptr<const Config> config, const std::function<void()>& reload_backends);

  // A backend changed state (wired to the checker's listener).
  void OnTransition(const std::string& backend, const Transition& t);

  // Runtime weight 0..100 (InvalidArgument otherwise; NotFound for names).
  absl::Status SetWeight(const std::string& frontend, const std::string& pool,
                         const std::string& backend, int weight);

  const Config& config() const { return *config_; }
  std::shared_ptr<const Config> config_ptr() const { return config_; }
  // nullptr for an unknown frontend.
  const FrontendView* Find(const std::string& frontend) const;
  const std::map<std::string, FrontendView>& frontends() const { return views_; }
  const WeightOverrides& weight_overrides() const { return overrides_; }

  // Listeners run synchronously, in registration order; they must not call
  // back into mutating methods.
  using Listener = std::function<void(const LbUpdate&)>;
  int AddListener(Listener listener);
  void RemoveListener(int id);

 private:
  struct Status {
    FrontendState state = FrontendState::kUnknown;
    std::string active_pool;
  };
  // Recomputes one frontend's view and returns the change to report.
  FrontendChange Recompute(const Frontend& fe);
  void Emit(const LbUpdate& update);

  BackendStateLookup state_of_;
  std::shared_ptr<const Config> config_;
  // backend -> frontends referencing it (sorted), from config_.
  std::map<std::string, std::vector<std::string>> frontends_of_;
  std::map<std::string, FrontendView> views_;
  std::map<std::string, Status> status_;
  WeightOverrides overrides_;
  // During Reload: the transitions the checker published (backend -> its
  // newest state).
  std::optional<std::map<std::string, BackendState>> reloading_;
  std::map<int, Listener> listeners_;
  int next_listener_id_ = 1;
};

}  // namespace maglev
