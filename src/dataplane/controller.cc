// SPDX-License-Identifier: Apache-2.0
#include "dataplane/controller.h"

#include "common/log.h"

namespace maglev {

DataplaneController::DataplaneController(Dispatcher& dispatcher, LbStage& lb,
                                         Reconciler& reconciler)
    : dispatcher_(dispatcher), lb_(lb), reconciler_(reconciler) {}

DataplaneController::~DataplaneController() { Stop(); }

void DataplaneController::Start() {
  listener_ = lb_.AddListener([this](const LbUpdate& u) { OnUpdate(u); });
  // After a (re)connect, a full sync, unless the warmup still holds VPP.
  std::weak_ptr<bool> alive = alive_;
  reconciler_.SetOnConnected([this, alive] {
    dispatcher_.Post([this, alive] {
      auto a = alive.lock();
      if (!a || !*a) return;
      if (warmup_done_) {
        SubmitFull(nullptr);
        return;
      }
      // During warmup: only what was already released.
      for (const std::string& fe : released_)
        if (const FrontendView* v = lb_.Find(fe)) SubmitFrontend(*v);
    });
  });
  const VppLbConfig& conf = lb_.config().vpp_lb;
  min_timer_ = dispatcher_.CreateTimer([this] { OnMinDelay(); });
  max_timer_ = dispatcher_.CreateTimer([this] { OnMaxDelay(); });
  periodic_timer_ = dispatcher_.CreateTimer([this] {
    SubmitFull(nullptr);
    SchedulePeriodic();
  });
  if (conf.startup_min_delay <= Duration::zero() && conf.startup_max_delay <= Duration::zero()) {
    LogInfo("warmup-disabled", {});
    OnMinDelay();
    OnMaxDelay();
    return;
  }
  LogInfo("warmup-start", {{"min_delay", FormatDuration(conf.startup_min_delay)},
                           {"max_delay", FormatDuration(conf.startup_max_delay)}});
  min_timer_->Enable(conf.startup_min_delay);
  max_timer_->Enable(std::max(conf.startup_max_delay, conf.startup_min_delay));
  // Frontends already settled (static or restored backends) need no update
  // to be released early.
  if (!persisted_health_.empty())
    for (const auto& [name, _] : lb_.frontends()) TryRelease(name);
}

void DataplaneController::Stop() {
  if (listener_) lb_.RemoveListener(listener_);
  listener_ = 0;
  *alive_ = false;
  if (min_timer_) min_timer_->Disable();
  if (max_timer_) max_timer_->Disable();
  if (periodic_timer_) periodic_timer_->Disable();
}

bool DataplaneController::Released(const std::string& frontend) const {
  return warmup_done_ || released_.count(frontend) > 0;
}

void DataplaneController::OnMinDelay() {
  if (!in_min_delay_) return;
  in_min_delay_ = false;
  for (const auto& [name, _] : lb_.frontends()) TryRelease(name);
}

void DataplaneController::OnMaxDelay() {
  if (warmup_done_) return;
  in_min_delay_ = false;
  warmup_done_ = true;
  min_timer_->Disable();
  LogInfo("warmup-done", {{"released_early", static_cast<int64_t>(released_.size())}});
  SubmitFull(nullptr);
  SchedulePeriodic();
  if (on_release_)
    for (const auto& [name, _] : lb_.frontends())
      if (!released_.count(name)) on_release_(name);
}

void DataplaneController::SchedulePeriodic() {
  Duration every = lb_.config().vpp_lb.sync_interval;
  if (every > Duration::zero()) periodic_timer_->Enable(every);
}

// During warmup a frontend is released once every backend it references has
// left `unknown`; its first sync dumps VPP (it has not been looked at yet).
// During startup-min-delay, only a frontend that matches the persisted
// health is (its sync then finds VPP as the previous instance left it).
void DataplaneController::TryRelease(const std::string& frontend) {
  if (warmup_done_ || released_.count(frontend)) return;
  if (in_min_delay_ && persisted_health_.empty()) return;
  const FrontendView* view = lb_.Find(frontend);
  if (!view) return;
  for (const EffectivePool& p : view->effective.pools)
    for (const EffectiveBackend& b : p.backends)
      if (b.state == BackendState::kUnknown) return;
  const bool early = in_min_delay_;
  if (early && !MatchesPersisted(*view)) return;
  released_.insert(frontend);
  LogInfo("warmup-release", {{"frontend", frontend}, {"persisted_health", early}});
  SubmitFrontend(*view);
  if (on_release_) on_release_(frontend);
}

bool DataplaneController::MatchesPersisted(const FrontendView& view) const {
  for (const EffectivePool& p : view.effective.pools)
    for (const EffectiveBackend& b : p.backends) {
      if (b.state == BackendState::kDisabled || b.state == BackendState::kPaused) continue;
      auto it = persisted_health_.find(b.backend);
      if (it == persisted_health_.end() || it->second != b.state) return false;
    }
  return true;
}

void DataplaneController::OnUpdate(const LbUpdate& update) {
  if (update.cause == LbUpdate::Cause::kReload) {
    // Reloads do not restart the warmup clock. After it, a full sync adds,
    // changes and removes VIPs (with the flushes the reload's transitions
    // asked for); during it, released frontends are re-synced.
    if (warmup_done_) {
      std::map<std::string, std::set<IpAddress>> flush;
      for (const FrontendChange& c : update.frontends)
        if (!c.flush.empty()) flush[c.frontend] = c.flush;
      SubmitFull(nullptr, std::move(flush));
      return;
    }
  }
  SyncJob job = NewJob(SyncJob::Kind::kEvent);
  for (const FrontendChange& c : update.frontends) {
    if (!c.view) {  // removed by a reload during warmup
      released_.erase(c.frontend);
      continue;
    }
    if (!Released(c.frontend)) {
      TryRelease(c.frontend);
      continue;
    }
    job.vips.push_back(c.view->desired);
    if (!c.flush.empty()) job.flush_now[c.frontend] = c.flush;
  }
  if (!job.vips.empty()) reconciler_.Submit(std::move(job));
}

// Every job carries the global conf: whatever it programs, the reconciler
// makes sure of the conf first.
SyncJob DataplaneController::NewJob(SyncJob::Kind kind) const {
  SyncJob job;
  job.kind = kind;
  job.origin = dispatcher_.Now();
  job.conf = DesiredConf(lb_.config().vpp_lb);
  return job;
}

void DataplaneController::SubmitFrontend(const FrontendView& view) {
  SyncJob job = NewJob(SyncJob::Kind::kFrontend);
  job.vips = {view.desired};
  reconciler_.Submit(std::move(job));
}

void DataplaneController::SubmitFull(std::function<void(absl::Status)> done,
                                     std::map<std::string, std::set<IpAddress>> flush) {
  SyncJob job = NewJob(SyncJob::Kind::kFull);
  for (const auto& [_, view] : lb_.frontends()) job.vips.push_back(view.desired);
  job.flush_now = std::move(flush);
  job.done = std::move(done);
  reconciler_.Submit(std::move(job));
}

absl::Status DataplaneController::Sync(const std::optional<std::string>& frontend,
                                       std::function<void(absl::Status)> done) {
  if (!frontend) {
    SubmitFull(std::move(done));
    return absl::OkStatus();
  }
  const FrontendView* view = lb_.Find(*frontend);
  if (!view) return absl::NotFoundError("frontend \"" + *frontend + "\" not found");
  SyncJob job = NewJob(SyncJob::Kind::kFrontend);
  job.vips = {view->desired};
  job.done = std::move(done);
  reconciler_.Submit(std::move(job));
  return absl::OkStatus();
}

absl::StatusOr<DesiredVip> DataplaneController::Desired(const std::string& frontend) const {
  const FrontendView* view = lb_.Find(frontend);
  if (!view) return absl::NotFoundError("frontend \"" + frontend + "\" not found");
  return view->desired;
}

}  // namespace maglev
