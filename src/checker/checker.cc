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
    ProbeCode code;
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
  void CountResult(CheckType type, ProbeCode code) {
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
    if (auto t = s.sm.MarkStatic(dispatcher_.WallNowNs())) Publish(s, *t);
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
  if (Logger::Get().Enabled(LogLevel::kDebug)) {
    // Lets a dashboard light a probe-in-flight indicator (probe-done ends it).
    LogDebug("probe-start", {{"backend", s.name}, {"type", CheckTypeName(s.hc->type)}});
  }
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
                            {"ok", r.ok()},
                            {"code", ProbeCodeName(r.code)},
                            {"detail", r.detail},
                            {"elapsed", FormatDuration(r.elapsed)}});
  }
  auto t = s.sm.Record(r.code, r.detail, dispatcher_.WallNowNs());
  s.last_result = std::move(r);
  if (t) Publish(s, *t);
  if (stopped_) return;
  ScheduleNext(s);
}

void Checker::Publish(Session& s, const Transition& t) {
  s.CountTransition(t);
  LogInfo("backend-transition", {{"backend", s.name},
                                 {"address", s.backend->address.ToString()},
                                 {"from", BackendStateName(t.from)},
                                 {"to", BackendStateName(t.to)},
                                 {"code", t.code()},
                                 {"detail", t.detail}});
  for (auto& [_, l] : listeners_) l(s.name, t);
}

// Whatever a probe of this session's current incarnation reports from now on
// is ignored, and no probe is scheduled.
void Checker::StopProbing(Session& s) {
  s.timer->Disable();
  ++s.generation;
  s.in_flight = false;
}

int Checker::AddListener(Listener listener) {
  int id = next_listener_id_++;
  listeners_[id] = std::move(listener);
  return id;
}

void Checker::RemoveListener(int id) { listeners_.erase(id); }

void Checker::Start(std::shared_ptr<const Config> config,
                    const std::map<std::string, AdminRestore>& restore) {
  config_ = std::move(config);
  stopped_ = false;
  for (const std::string& name : config_->ReferencedBackends()) {
    const Backend& b = config_->backends.at(name);
    const HealthCheck* hc =
        b.healthcheck.empty() ? nullptr : &config_->healthchecks.at(b.healthcheck);
    auto s = MakeSession(b, hc);
    Session& ref = *s;
    sessions_[name] = std::move(s);
    ref.sm.Start();
    auto r = restore.find(name);
    if (r != restore.end()) {
      int64_t now = dispatcher_.WallNowNs();
      constexpr const char* kDetail = "restored from state file";
      if (r->second == AdminRestore::kDisabled) {
        Transition t = *ref.sm.Disable(now);
        t.detail = kDetail;
        Publish(ref, t);
        continue;
      }
      if (r->second == AdminRestore::kPaused && b.enabled) {
        auto p = ref.sm.Pause(now);
        if (p.ok() && *p) {
          (*p)->detail = kDetail;
          Publish(ref, **p);
        }
        continue;
      }
      if (r->second == AdminRestore::kEnabled) {
        Activate(ref, hc ? Spread(hc->interval) : Duration::zero());
        continue;
      }
    }
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
  int64_t now = dispatcher_.WallNowNs();
  std::set<std::string> wanted;
  for (const std::string& n : config_->ReferencedBackends()) wanted.insert(n);

  // Removed backends: a final `removed` transition.
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    if (wanted.count(it->first)) {
      ++it;
      continue;
    }
    Session& s = *it->second;
    StopProbing(s);
    Publish(s, s.sm.Remove(now));
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
      StopProbing(*s);
      BackendState prev = s->sm.state();
      s->backend = &b;
      s->hc = hc;
      s->last_result.reset();
      Publish(*s, s->sm.Restart(hc ? hc->rise : 1, hc ? hc->fall : 1, now,
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
        StopProbing(*s);
        if (auto d = s->sm.Disable(now)) Publish(*s, *d);
      } else if (auto e = s->sm.Enable(now)) {
        Publish(*s, *e);
        Activate(*s, Duration::zero());
      }
    }
  }
}

void Checker::Stop() {
  stopped_ = true;
  for (auto& [_, s] : sessions_) StopProbing(*s);
}

absl::StatusOr<BackendSnapshot> Checker::Pause(const std::string& backend) {
  Session* s = Find(backend);
  if (!s) return absl::NotFoundError("backend \"" + backend + "\" not found");
  auto t = s->sm.Pause(dispatcher_.WallNowNs());
  if (!t.ok()) return t.status();
  if (*t) {
    StopProbing(*s);
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
    StopProbing(*s);
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
  for (const auto& c : s.results) snap.stats.results[{c.type, c.code}] += c.n;
  std::copy(std::begin(s.duration_buckets), std::end(s.duration_buckets),
            std::begin(snap.stats.duration_bucket_counts));
  snap.stats.duration_sum_seconds = s.duration_sum;
  snap.stats.duration_count = s.duration_count;
  for (const auto& c : s.transition_counts) snap.transition_counts[{c.from, c.to}] += c.n;
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

}  // namespace maglev
