#include "checker/checker.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "absl/status/status.h"
#include "common/log.h"

namespace maglev {

// One probe session per backend. Owns the state machine and the probe timer.
// Kept small: 10,000 of these must fit in a few KiB each. `backend` and `hc`
// point into the current config (re-pointed on every reload).
// Shared with the probe callbacks by weak reference (weak_from_this, not a
// lookup by name: at thousands of probes a second the map walk shows up).
struct Checker::Session : std::enable_shared_from_this<Checker::Session> {
  std::string name;
  const Backend* backend;
  const HealthCheck* hc;  // nullptr: no health check, assumed up
  HealthStateMachine sm;
  std::unique_ptr<Timer> timer;
  // Bumped whenever in-flight probe results must be ignored (pause, disable,
  // restart, removal); a result carries the generation it was started with.
  uint64_t generation = 0;
  bool in_flight = false;
  MonoTime probe_started{};
  std::optional<ProbeResult> last_result;
  struct CodeCount {
    CheckType type;
    std::string code;
    uint64_t n;
  };
  std::vector<CodeCount> results;
  uint64_t duration_buckets[kProbeDurationBucketCount + 1] = {};
  double duration_sum = 0;
  uint64_t duration_count = 0;
  struct TransitionCount {
    BackendState from, to;
    uint64_t n;
  };
  std::vector<TransitionCount> transition_counts;

  Session(std::string n, const Backend* b, const HealthCheck* h, int history)
      : name(std::move(n)), backend(b), hc(h), sm(h ? h->rise : 1, h ? h->fall : 1, history) {}

  void CountTransition(const Transition& t) {
    for (TransitionCount& c : transition_counts)
      if (c.from == t.from && c.to == t.to) {
        ++c.n;
        return;
      }
    transition_counts.push_back({t.from, t.to, 1});
  }
  void CountResult(CheckType type, const std::string& code) {
    for (CodeCount& c : results)
      if (c.type == type && c.code == code) {
        ++c.n;
        return;
      }
    results.push_back({type, code, 1});
  }
};

namespace {

bool SameBackendIdentity(const Backend& a, const Backend& b) {
  return a.address == b.address && a.healthcheck == b.healthcheck;
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

ProbeSpec MakeSpec(const Backend& b, const HealthCheck& hc, const std::string& netns) {
  ProbeSpec spec;
  spec.type = hc.type;
  spec.address = b.address;
  spec.port = hc.port;
  spec.timeout = hc.timeout;
  spec.source = b.address.is_v4() ? hc.probe_ipv4_src : hc.probe_ipv6_src;
  spec.netns = netns;
  spec.http = hc.http;
  spec.tcp = hc.tcp;
  return spec;
}

}  // namespace

Checker::Checker(Dispatcher& dispatcher, ProbeRunner& runner, CheckerOptions options)
    : dispatcher_(dispatcher),
      runner_(runner),
      options_(options),
      rng_(options.seed),
      config_(std::make_shared<Config>()) {}

Checker::~Checker() { Stop(); }

Checker::Session* Checker::Find(const std::string& name) const {
  auto it = sessions_.find(name);
  return it == sessions_.end() ? nullptr : it->second.get();
}

std::vector<std::string> Checker::FrontendsOf(const std::string& backend) const {
  auto it = frontends_of_.find(backend);
  return it == frontends_of_.end() ? std::vector<std::string>{} : it->second;
}

Duration Checker::Jitter(Duration d) {
  if (options_.jitter <= 0 || d <= Duration::zero()) return d;
  std::uniform_real_distribution<double> dist(1.0 - options_.jitter, 1.0 + options_.jitter);
  return Duration(static_cast<int64_t>(static_cast<double>(d.count()) * dist(rng_)));
}

Duration Checker::Spread(Duration interval) {
  if (interval <= Duration::zero()) return Duration::zero();
  std::uniform_int_distribution<int64_t> dist(0, interval.count() - 1);
  return Duration(dist(rng_));
}

std::shared_ptr<Checker::Session> Checker::MakeSession(const Backend& b, const HealthCheck* hc) {
  auto s = std::make_shared<Session>(b.name, &b, hc, config_->healthchecker.transition_history);
  Session* raw = s.get();
  s->timer = dispatcher_.CreateTimer([this, raw] { StartProbe(*raw); });
  return s;
}

// Puts a session (already in `unknown`) into service: static backends go up
// at once, checked ones get their first probe after `first_delay`.
void Checker::Activate(Session& s, Duration first_delay) {
  if (!s.sm.probing()) return;
  if (!s.hc) {
    if (auto t = s.sm.Record(true, "static", "no health check configured", dispatcher_.WallNowNs()))
      Publish(s, *t);
    return;
  }
  ArmProbeTimer(s, first_delay);
}

// Probe timers expire on a coarse grid (options_.timer_slack): with
// thousands of backends, due probes are then started in small batches per
// wakeup instead of one wakeup per probe, which is most of the loop's cost.
// The slack is tiny against the ±10% jitter.
void Checker::ArmProbeTimer(Session& s, Duration delay) {
  Duration slack = options_.timer_slack;
  if (slack > Duration::zero() && delay > Duration::zero()) {
    auto due = (dispatcher_.Now() + delay).time_since_epoch();
    auto rounded = ((due + slack - Duration(1)) / slack) * slack;
    delay += std::chrono::duration_cast<Duration>(rounded - due);
  }
  s.timer->Enable(delay);
}

void Checker::ScheduleNext(Session& s) {
  if (!s.hc || !s.sm.probing()) return;
  Duration wait =
      Jitter(s.sm.NextInterval(s.hc->interval, s.hc->fast_interval, s.hc->down_interval));
  // Measured from the start of the probe that just finished, so a slow
  // probe does not stretch the probing period.
  Duration elapsed = std::chrono::duration_cast<Duration>(dispatcher_.Now() - s.probe_started);
  ArmProbeTimer(s, std::max(Duration::zero(), wait - elapsed));
}

void Checker::StartProbe(Session& s) {
  if (!s.hc || !s.sm.probing() || s.in_flight || stopped_) return;
  s.in_flight = true;
  s.probe_started = dispatcher_.Now();
  uint64_t gen = s.generation;
  std::weak_ptr<Session> weak = s.weak_from_this();
  runner_.Run(MakeSpec(*s.backend, *s.hc, config_->healthchecker.netns),
              [this, weak, gen](ProbeResult r) {
                // The session may have been removed or restarted meanwhile.
                if (auto cur = weak.lock()) OnProbeResult(*cur, gen, std::move(r));
              });
}

void Checker::OnProbeResult(Session& s, uint64_t generation, ProbeResult r) {
  if (generation != s.generation) return;  // a stale probe of an earlier incarnation
  s.in_flight = false;
  ++probes_completed_;
  // Statistics.
  s.CountResult(s.hc->type, r.code);
  double secs = std::chrono::duration<double>(r.elapsed).count();
  size_t bucket = 0;
  while (bucket < kProbeDurationBucketCount && secs > kProbeDurationBuckets[bucket]) ++bucket;
  ++s.duration_buckets[bucket];
  s.duration_sum += secs;
  ++s.duration_count;
  if (Logger::Get().Enabled(LogLevel::kDebug)) {
    LogDebug("probe-done", {{"backend", s.name},
                            {"type", CheckTypeName(s.hc->type)},
                            {"ok", r.ok},
                            {"code", r.code},
                            {"detail", r.detail},
                            {"elapsed", FormatDuration(r.elapsed)}});
  }
  auto t = s.sm.Record(r.ok, r.code, r.detail, dispatcher_.WallNowNs());
  s.last_result = std::move(r);
  if (t) Publish(s, *t);
  if (stopped_) return;
  ScheduleNext(s);
}

void Checker::Publish(Session& s, const Transition& t) { Publish(s, t, FrontendsOf(s.name)); }

void Checker::Publish(Session& s, const Transition& t, std::vector<std::string> frontends) {
  s.CountTransition(t);
  LogInfo("backend-transition", {{"backend", s.name},
                                 {"address", s.backend->address.ToString()},
                                 {"from", BackendStateName(t.from)},
                                 {"to", BackendStateName(t.to)},
                                 {"code", t.code},
                                 {"detail", t.detail}});
  CheckerEvent e;
  e.kind = CheckerEvent::Kind::kBackendTransition;
  e.backend = s.name;
  e.transition = t;
  e.frontends = std::move(frontends);
  Emit(e);
  PublishFrontendStates(e.frontends);
}

namespace {

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

}  // namespace

// Emits a kFrontendState event (and logs it) when a frontend's state or its
// active pool changed: failover, fail-back and the loss of the last backend
// are as visible as a frontend going down.
void Checker::PublishFrontendStates(const std::vector<std::string>& frontends) {
  for (const std::string& fe : frontends) {
    auto eff = Effective(fe);
    if (!eff.ok()) continue;
    const Frontend& cfg = config_->frontends.at(fe);
    std::string pool = eff->has_active_pool ? cfg.pools[eff->active_pool].name : "";
    auto [it, inserted] = frontend_states_.try_emplace(fe);
    FrontendStatus before = it->second;
    // A new frontend whose backends have not resolved yet says nothing.
    if (inserted && eff->state == FrontendState::kUnknown && pool.empty()) continue;
    if (!inserted && before.state == eff->state && before.active_pool == pool) continue;
    it->second = {eff->state, pool};
    CheckerEvent e;
    e.kind = CheckerEvent::Kind::kFrontendState;
    e.frontends = {fe};
    e.frontend_from = before.state;
    e.frontend_to = eff->state;
    e.active_pool_from = before.active_pool;
    e.active_pool_to = pool;
    if (pool != before.active_pool) e.reason = PoolChangeReason(cfg, before.active_pool, pool);
    LogInfo(before.state != eff->state ? "frontend-transition" : "frontend-pool-change",
            {{"frontend", fe},
             {"from", FrontendStateName(before.state)},
             {"to", FrontendStateName(eff->state)},
             {"from_pool", before.active_pool},
             {"to_pool", pool},
             {"reason", e.reason}});
    Emit(e);
  }
}

void Checker::Emit(const CheckerEvent& e) {
  for (auto& [_, l] : listeners_) l(e);
}

int Checker::AddListener(Listener listener) {
  int id = next_listener_id_++;
  listeners_[id] = std::move(listener);
  return id;
}

void Checker::RemoveListener(int id) { listeners_.erase(id); }

static std::map<std::string, std::vector<std::string>> IndexFrontends(const Config& cfg) {
  std::map<std::string, std::set<std::string>> sets;
  for (const auto& [fe_name, fe] : cfg.frontends)
    for (const Pool& p : fe.pools)
      for (const PoolBackend& pb : p.backends) sets[pb.backend].insert(fe_name);
  std::map<std::string, std::vector<std::string>> out;
  for (auto& [b, s] : sets) out[b] = {s.begin(), s.end()};
  return out;
}

void Checker::Start(std::shared_ptr<const Config> config) {
  config_ = std::move(config);
  frontends_of_ = IndexFrontends(*config_);
  stopped_ = false;
  for (const std::string& name : config_->ReferencedBackends()) {
    const Backend& b = config_->backends.at(name);
    const HealthCheck* hc =
        b.healthcheck.empty() ? nullptr : &config_->healthchecks.at(b.healthcheck);
    auto s = MakeSession(b, hc);
    Session& ref = *s;
    sessions_[name] = std::move(s);
    ref.sm.Start();
    if (!b.enabled) {
      if (auto t = ref.sm.Disable(dispatcher_.WallNowNs())) Publish(ref, *t);
      continue;
    }
    Activate(ref, hc ? Spread(hc->interval) : Duration::zero());
  }
}

void Checker::Reload(std::shared_ptr<const Config> config) {
  std::shared_ptr<const Config> old = config_;
  config_ = std::move(config);
  frontends_of_ = IndexFrontends(*config_);
  int64_t now = dispatcher_.WallNowNs();
  std::set<std::string> wanted;
  for (const std::string& n : config_->ReferencedBackends()) wanted.insert(n);

  // Removed backends: a final `removed` transition, published while the old
  // frontends still know them.
  auto old_frontends_of = IndexFrontends(*old);
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    if (wanted.count(it->first)) {
      ++it;
      continue;
    }
    Session& s = *it->second;
    s.timer->Disable();
    ++s.generation;
    // Published with the frontends that referenced it before the reload.
    Publish(s, s.sm.Remove(now), old_frontends_of[s.name]);
    it = sessions_.erase(it);
  }

  for (const std::string& name : wanted) {
    const Backend& b = config_->backends.at(name);
    const HealthCheck* hc =
        b.healthcheck.empty() ? nullptr : &config_->healthchecks.at(b.healthcheck);
    Session* s = Find(name);
    if (!s) {
      auto ns = MakeSession(b, hc);
      Session& ref = *ns;
      sessions_[name] = std::move(ns);
      LogInfo("backend-start", {{"backend", name}});
      ref.sm.Start();
      if (!b.enabled) {
        if (auto t = ref.sm.Disable(now)) Publish(ref, *t);
      } else {
        Activate(ref, hc ? Spread(hc->interval) : Duration::zero());
      }
      continue;
    }
    s->sm.set_history_size(config_->healthchecker.transition_history);
    const Backend& old_b = *s->backend;
    bool old_enabled_yaml = old->backends.count(name) ? old->backends.at(name).enabled : true;
    bool same_probe = SameBackendIdentity(old_b, b) &&
                      ((!s->hc && !hc) || (s->hc && hc && s->hc->SameProbe(*hc))) &&
                      old->healthchecker.netns == config_->healthchecker.netns;
    if (!same_probe) {
      // Restart fresh: new state machine with the new rise/fall, history kept.
      LogInfo("backend-restart",
              {{"backend", name}, {"reason", "address or health check changed"}});
      s->timer->Disable();
      ++s->generation;
      s->in_flight = false;
      BackendState prev = s->sm.state();
      s->backend = &b;
      s->hc = hc;
      s->last_result.reset();
      Publish(*s, s->sm.Restart(hc ? hc->rise : 1, hc ? hc->fall : 1, now, "restart",
                                "address or health check changed"));
      // Operator state survives: a runtime-disabled backend stays disabled
      // unless the YAML's `enabled` changed; a paused one stays paused.
      bool yaml_changed = old_enabled_yaml != b.enabled;
      bool want_disabled = yaml_changed ? !b.enabled : prev == BackendState::kDisabled;
      if (want_disabled) {
        if (auto d = s->sm.Disable(now)) Publish(*s, *d);
      } else if (prev == BackendState::kPaused) {
        auto p = s->sm.Pause(now);
        if (p.ok() && *p) Publish(*s, **p);
      } else {
        Activate(*s, hc ? Spread(hc->interval) : Duration::zero());
      }
      continue;
    }
    s->backend = &b;  // same identity: point at the new config's entries
    s->hc = hc;
    if (old_enabled_yaml != b.enabled) {
      if (!b.enabled) {
        s->timer->Disable();
        ++s->generation;
        s->in_flight = false;
        if (auto d = s->sm.Disable(now)) Publish(*s, *d);
      } else if (auto e = s->sm.Enable(now)) {
        Publish(*s, *e);
        Activate(*s, Duration::zero());
      }
    }
  }

  // Runtime weights survive unless the YAML changed that very weight (or the
  // item is gone).
  for (auto it = overrides_.begin(); it != overrides_.end();) {
    const auto& [fe, pool, backend] = it->first;
    const PoolBackend* before = FindPoolBackend(*old, fe, pool, backend);
    const PoolBackend* after = FindPoolBackend(*config_, fe, pool, backend);
    if (!after || !before || before->weight != after->weight) {
      it = overrides_.erase(it);
    } else {
      ++it;
    }
  }
  // Frontend states for removed frontends are forgotten; others re-evaluated.
  for (auto it = frontend_states_.begin(); it != frontend_states_.end();) {
    it = config_->frontends.count(it->first) ? std::next(it) : frontend_states_.erase(it);
  }
  CheckerEvent e;
  e.kind = CheckerEvent::Kind::kReload;
  std::set<std::string> fes;
  for (const auto& [n, _] : old->frontends) fes.insert(n);
  for (const auto& [n, _] : config_->frontends) fes.insert(n);
  e.frontends = {fes.begin(), fes.end()};
  LogInfo("config-reload", {{"frontends", static_cast<int64_t>(config_->frontends.size())},
                            {"backends", static_cast<int64_t>(sessions_.size())}});
  Emit(e);
  std::vector<std::string> current;
  for (const auto& [n, _] : config_->frontends) current.push_back(n);
  PublishFrontendStates(current);
}

ConfigResult Checker::ReloadFromFile(const std::string& path) {
  ConfigResult r = LoadConfigFile(path);
  if (!r.ok()) {
    LogError("config-reload-failed",
             {{"path", path},
              {"kind", r.kind == ConfigErrorKind::kParse ? "parse" : "semantic"},
              {"error", r.error}});
    return r;
  }
  Reload(r.config);
  return r;
}

void Checker::Stop() {
  stopped_ = true;
  for (auto& [_, s] : sessions_) {
    s->timer->Disable();
    ++s->generation;
  }
}

absl::StatusOr<BackendSnapshot> Checker::Pause(const std::string& backend) {
  Session* s = Find(backend);
  if (!s) return absl::NotFoundError("backend \"" + backend + "\" not found");
  auto t = s->sm.Pause(dispatcher_.WallNowNs());
  if (!t.ok()) return t.status();
  if (*t) {
    s->timer->Disable();
    ++s->generation;
    s->in_flight = false;
    Publish(*s, **t);
  }
  return Snapshot(*s);
}

absl::StatusOr<BackendSnapshot> Checker::Resume(const std::string& backend) {
  Session* s = Find(backend);
  if (!s) return absl::NotFoundError("backend \"" + backend + "\" not found");
  auto t = s->sm.Resume(dispatcher_.WallNowNs());
  if (!t.ok()) return t.status();
  if (*t) {
    Publish(*s, **t);
    Activate(*s, Duration::zero());
  }
  return Snapshot(*s);
}

absl::StatusOr<BackendSnapshot> Checker::Disable(const std::string& backend) {
  Session* s = Find(backend);
  if (!s) return absl::NotFoundError("backend \"" + backend + "\" not found");
  if (auto t = s->sm.Disable(dispatcher_.WallNowNs())) {
    s->timer->Disable();
    ++s->generation;
    s->in_flight = false;
    Publish(*s, *t);
  }
  return Snapshot(*s);
}

absl::StatusOr<BackendSnapshot> Checker::Enable(const std::string& backend) {
  Session* s = Find(backend);
  if (!s) return absl::NotFoundError("backend \"" + backend + "\" not found");
  if (auto t = s->sm.Enable(dispatcher_.WallNowNs())) {
    Publish(*s, *t);
    Activate(*s, Duration::zero());
  }
  return Snapshot(*s);
}

absl::Status Checker::SetWeight(const std::string& frontend, const std::string& pool,
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
  CheckerEvent e;
  e.kind = CheckerEvent::Kind::kWeightChange;
  e.frontends = {frontend};
  e.backend = backend;
  Emit(e);
  PublishFrontendStates(e.frontends);
  return absl::OkStatus();
}

std::vector<std::string> Checker::BackendNames() const {
  std::vector<std::string> out;
  out.reserve(sessions_.size());
  for (const auto& [n, _] : sessions_) out.push_back(n);
  return out;
}

BackendSnapshot Checker::Snapshot(const Session& s) const {
  BackendSnapshot snap;
  snap.name = s.name;
  snap.config = *s.backend;
  if (s.hc) snap.healthcheck = *s.hc;
  snap.state = s.sm.state();
  snap.counter = s.sm.counter();
  snap.enabled = s.sm.enabled();
  snap.transitions.assign(s.sm.history().begin(), s.sm.history().end());
  snap.last_result = s.last_result;
  for (const auto& c : s.results) snap.stats.results[{CheckTypeName(c.type), c.code}] += c.n;
  std::copy(std::begin(s.duration_buckets), std::end(s.duration_buckets),
            std::begin(snap.stats.duration_bucket_counts));
  snap.stats.duration_sum_seconds = s.duration_sum;
  snap.stats.duration_count = s.duration_count;
  for (const auto& c : s.transition_counts)
    snap.transition_counts[{BackendStateName(c.from), BackendStateName(c.to)}] += c.n;
  return snap;
}

std::optional<BackendSnapshot> Checker::GetBackend(const std::string& name) const {
  const Session* s = Find(name);
  if (!s) return std::nullopt;
  return Snapshot(*s);
}

BackendState Checker::StateOf(const std::string& backend) const {
  const Session* s = Find(backend);
  return s ? s->sm.state() : BackendState::kUnknown;
}

absl::StatusOr<FrontendEffective> Checker::Effective(const std::string& frontend) const {
  auto it = config_->frontends.find(frontend);
  if (it == config_->frontends.end())
    return absl::NotFoundError("frontend \"" + frontend + "\" not found");
  return ComputeEffective(
      it->second, [this](const std::string& b) { return StateOf(b); }, overrides_);
}

}  // namespace maglev
