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
// Changing gently (issue #10), all decided here on the stage's clock:
//  - slow start: a backend that comes back up (after down, disabled or
//    paused; not at maglevd's start) ramps from 1/N of its weight to all of
//    it in N steps over its `slow-start` (N = whole seconds, at most 10),
//    one weight change each;
//  - fail-back hold-down: after a failover to a lower-priority pool, a
//    higher one is used again only once it has had an eligible backend for
//    the frontend's `failback-delay`; failing over is never delayed;
//  - drain: an operator's drain takes a backend's weight to 0 without flush
//    everywhere; at its timeout the stage asks for it to be disabled (with
//    flush). A draining backend does not keep its pool active.
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
#include "common/dispatcher.h"
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
  // At least one backend carries a non-zero effective weight: VPP can serve
  // new flows of this VIP (the route withdrawal hook, issue #10).
  bool servable = false;
};

// Whether a frontend computed so can serve new flows (some effective weight
// above 0).
bool IsServable(const FrontendEffective& effective);

// A frontend's state or active pool changed (failover, fail-back, the last
// backend lost). `reason` says why the pool changed ("" when it did not).
struct FrontendStatusChange {
  FrontendState from = FrontendState::kUnknown;
  FrontendState to = FrontendState::kUnknown;
  std::string from_pool, to_pool;
  std::string reason;
  // Servable before and after (a change of it alone also makes a change).
  bool from_servable = false;
  bool to_servable = false;
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
  enum class Cause { kTransition, kWeight, kReload, kSlowStart, kFailback, kDrain };
  Cause cause = Cause::kTransition;
  std::vector<FrontendChange> frontends;
};

// Operator decisions restored at start (from the state file, see
// core/state_file.h), applied before anything is computed.
struct LbRestore {
  WeightOverrides overrides;
  // Drains in progress: backend -> unix time (ns) of the deadline (in the
  // future; a passed one is the caller's to turn into a disable).
  std::map<std::string, int64_t> drains;
  // Backends last known down, disabled or paused: their first `up` is a
  // come-back (slow start), as if maglevd had not restarted.
  std::set<std::string> out_of_service;
};

class LbStage {
 public:
  // `state_of` answers a backend's current state (the checker's); timers run
  // on `dispatcher`.
  LbStage(Dispatcher& dispatcher, BackendStateLookup state_of);
  LbStage(const LbStage&) = delete;
  LbStage& operator=(const LbStage&) = delete;

  // Computes every frontend of `config`; emits nothing. `restore` (entries
  // already checked against `config`) is applied first.
  void Start(std::shared_ptr<const Config> config, const LbRestore* restore = nullptr);
  // Applies a validated config. `reload_backends` runs first (the checker's
  // reload, which may publish transitions: they are folded into this reload
  // instead of being handled against the old config), then every frontend
  // is computed once and one kReload update is emitted, with the frontends
  // the reload removed (view null). Runtime weights survive unless the YAML
  // changed that very weight or the item is gone; drains and ramps of
  // backends still configured survive.
  void Reload(std::shared_ptr<const Config> config, const std::function<void()>& reload_backends);

  // A backend changed state (wired to the checker's listener).
  void OnTransition(const std::string& backend, const Transition& t);

  // Runtime weight 0..100 (InvalidArgument otherwise; NotFound for names).
  absl::Status SetWeight(const std::string& frontend, const std::string& pool,
                         const std::string& backend, int weight);

  // Drains a backend for `timeout` (0: its `drain-timeout`). NotFound for an
  // unknown backend, FailedPrecondition for a disabled one. Draining again
  // sets a new deadline. At the deadline `on_drain_timeout` is asked to
  // disable it.
  absl::Status Drain(const std::string& backend, Duration timeout);
  // Ends a drain (an enable does); false when the backend was not draining.
  bool CancelDrain(const std::string& backend);
  void SetOnDrainTimeout(std::function<void(const std::string& backend)> cb) {
    on_drain_timeout_ = std::move(cb);
  }

  const Config& config() const { return *config_; }
  std::shared_ptr<const Config> config_ptr() const { return config_; }
  // nullptr for an unknown frontend.
  const FrontendView* Find(const std::string& frontend) const;
  const std::map<std::string, FrontendView>& frontends() const { return views_; }
  const WeightOverrides& weight_overrides() const { return overrides_; }
  // Unix time (ns) at which a draining backend will be disabled.
  std::optional<int64_t> DrainDeadline(const std::string& backend) const;
  // A ramping backend's share of its weight now and the unix time (ns) at
  // which it reaches all of it.
  struct RampInfo {
    double share = 1.0;
    int64_t full_at_unix_ns = 0;
  };
  std::optional<RampInfo> Ramp(const std::string& backend) const;
  const std::map<std::string, double>& ramp_shares() const { return ramp_shares_; }
  const std::set<std::string>& draining() const { return draining_; }

  // Listeners run synchronously, in registration order; they must not call
  // back into mutating methods.
  using Listener = std::function<void(const LbUpdate&)>;
  int AddListener(Listener listener);
  void RemoveListener(int id);

 private:
  struct Status {
    FrontendState state = FrontendState::kUnknown;
    std::string active_pool;
    bool servable = false;
  };
  struct RampState {
    MonoTime start;
    Duration duration{};
    int steps = 1;
    std::unique_ptr<Timer> timer;
    bool done = false;
  };
  struct DrainState {
    MonoTime deadline;
    int64_t deadline_unix_ns = 0;
    std::unique_ptr<Timer> timer;
  };
  struct Hold {
    std::map<std::string, MonoTime> eligible_since;  // by pool name
    std::string active;                              // the pool chosen last ("" none)
    std::unique_ptr<Timer> timer;
  };
  // Recomputes one frontend's view and returns the change to report.
  FrontendChange Recompute(const Frontend& fe);
  // Recomputes every frontend using `backend` and emits one update.
  void RecomputeBackend(const std::string& backend, LbUpdate::Cause cause);
  int ChoosePool(const Frontend& fe, const std::vector<bool>& eligible);
  void StartRamp(const std::string& backend, Duration duration);
  void ArmDrain(const std::string& backend, Duration timeout);
  void StepRamp(const std::string& backend);
  void RefreshRampShares();
  void Emit(const LbUpdate& update);

  Dispatcher& dispatcher_;
  BackendStateLookup state_of_;
  std::shared_ptr<const Config> config_;
  // backend -> frontends referencing it (sorted), from config_.
  std::map<std::string, std::vector<std::string>> frontends_of_;
  std::map<std::string, FrontendView> views_;
  std::map<std::string, Status> status_;
  WeightOverrides overrides_;
  std::map<std::string, RampState> ramps_;
  std::map<std::string, double> ramp_shares_;  // of ramps_, now (EffectiveInputs)
  std::map<std::string, DrainState> drains_;
  std::set<std::string> draining_;     // keys of drains_ (EffectiveInputs)
  std::map<std::string, Hold> holds_;  // by frontend, for failback-delay > 0
  // Backends whose last resolved state was down, disabled or paused: their
  // next `up` is a come-back (slow start).
  std::set<std::string> out_of_service_;
  std::function<void(const std::string&)> on_drain_timeout_;
  // During Reload: the transitions the checker published (backend -> its
  // newest state).
  std::optional<std::map<std::string, BackendState>> reloading_;
  std::map<int, Listener> listeners_;
  int next_listener_id_ = 1;
};

// The runtime weights a reload keeps (the rule Reload applies): those whose
// YAML weight the new config leaves unchanged, for items it still has.
// Used by the preview of a candidate config (lb/preview.h).
WeightOverrides SurvivingOverrides(const Config& old, const Config& next,
                                   const WeightOverrides& overrides);

}  // namespace maglev
