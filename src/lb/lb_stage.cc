// SPDX-License-Identifier: Apache-2.0
#include "lb/lb_stage.h"

#include <algorithm>

#include "common/log.h"

namespace maglev {

namespace {

std::map<std::string, std::vector<std::string>> IndexFrontends(const Config& cfg) {
  std::map<std::string, std::set<std::string>> sets;
  for (const auto& [fe_name, fe] : cfg.frontends)
    for (const Pool& p : fe.pools)
      for (const PoolBackend& pb : p.backends) sets[pb.backend].insert(fe_name);
  std::map<std::string, std::vector<std::string>> out;
  for (auto& [b, s] : sets) out[b] = {s.begin(), s.end()};
  return out;
}

// Why the active pool moved from `from` to `to` (pool names, "" for none).
std::string PoolChangeReason(const Frontend& fe, const std::string& from, const std::string& to) {
  auto index = [&fe](const std::string& name) {
    for (size_t i = 0; i < fe.pools.size(); ++i)
      if (fe.pools[i].name == name) return static_cast<int>(i);
    return -1;
  };
  if (to.empty()) return "no pool has an up backend";
  if (from.empty()) return "pool " + to + " has an up backend";
  if (index(to) > index(from)) return "pool " + from + " has no up backend";
  return "pool " + to + " has an up backend again";
}

// The flush rule: does a backend's transition to `state` ask for its ASes
// to be flushed now? (The §5.1 table, whatever the weight was.)
bool FlushOnTransitionTo(BackendState state, const Frontend& fe) {
  return EffectiveWeightRule(state, /*in_active_pool=*/false, 0, fe.flush_on_down).second;
}

}  // namespace

bool IsServable(const FrontendEffective& effective) {
  for (const EffectivePool& p : effective.pools)
    for (const EffectiveBackend& b : p.backends)
      if (b.effective_weight > 0) return true;
  return false;
}

LbStage::LbStage(Dispatcher& dispatcher, BackendStateLookup state_of)
    : dispatcher_(dispatcher), state_of_(std::move(state_of)) {}

void LbStage::Start(std::shared_ptr<const Config> config, const LbRestore* restore) {
  config_ = std::move(config);
  frontends_of_ = IndexFrontends(*config_);
  if (restore) {
    for (const auto& [key, w] : restore->overrides) {
      const auto& [fe, pool, backend] = key;
      if (config_->FindPoolBackend(fe, pool, backend) && w >= 0 && w <= 100) overrides_[key] = w;
    }
    int64_t now = dispatcher_.WallNowNs();
    for (const auto& [backend, deadline] : restore->drains) {
      if (!frontends_of_.count(backend) || deadline <= now) continue;
      ArmDrain(backend, Duration(deadline - now));
      drains_[backend].deadline_unix_ns = deadline;
    }
    for (const std::string& b : restore->out_of_service)
      if (frontends_of_.count(b)) out_of_service_.insert(b);
  }
  views_.clear();
  status_.clear();
  for (const auto& [_, fe] : config_->frontends) Recompute(fe);
}

FrontendChange LbStage::Recompute(const Frontend& fe) {
  FrontendView& view = views_[fe.name];
  EffectiveInputs in;
  in.state_of = state_of_;
  in.overrides = &overrides_;
  in.ramp = &ramp_shares_;
  in.draining = &draining_;
  if (fe.failback_delay > Duration::zero()) {
    in.choose_pool = [this, &fe](const std::vector<bool>& eligible) {
      return ChoosePool(fe, eligible);
    };
  } else {
    holds_.erase(fe.name);
  }
  view.effective = ComputeEffective(fe, in);
  view.desired = BuildDesiredVip(*config_, fe, view.effective);
  view.active_pool =
      view.effective.has_active_pool ? fe.pools[view.effective.active_pool].name : "";
  view.servable = IsServable(view.effective);
  FrontendChange change;
  change.frontend = fe.name;
  change.view = &view;
  Status& st = status_[fe.name];
  if (st.state != view.effective.state || st.active_pool != view.active_pool ||
      st.servable != view.servable) {
    FrontendStatusChange sc;
    sc.from = st.state;
    sc.to = view.effective.state;
    sc.from_pool = st.active_pool;
    sc.to_pool = view.active_pool;
    sc.from_servable = st.servable;
    sc.to_servable = view.servable;
    if (sc.from_pool != sc.to_pool) sc.reason = PoolChangeReason(fe, sc.from_pool, sc.to_pool);
    if (sc.from != sc.to || sc.from_pool != sc.to_pool) {
      LogInfo(sc.from != sc.to ? "frontend-transition" : "frontend-pool-change",
              {{"frontend", fe.name},
               {"from", FrontendStateName(sc.from)},
               {"to", FrontendStateName(sc.to)},
               {"from_pool", sc.from_pool},
               {"to_pool", sc.to_pool},
               {"reason", sc.reason},
               {"servable", view.servable}});
    } else {
      LogInfo("frontend-servable", {{"frontend", fe.name}, {"servable", view.servable}});
    }
    st = {view.effective.state, view.active_pool, view.servable};
    change.status = std::move(sc);
  }
  return change;
}

void LbStage::OnTransition(const std::string& backend, const Transition& t) {
  // Slow start and drain bookkeeping first: the recomputation sees them.
  switch (t.to) {
    case BackendState::kUp: {
      const bool comeback = t.from == BackendState::kDown ||
                            (t.from == BackendState::kUnknown && out_of_service_.count(backend));
      out_of_service_.erase(backend);
      auto b = config_->backends.find(backend);
      if (comeback && b != config_->backends.end()) {
        Duration d = config_->SlowStartOf(b->second);
        if (d > Duration::zero()) StartRamp(backend, d);
      }
      break;
    }
    case BackendState::kDown:
    case BackendState::kPaused:
      out_of_service_.insert(backend);
      ramps_.erase(backend);
      break;
    case BackendState::kDisabled:
    case BackendState::kRemoved:
      out_of_service_.insert(backend);
      ramps_.erase(backend);
      drains_.erase(backend);  // a drain ends where the backend is taken out
      break;
    case BackendState::kUnknown:
      break;
  }
  if (t.to == BackendState::kRemoved) out_of_service_.erase(backend);
  RefreshRampShares();
  draining_.clear();
  for (const auto& [b, _] : drains_) draining_.insert(b);
  if (reloading_) {
    (*reloading_)[backend] = t.to;
    return;
  }
  auto fes = frontends_of_.find(backend);
  if (fes == frontends_of_.end()) return;
  auto addr = config_->backends.find(backend);
  LbUpdate update;
  update.cause = LbUpdate::Cause::kTransition;
  for (const std::string& name : fes->second) {
    const Frontend& fe = config_->frontends.at(name);
    FrontendChange change = Recompute(fe);
    if (addr != config_->backends.end() && FlushOnTransitionTo(t.to, fe))
      change.flush.insert(addr->second.address);
    update.frontends.push_back(std::move(change));
  }
  Emit(update);
}

void LbStage::RecomputeBackend(const std::string& backend, LbUpdate::Cause cause) {
  auto fes = frontends_of_.find(backend);
  if (fes == frontends_of_.end()) return;
  LbUpdate update;
  update.cause = cause;
  for (const std::string& name : fes->second)
    update.frontends.push_back(Recompute(config_->frontends.at(name)));
  Emit(update);
}

// ---- slow start

void LbStage::StartRamp(const std::string& backend, Duration duration) {
  RampState& r = ramps_[backend];
  r.start = dispatcher_.Now();
  r.duration = duration;
  r.steps = static_cast<int>(std::clamp<int64_t>(
      std::chrono::duration_cast<std::chrono::seconds>(duration).count(), 1, 10));
  r.done = false;
  if (!r.timer) r.timer = dispatcher_.CreateTimer([this, backend] { StepRamp(backend); });
  r.timer->Enable(duration / r.steps);
  LogInfo("slow-start",
          {{"backend", backend}, {"duration", FormatDuration(duration)}, {"steps", r.steps}});
}

// A step boundary: the share grows (or the ramp ends) and VPP follows with
// one weight change per frontend. The timer is re-armed, never destroyed
// from its own callback.
void LbStage::StepRamp(const std::string& backend) {
  auto it = ramps_.find(backend);
  if (it == ramps_.end()) return;
  RampState& r = it->second;
  Duration step = r.duration / r.steps;
  Duration elapsed = dispatcher_.Now() - r.start;
  if (elapsed + Duration(1) >= step * (r.steps - 1)) {
    r.done = true;  // full weight from now on
  } else {
    r.timer->Enable(step);
  }
  RefreshRampShares();
  RecomputeBackend(backend, LbUpdate::Cause::kSlowStart);
  if (r.done) {
    // Erased from the loop, outside the timer's own callback.
    dispatcher_.Post([this, backend] {
      auto again = ramps_.find(backend);
      if (again != ramps_.end() && again->second.done) ramps_.erase(again);
    });
  }
}

void LbStage::RefreshRampShares() {
  ramp_shares_.clear();
  MonoTime now = dispatcher_.Now();
  for (const auto& [b, r] : ramps_) {
    if (r.done) continue;
    Duration step = r.duration / r.steps;
    // Step k (0-based) carries (k+1)/N of the weight.
    int64_t k = step.count() > 0 ? (now - r.start + Duration(1)) / step : r.steps;
    double share = static_cast<double>(std::min<int64_t>(k + 1, r.steps)) / r.steps;
    if (share < 1.0) ramp_shares_[b] = share;
  }
}

std::optional<LbStage::RampInfo> LbStage::Ramp(const std::string& backend) const {
  auto share = ramp_shares_.find(backend);
  auto r = ramps_.find(backend);
  if (share == ramp_shares_.end() || r == ramps_.end()) return std::nullopt;
  Duration step = r->second.duration / r->second.steps;
  MonoTime full = r->second.start + step * (r->second.steps - 1);
  return RampInfo{share->second,
                  dispatcher_.WallNowNs() +
                      std::chrono::duration_cast<Duration>(full - dispatcher_.Now()).count()};
}

// ---- fail-back hold-down

int LbStage::ChoosePool(const Frontend& fe, const std::vector<bool>& eligible) {
  Hold& h = holds_[fe.name];
  MonoTime now = dispatcher_.Now();
  int natural = -1, current = -1;
  for (size_t p = 0; p < eligible.size(); ++p) {
    const std::string& name = fe.pools[p].name;
    if (eligible[p]) {
      h.eligible_since.try_emplace(name, now);
      if (natural < 0) natural = static_cast<int>(p);
    } else {
      h.eligible_since.erase(name);
    }
    if (name == h.active) current = static_cast<int>(p);
  }
  int choice = natural;
  // Only a move back up, to a higher-priority pool, waits; failing over,
  // away from a pool that has nothing left, never does.
  if (natural >= 0 && current > natural && eligible[current]) {
    choice = current;
    std::optional<MonoTime> next;
    for (int p = natural; p < current; ++p) {
      if (!eligible[p]) continue;
      MonoTime ready = h.eligible_since.at(fe.pools[p].name) + fe.failback_delay;
      if (ready <= now) {
        choice = p;
        break;
      }
      if (!next || ready < *next) next = ready;
    }
    if (choice == current && next) {
      if (!h.timer) {
        std::string name = fe.name;
        h.timer = dispatcher_.CreateTimer([this, name] {
          auto fe_it = config_->frontends.find(name);
          if (fe_it == config_->frontends.end()) return;
          LbUpdate update;
          update.cause = LbUpdate::Cause::kFailback;
          update.frontends.push_back(Recompute(fe_it->second));
          Emit(update);
        });
      }
      if (!h.timer->Enabled())
        LogInfo("frontend-failback-held", {{"frontend", fe.name},
                                           {"pool", fe.pools[natural].name},
                                           {"active_pool", fe.pools[current].name},
                                           {"failback_delay", FormatDuration(fe.failback_delay)}});
      h.timer->Enable(std::chrono::duration_cast<Duration>(*next - now));
    }
  }
  if (choice == natural && h.timer) h.timer->Disable();
  h.active = choice >= 0 ? fe.pools[choice].name : "";
  return choice;
}

// ---- drain

absl::Status LbStage::Drain(const std::string& backend, Duration timeout) {
  auto b = config_->backends.find(backend);
  if (b == config_->backends.end() || !frontends_of_.count(backend))
    return absl::NotFoundError("backend \"" + backend + "\" not found");
  if (state_of_(backend) == BackendState::kDisabled)
    return absl::FailedPreconditionError("backend is disabled; enable it first");
  if (timeout <= Duration::zero()) timeout = b->second.drain_timeout;
  ArmDrain(backend, timeout);
  LogInfo("backend-drain", {{"backend", backend}, {"timeout", FormatDuration(timeout)}});
  RecomputeBackend(backend, LbUpdate::Cause::kDrain);
  return absl::OkStatus();
}

// Sets (or moves) a drain's deadline `timeout` from now and arms its timer.
void LbStage::ArmDrain(const std::string& backend, Duration timeout) {
  DrainState& d = drains_[backend];
  d.deadline = dispatcher_.Now() + timeout;
  d.deadline_unix_ns = dispatcher_.WallNowNs() + timeout.count();
  if (!d.timer) {
    d.timer = dispatcher_.CreateTimer([this, backend] {
      // Posted: the drain (and this timer) ends in the disable that follows.
      dispatcher_.Post([this, backend] {
        // Not if an enable ended it meanwhile, or a new drain moved the deadline.
        auto it = drains_.find(backend);
        if (it == drains_.end() || it->second.deadline > dispatcher_.Now()) return;
        LogInfo("backend-drain-done", {{"backend", backend}});
        drains_.erase(backend);
        draining_.erase(backend);
        if (on_drain_timeout_) {
          on_drain_timeout_(backend);
        } else {
          RecomputeBackend(backend, LbUpdate::Cause::kDrain);
        }
      });
    });
  }
  d.timer->Enable(timeout);
  draining_.insert(backend);
}

bool LbStage::CancelDrain(const std::string& backend) {
  if (!drains_.erase(backend)) return false;
  draining_.erase(backend);
  LogInfo("backend-drain-cancelled", {{"backend", backend}});
  RecomputeBackend(backend, LbUpdate::Cause::kDrain);
  return true;
}

std::optional<int64_t> LbStage::DrainDeadline(const std::string& backend) const {
  auto it = drains_.find(backend);
  if (it == drains_.end()) return std::nullopt;
  return it->second.deadline_unix_ns;
}

void LbStage::Reload(std::shared_ptr<const Config> config,
                     const std::function<void()>& reload_backends) {
  std::shared_ptr<const Config> old = config_;
  reloading_.emplace();
  reload_backends();
  std::map<std::string, BackendState> transitioned = std::move(*reloading_);
  reloading_.reset();

  config_ = std::move(config);
  frontends_of_ = IndexFrontends(*config_);
  for (auto it = drains_.begin(); it != drains_.end();)
    it = frontends_of_.count(it->first) ? std::next(it) : drains_.erase(it);
  for (auto it = ramps_.begin(); it != ramps_.end();)
    it = frontends_of_.count(it->first) ? std::next(it) : ramps_.erase(it);
  draining_.clear();
  for (const auto& [b, _] : drains_) draining_.insert(b);
  RefreshRampShares();
  for (auto it = holds_.begin(); it != holds_.end();)
    it = config_->frontends.count(it->first) ? std::next(it) : holds_.erase(it);
  // Runtime weights survive unless the YAML changed that very weight (or
  // the item is gone): the rule the preview of a candidate config shares.
  overrides_ = SurvivingOverrides(*old, *config_, overrides_);
  LbUpdate update;
  update.cause = LbUpdate::Cause::kReload;
  // Every frontend, current and removed, in name order.
  std::set<std::string> names;
  for (const auto& [n, _] : old->frontends) names.insert(n);
  for (const auto& [n, _] : config_->frontends) names.insert(n);
  for (const std::string& name : names) {
    auto fe = config_->frontends.find(name);
    if (fe == config_->frontends.end()) {
      views_.erase(name);
      status_.erase(name);
      FrontendChange gone;
      gone.frontend = name;
      update.frontends.push_back(std::move(gone));
      continue;
    }
    FrontendChange change = Recompute(fe->second);
    for (const Pool& p : fe->second.pools)
      for (const PoolBackend& pb : p.backends) {
        auto t = transitioned.find(pb.backend);
        if (t != transitioned.end() && FlushOnTransitionTo(t->second, fe->second))
          change.flush.insert(config_->backends.at(pb.backend).address);
      }
    update.frontends.push_back(std::move(change));
  }
  Emit(update);
}

absl::Status LbStage::SetWeight(const std::string& frontend, const std::string& pool,
                                const std::string& backend, int weight) {
  auto fit = config_->frontends.find(frontend);
  if (fit == config_->frontends.end())
    return absl::NotFoundError("frontend \"" + frontend + "\" not found");
  const Pool* p = nullptr;
  for (const Pool& cand : fit->second.pools)
    if (cand.name == pool) p = &cand;
  if (!p)
    return absl::NotFoundError("pool \"" + pool + "\" not found in frontend \"" + frontend + "\"");
  if (!config_->FindPoolBackend(frontend, pool, backend))
    return absl::NotFoundError("backend \"" + backend + "\" not found in pool \"" + pool + "\"");
  if (weight < 0 || weight > 100)
    return absl::InvalidArgumentError("weight " + std::to_string(weight) + " out of range 0..100");
  overrides_[{frontend, pool, backend}] = weight;
  LogInfo("frontend-pool-weight",
          {{"frontend", frontend}, {"pool", pool}, {"backend", backend}, {"weight", weight}});
  LbUpdate update;
  update.cause = LbUpdate::Cause::kWeight;
  update.frontends.push_back(Recompute(fit->second));
  Emit(update);
  return absl::OkStatus();
}

const FrontendView* LbStage::Find(const std::string& frontend) const {
  auto it = views_.find(frontend);
  return it == views_.end() ? nullptr : &it->second;
}

int LbStage::AddListener(Listener listener) {
  int id = next_listener_id_++;
  listeners_[id] = std::move(listener);
  return id;
}

void LbStage::RemoveListener(int id) { listeners_.erase(id); }

void LbStage::Emit(const LbUpdate& update) {
  for (auto& [_, l] : listeners_) l(update);
}

WeightOverrides SurvivingOverrides(const Config& old, const Config& next,
                                   const WeightOverrides& overrides) {
  WeightOverrides out;
  for (const auto& [key, weight] : overrides) {
    const auto& [fe, pool, backend] = key;
    const PoolBackend* before = old.FindPoolBackend(fe, pool, backend);
    const PoolBackend* after = next.FindPoolBackend(fe, pool, backend);
    if (before && after && before->weight == after->weight) out[key] = weight;
  }
  return out;
}

}  // namespace maglev
