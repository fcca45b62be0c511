// SPDX-License-Identifier: Apache-2.0
#include "lb/lb_stage.h"

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

const PoolBackend* FindPoolBackend(const Config& cfg, const std::string& fe,
                                   const std::string& pool, const std::string& backend) {
  auto it = cfg.frontends.find(fe);
  if (it == cfg.frontends.end()) return nullptr;
  for (const Pool& p : it->second.pools) {
    if (p.name != pool) continue;
    for (const PoolBackend& pb : p.backends)
      if (pb.backend == backend) return &pb;
  }
  return nullptr;
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

LbStage::LbStage(BackendStateLookup state_of) : state_of_(std::move(state_of)) {}

void LbStage::Start(std::shared_ptr<const Config> config) {
  config_ = std::move(config);
  frontends_of_ = IndexFrontends(*config_);
  views_.clear();
  status_.clear();
  for (const auto& [_, fe] : config_->frontends) Recompute(fe);
}

FrontendChange LbStage::Recompute(const Frontend& fe) {
  FrontendView& view = views_[fe.name];
  view.effective = ComputeEffective(fe, state_of_, overrides_);
  view.desired = BuildDesiredVip(*config_, fe, view.effective);
  view.active_pool =
      view.effective.has_active_pool ? fe.pools[view.effective.active_pool].name : "";
  FrontendChange change;
  change.frontend = fe.name;
  change.view = &view;
  Status& st = status_[fe.name];
  if (st.state != view.effective.state || st.active_pool != view.active_pool) {
    FrontendStatusChange sc;
    sc.from = st.state;
    sc.to = view.effective.state;
    sc.from_pool = st.active_pool;
    sc.to_pool = view.active_pool;
    if (sc.from_pool != sc.to_pool) sc.reason = PoolChangeReason(fe, sc.from_pool, sc.to_pool);
    LogInfo(sc.from != sc.to ? "frontend-transition" : "frontend-pool-change",
            {{"frontend", fe.name},
             {"from", FrontendStateName(sc.from)},
             {"to", FrontendStateName(sc.to)},
             {"from_pool", sc.from_pool},
             {"to_pool", sc.to_pool},
             {"reason", sc.reason}});
    st = {view.effective.state, view.active_pool};
    change.status = std::move(sc);
  }
  return change;
}

void LbStage::OnTransition(const std::string& backend, const Transition& t) {
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

void LbStage::Reload(std::shared_ptr<const Config> config,
                     const std::function<void()>& reload_backends) {
  std::shared_ptr<const Config> old = config_;
  reloading_.emplace();
  reload_backends();
  std::map<std::string, BackendState> transitioned = std::move(*reloading_);
  reloading_.reset();

  config_ = std::move(config);
  frontends_of_ = IndexFrontends(*config_);
  // Runtime weights survive unless the YAML changed that very weight (or
  // the item is gone).
  for (auto it = overrides_.begin(); it != overrides_.end();) {
    const auto& [fe, pool, backend] = it->first;
    const PoolBackend* before = FindPoolBackend(*old, fe, pool, backend);
    const PoolBackend* after = FindPoolBackend(*config_, fe, pool, backend);
    it = (!after || !before || before->weight != after->weight) ? overrides_.erase(it)
                                                                : std::next(it);
  }
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
  if (!FindPoolBackend(*config_, frontend, pool, backend))
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

}  // namespace maglev
