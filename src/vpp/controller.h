// The core-loop side of the dataplane: turns checker events (backend
// transitions, operator weight changes, reloads) into SyncJobs for the
// reconciler, runs the warmup (spec §5.3) and the periodic full sync timer,
// and answers the API's dataplane queries. This is the single path: every
// VPP change starts here and ends in Reconciler. Runs on the core loop
// thread; it hands work to the reconciler's thread and never blocks.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "absl/status/status.h"
#include "checker/checker.h"
#include "common/dispatcher.h"
#include "vpp/reconciler.h"

namespace maglev {

class DataplaneController {
 public:
  DataplaneController(Dispatcher& dispatcher, Checker& checker, Reconciler& reconciler);
  ~DataplaneController();

  // Starts the warmup clock and subscribes to the checker. Call once, after
  // Checker::Start.
  void Start();
  void Stop();

  // Whether `frontend` has been handed to the reconciler yet.
  bool Released(const std::string& frontend) const;
  bool warmup_done() const { return warmup_done_; }

  // Operator sync: one frontend (never removes VIPs) or all (full sync).
  // NotFound for an unknown frontend; `done` runs on the reconciler thread.
  absl::Status Sync(const std::optional<std::string>& frontend,
                    std::function<void(absl::Status)> done);

  // The desired VIP of a frontend right now.
  absl::StatusOr<DesiredVip> Desired(const std::string& frontend) const;

 private:
  void OnEvent(const CheckerEvent& e);
  void OnMinDelay();
  void OnMaxDelay();
  void TryRelease(const std::string& frontend);
  void SubmitEvent(const std::vector<std::string>& frontends,
                   const std::map<std::string, std::set<IpAddress>>& flush_now);
  void SubmitFull(std::function<void(absl::Status)> done);
  void SchedulePeriodic();
  SyncJob NewJob(SyncJob::Kind kind) const;

  Dispatcher& dispatcher_;
  Checker& checker_;
  Reconciler& reconciler_;
  int listener_ = 0;
  std::unique_ptr<Timer> min_timer_, max_timer_, periodic_timer_;
  bool in_min_delay_ = true;
  bool warmup_done_ = false;
  std::set<std::string> released_;
  // Stays alive as long as callbacks posted to the reconciler may run.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace maglev
