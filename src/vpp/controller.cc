#include "vpp/controller.h"

#include "common/log.h"

namespace maglev {

DataplaneController::DataplaneController(Dispatcher& dispatcher, Checker& checker,
                                         Reconciler& reconciler)
    : dispatcher_(dispatcher), checker_(checker), reconciler_(reconciler) {}

DataplaneController::~DataplaneController() { Stop(); }

void DataplaneController::Start() {
  listener_ = checker_.AddListener([this](const CheckerEvent& e) { OnEvent(e); });
  // After a (re)connect, a full sync, unless the warmup still holds VPP.
  std::weak_ptr<bool> alive = alive_;
  reconciler_.SetOnConnected([this, alive] {
    dispatcher_.Post([this, alive] {
      if (!alive.lock()) return;
      if (warmup_done_) {
        SubmitFull(nullptr);
        return;
      }
      // During warmup: only what was already released.
      for (const std::string& fe : released_) {
        auto desired = Desired(fe);
        if (!desired.ok()) continue;
        SyncJob job = NewJob(SyncJob::Kind::kFrontend);
        job.vips = {std::move(*desired)};
        reconciler_.Submit(std::move(job));
      }
    });
  });
  const VppLbConfig& lb = checker_.config().vpp_lb;
  min_timer_ = dispatcher_.CreateTimer([this] { OnMinDelay(); });
  max_timer_ = dispatcher_.CreateTimer([this] { OnMaxDelay(); });
  periodic_timer_ = dispatcher_.CreateTimer([this] {
    SubmitFull(nullptr);
    SchedulePeriodic();
  });
  if (lb.startup_min_delay <= Duration::zero() && lb.startup_max_delay <= Duration::zero()) {
    LogInfo("warmup-disabled", {});
    OnMinDelay();
    OnMaxDelay();
    return;
  }
  LogInfo("warmup-start", {{"min_delay", FormatDuration(lb.startup_min_delay)},
                           {"max_delay", FormatDuration(lb.startup_max_delay)}});
  min_timer_->Enable(lb.startup_min_delay);
  max_timer_->Enable(std::max(lb.startup_max_delay, lb.startup_min_delay));
}

void DataplaneController::Stop() {
  if (listener_) checker_.RemoveListener(listener_);
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
  for (const auto& [name, _] : checker_.config().frontends) TryRelease(name);
}

void DataplaneController::OnMaxDelay() {
  if (warmup_done_) return;
  in_min_delay_ = false;
  warmup_done_ = true;
  min_timer_->Disable();
  LogInfo("warmup-done", {{"released_early", static_cast<int64_t>(released_.size())}});
  SubmitFull(nullptr);
  SchedulePeriodic();
}

void DataplaneController::SchedulePeriodic() {
  Duration every = checker_.config().vpp_lb.sync_interval;
  if (every > Duration::zero()) periodic_timer_->Enable(every);
}

// During warmup a frontend is released once every backend it references has
// left `unknown`; its first sync dumps VPP (it has not been looked at yet).
void DataplaneController::TryRelease(const std::string& frontend) {
  if (warmup_done_ || in_min_delay_ || released_.count(frontend)) return;
  auto eff = checker_.Effective(frontend);
  if (!eff.ok()) return;
  for (const EffectivePool& p : eff->pools)
    for (const EffectiveBackend& b : p.backends)
      if (b.state == BackendState::kUnknown) return;
  released_.insert(frontend);
  LogInfo("warmup-release", {{"frontend", frontend}});
  auto desired = Desired(frontend);
  if (!desired.ok()) return;
  SyncJob job = NewJob(SyncJob::Kind::kFrontend);
  job.vips = {std::move(*desired)};
  reconciler_.Submit(std::move(job));
}

// Every job carries the global conf: whatever it programs, the reconciler
// makes sure of the conf first.
SyncJob DataplaneController::NewJob(SyncJob::Kind kind) const {
  SyncJob job;
  job.kind = kind;
  job.origin = dispatcher_.Now();
  job.conf = DesiredConf(checker_.config().vpp_lb);
  return job;
}

absl::StatusOr<DesiredVip> DataplaneController::Desired(const std::string& frontend) const {
  auto eff = checker_.Effective(frontend);
  if (!eff.ok()) return eff.status();
  const Config& cfg = checker_.config();
  return BuildDesiredVip(cfg, cfg.frontends.at(frontend), *eff);
}

void DataplaneController::OnEvent(const CheckerEvent& e) {
  switch (e.kind) {
    case CheckerEvent::Kind::kBackendTransition: {
      std::map<std::string, std::set<IpAddress>> flush;
      BackendState to = e.transition.to;
      if (to == BackendState::kDown || to == BackendState::kDisabled ||
          to == BackendState::kRemoved) {
        const Config& cfg = checker_.config();
        auto b = cfg.backends.find(e.backend);
        if (b != cfg.backends.end())
          for (const std::string& fe : e.frontends) flush[fe].insert(b->second.address);
      }
      std::vector<std::string> ready;
      for (const std::string& fe : e.frontends) {
        if (!checker_.config().frontends.count(fe)) continue;
        if (Released(fe)) {
          ready.push_back(fe);
        } else {
          TryRelease(fe);
        }
      }
      if (!ready.empty()) SubmitEvent(ready, flush);
      break;
    }
    case CheckerEvent::Kind::kWeightChange:
      for (const std::string& fe : e.frontends)
        if (Released(fe)) SubmitEvent({fe}, {});
      break;
    case CheckerEvent::Kind::kReload:
      // Reloads do not restart the warmup clock. A full sync adds, changes
      // and removes VIPs; during warmup, released frontends are re-synced.
      if (warmup_done_) {
        SubmitFull(nullptr);
      } else {
        for (const std::string& fe : e.frontends) {
          if (!checker_.config().frontends.count(fe)) {
            released_.erase(fe);
          } else if (released_.count(fe)) {
            SubmitEvent({fe}, {});
          } else {
            TryRelease(fe);
          }
        }
      }
      break;
    case CheckerEvent::Kind::kFrontendState:
      break;
  }
}

void DataplaneController::SubmitEvent(const std::vector<std::string>& frontends,
                                      const std::map<std::string, std::set<IpAddress>>& flush) {
  SyncJob job = NewJob(SyncJob::Kind::kEvent);
  job.flush_now = flush;
  for (const std::string& fe : frontends) {
    auto d = Desired(fe);
    if (d.ok()) job.vips.push_back(std::move(*d));
  }
  if (!job.vips.empty()) reconciler_.Submit(std::move(job));
}

void DataplaneController::SubmitFull(std::function<void(absl::Status)> done) {
  SyncJob job = NewJob(SyncJob::Kind::kFull);
  for (const auto& [name, _] : checker_.config().frontends) {
    auto d = Desired(name);
    if (d.ok()) job.vips.push_back(std::move(*d));
  }
  job.done = std::move(done);
  reconciler_.Submit(std::move(job));
}

absl::Status DataplaneController::Sync(const std::optional<std::string>& frontend,
                                       std::function<void(absl::Status)> done) {
  if (!frontend) {
    SubmitFull(std::move(done));
    return absl::OkStatus();
  }
  auto d = Desired(*frontend);
  if (!d.ok()) return d.status();
  SyncJob job = NewJob(SyncJob::Kind::kFrontend);
  job.vips = {std::move(*d)};
  job.done = std::move(done);
  reconciler_.Submit(std::move(job));
  return absl::OkStatus();
}

}  // namespace maglev
