// SPDX-License-Identifier: Apache-2.0
//
// The dataplane controller, third step of the walk from probe to VPP:
//
//   LbStage --(LbUpdate)--> DataplaneController --(SyncJob)--> Reconciler --> VPP
//
// It gates the warmup (spec §5.3: nothing for startup-min-delay, then each
// frontend once all its backends have left `unknown`, everything at
// startup-max-delay), runs the periodic full sync and the operator's syncs,
// and hands the lb stage's desired VIPs and flush requests to the reconciler.
// It computes nothing: what VPP should hold comes from the stage's views.
// Runs on the core loop thread; the reconciler runs on its own loop.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "absl/status/status.h"
#include "common/dispatcher.h"
#include "lb/lb_stage.h"
#include "vpp/reconciler.h"

namespace maglev {

class DataplaneController {
 public:
  DataplaneController(Dispatcher& dispatcher, LbStage& lb, Reconciler& reconciler);
  ~DataplaneController();

  // Starts the warmup clock and subscribes to the lb stage. Call once, after
  // the pipeline has started.
  void Start();
  void Stop();

  // Last known health from the state file (young enough; up/down only). A
  // frontend whose every backend has left `unknown` in a state that matches
  // it (or is disabled/paused) is released before startup-min-delay ends:
  // see docs/dataplane.md, "Warmup". Call before Start.
  void SetPersistedHealth(std::map<std::string, BackendState> health) {
    persisted_health_ = std::move(health);
  }
  // Called on the loop when a frontend is released (at warmup-done, once for
  // each frontend not released before).
  void SetOnRelease(std::function<void(const std::string& frontend)> cb) {
    on_release_ = std::move(cb);
  }

  // Whether `frontend` has been handed to the reconciler yet.
  bool Released(const std::string& frontend) const;
  bool warmup_done() const { return warmup_done_; }

  // Operator sync: one frontend (never removes VIPs) or all (full sync).
  // NotFound for an unknown frontend; `done` runs on the reconciler's loop.
  absl::Status Sync(const std::optional<std::string>& frontend,
                    std::function<void(absl::Status)> done);

  // The desired VIP of a frontend right now (the lb stage's).
  absl::StatusOr<DesiredVip> Desired(const std::string& frontend) const;

 private:
  void OnUpdate(const LbUpdate& update);
  void OnMinDelay();
  void OnMaxDelay();
  void TryRelease(const std::string& frontend);
  bool MatchesPersisted(const FrontendView& view) const;
  void SubmitFrontend(const FrontendView& view);
  void SubmitFull(std::function<void(absl::Status)> done,
                  std::map<std::string, std::set<IpAddress>> flush = {});
  void SchedulePeriodic();
  SyncJob NewJob(SyncJob::Kind kind) const;

  Dispatcher& dispatcher_;
  LbStage& lb_;
  Reconciler& reconciler_;
  int listener_ = 0;
  std::unique_ptr<Timer> min_timer_, max_timer_, periodic_timer_;
  bool in_min_delay_ = true;
  bool warmup_done_ = false;
  std::set<std::string> released_;
  std::map<std::string, BackendState> persisted_health_;
  std::function<void(const std::string&)> on_release_;
  // Stays alive as long as callbacks posted to the reconciler may run.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace maglev
