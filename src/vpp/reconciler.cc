// SPDX-License-Identifier: Apache-2.0
#include "vpp/reconciler.h"

#include <algorithm>
#include <chrono>

#include "common/log.h"

namespace maglev {

namespace {

constexpr size_t kLatencyRing = 65536;

// What VPP's dumps cannot tell (src_ip_sticky, the table length beyond 16
// bits) survives a re-dump when the VIP is still the one we knew.
void CarryOver(const ActualVip& old, ActualVip* fresh) {
  if (old.info.encap != fresh->info.encap ||
      old.info.flow_table_length_low16 != fresh->info.flow_table_length_low16)
    return;
  fresh->src_ip_sticky = old.src_ip_sticky;
  fresh->table_length = old.table_length;
}

int KindIndex(SyncJob::Kind k) { return static_cast<int>(k); }
const char* KindName(SyncJob::Kind k) {
  switch (k) {
    case SyncJob::Kind::kEvent:
      return "event";
    case SyncJob::Kind::kFrontend:
      return "frontend";
    case SyncJob::Kind::kFull:
      return "full";
  }
  return "?";
}

// The calls for one desired VIP against what VPP holds (nullptr: absent),
// with the flushes its job's transitions asked for.
std::vector<LbCall> DiffJobVip(const SyncJob& job, const DesiredVip& vip, const ActualVip* have,
                               LbApiLevel level) {
  static const std::set<IpAddress> kNoFlush;
  auto fl = job.flush_now.find(vip.frontend);
  return DiffVip(vip, have, level, fl == job.flush_now.end() ? kNoFlush : fl->second);
}

}  // namespace

Reconciler::Reconciler(Dispatcher& loop, LbConnector& connector, ReconcilerOptions options)
    : loop_(loop), connector_(connector), options_(std::move(options)) {
  ping_timer_ = loop_.CreateTimer([this] { Ping(); });
  retry_timer_ = loop_.CreateTimer([this] {
    if (!connected_ && !stopped_) Connect();
  });
}

Reconciler::~Reconciler() = default;

void Reconciler::Start() {
  stopped_ = false;
  loop_.Post([this] { Connect(); });
}

void Reconciler::Stop() {
  stopped_ = true;
  ping_timer_->Disable();
  retry_timer_->Disable();
  session_.reset();
  connected_ = false;
  level_ = LbApiLevel::kNone;
}

void Reconciler::SetOnConnected(std::function<void()> cb) {
  loop_.Post([this, cb = std::move(cb)]() mutable { on_connected_ = std::move(cb); });
}

void Reconciler::Connect() {
  if (stopped_ || connected_) return;
  auto session = connector_.Connect();
  if (!session.ok()) {
    // Said at warn when VPP becomes unreachable and whenever the reason
    // changes (no socket, refused, permission denied...); the retries in
    // between are quiet.
    std::string why(session.status().message());
    if (why != last_connect_error_) {
      LogWarn("vpp-unreachable", {{"socket", connector_.target()}, {"error", why}});
      last_connect_error_ = why;
    } else {
      LogDebug("vpp-connect-failed", {{"socket", connector_.target()}, {"error", why}});
    }
    ScheduleRetry();
    return;
  }
  session_ = std::move(*session);
  last_connect_error_.clear();
  retry_delay_ = Duration::zero();
  VppStatusInfo info;
  info.connected = true;
  info.level = session_->api_level();
  info.connect_time_ns = loop_.WallNowNs();
  if (auto v = session_->ShowVersion(); v.ok()) info.version = *v;
  status_ = info;
  cache_.clear();
  dirty_.clear();
  conf_verified_.reset();
  {
    MutexLock lock(mu_);
    ++stats_.connects;
  }
  level_ = info.level;
  connected_ = true;
  LogInfo("vpp-connect", {{"socket", connector_.target()},
                          {"version", info.version.version},
                          {"lb_api", std::string(LbApiLevelName(info.level))}});
  if (info.level != LbApiLevel::kWeights) {
    LogWarn("vpp-lb-membership-fallback",
            {{"lb_api", std::string(LbApiLevelName(info.level))},
             {"detail", "lb plugin without weights: weight 0 removes the AS, weight > 0 adds it"}});
  }
  // VPP closing the socket (a restart) is noticed at once, not at the next
  // call or ping.
  session_->WatchIdle(loop_, [this](absl::Status why) { Disconnect(why); });
  SchedulePing();
  if (on_connected_) on_connected_();
}

void Reconciler::Disconnect(const absl::Status& why) {
  if (!connected_) return;
  session_.reset();
  connected_ = false;
  level_ = LbApiLevel::kNone;
  ping_timer_->Disable();
  status_.connected = false;
  cache_.clear();
  {
    MutexLock lock(mu_);
    pending_events_.clear();
    ++stats_.disconnects;
  }
  LogWarn("vpp-disconnect",
          {{"socket", connector_.target()}, {"error", std::string(why.message())}});
  ScheduleRetry();
}

void Reconciler::SchedulePing() { ping_timer_->Enable(options_.ping_interval); }

void Reconciler::Ping() {
  if (!connected_) return;
  auto pid = session_->ControlPing();
  if (!pid.ok()) {
    Disconnect(pid.status());
    return;
  }
  SchedulePing();
}

void Reconciler::ScheduleRetry() {
  if (stopped_) return;
  retry_delay_ =
      retry_delay_ == Duration::zero()
          ? options_.retry_interval
          : std::min(retry_delay_ * 2, std::max(options_.retry_max, options_.retry_interval));
  retry_timer_->Enable(retry_delay_);
}

void Reconciler::Submit(SyncJob job) {
  // Coalesced here, under the lock, and the drain posted at once: whatever
  // is posted to the loop after this call (an inspection, a status query)
  // runs after this job has been applied.
  MutexLock lock(mu_);
  if (job.kind == SyncJob::Kind::kEvent) {
    for (DesiredVip& vip : job.vips) {
      SyncJob& slot = pending_events_[vip.frontend];
      if (slot.vips.empty() || slot.origin == MonoTime{} || job.origin < slot.origin)
        slot.origin = job.origin;
      slot.kind = SyncJob::Kind::kEvent;
      if (job.conf) slot.conf = job.conf;
      auto flush = job.flush_now.find(vip.frontend);
      if (flush != job.flush_now.end())
        slot.flush_now[vip.frontend].insert(flush->second.begin(), flush->second.end());
      slot.vips = {std::move(vip)};
    }
    // Event jobs have no per-job completion; acknowledge at once.
    if (job.done) loop_.Post([done = std::move(job.done)] { done(absl::OkStatus()); });
  } else {
    // A frontend or full sync carries desired state computed now, so events
    // still pending for the frontends it covers are older. Events drain
    // after such jobs: left in place they would re-apply stale weights, or
    // re-create the VIP of a frontend that a reload has just removed. They
    // are folded into the job instead, keeping their flush requests.
    std::set<std::string> covered;
    for (const DesiredVip& vip : job.vips) covered.insert(vip.frontend);
    for (auto it = pending_events_.begin(); it != pending_events_.end();) {
      if (job.kind != SyncJob::Kind::kFull && !covered.count(it->first)) {
        ++it;
        continue;
      }
      for (auto& [fe, addrs] : it->second.flush_now)
        if (covered.count(fe)) job.flush_now[fe].insert(addrs.begin(), addrs.end());
      it = pending_events_.erase(it);
    }
    pending_other_.push_back(std::move(job));
  }
  if (!drain_scheduled_) {
    drain_scheduled_ = true;
    loop_.Post([this] { Drain(); });
  }
}

void Reconciler::Drain() {
  std::map<std::string, SyncJob> events;
  std::deque<SyncJob> others;
  {
    MutexLock lock(mu_);
    events.swap(pending_events_);
    others.swap(pending_other_);
    drain_scheduled_ = false;
  }
  // Full and operator syncs first (in order), then the coalesced events.
  for (SyncJob& job : others) {
    MonoTime started = loop_.Now();
    if (!connected_) {
      // An internal job (no one waiting) is simply dropped: every
      // (re)connect is followed by a sync of everything released.
      if (job.done) job.done(absl::UnavailableError("not connected to VPP"));
      continue;
    }
    absl::Status st = job.kind == SyncJob::Kind::kFull ? RunFull(job) : RunFrontend(job);
    Finish(job, st, started);
  }
  if (!events.empty() && connected_) {
    MonoTime started = loop_.Now();
    std::vector<SyncJob> jobs;
    jobs.reserve(events.size());
    for (auto& [_, j] : events) jobs.push_back(std::move(j));
    absl::Status st = RunEvent(jobs);
    SyncJob summary;
    summary.kind = SyncJob::Kind::kEvent;
    Finish(summary, st, started);
  }
}

void Reconciler::Finish(SyncJob& job, const absl::Status& st, MonoTime started) {
  double secs = std::chrono::duration<double>(loop_.Now() - started).count();
  {
    MutexLock lock(mu_);
    ++stats_.sync_runs[KindIndex(job.kind)];
    stats_.sync_seconds_sum[KindIndex(job.kind)] += secs;
    if (!st.ok()) ++stats_.sync_failures;
  }
  if (!st.ok()) {
    LogWarn("lb-sync-failed", {{"kind", KindName(job.kind)}, {"error", std::string(st.message())}});
  }
  if (job.done) job.done(st);
}

absl::Status Reconciler::Apply(std::vector<LbCall> calls, const std::string& kind,
                               MonoTime origin) {
  if (calls.empty()) return absl::OkStatus();
  if (origin != MonoTime{}) {
    double lat = std::chrono::duration<double>(loop_.Now() - origin).count();
    MutexLock lock(mu_);
    if (latencies_.size() < kLatencyRing) {
      latencies_.push_back(lat);
    } else {
      latencies_[latency_next_++ % kLatencyRing] = lat;
    }
  }
  std::vector<absl::Status> results = session_->Execute(calls);
  absl::Status first_error;
  size_t failed = 0;
  for (size_t i = 0; i < calls.size(); ++i) {
    const absl::Status& st = i < results.size() ? results[i] : absl::UnknownError("no result");
    if (st.ok()) {
      ApplyToCache(calls[i], &cache_);
      if (Logger::Get().Enabled(LogLevel::kDebug))
        LogDebug("lb-call", {{"sync", kind}, {"call", DescribeLbCall(calls[i])}});
      continue;
    }
    ++failed;
    if (first_error.ok()) first_error = st;
    LogWarn(
        "lb-call-failed",
        {{"sync", kind}, {"call", DescribeLbCall(calls[i])}, {"error", std::string(st.message())}});
    // Whatever we believed about that VIP is now suspect.
    std::visit(
        [this](const auto& c) {
          using T = std::decay_t<decltype(c)>;
          if constexpr (std::is_same_v<T, LbAddVip>) {
            dirty_.insert(c.spec.key.Normalized());
          } else if constexpr (std::is_same_v<T, LbDelVip> || std::is_same_v<T, LbFlushVip>) {
            dirty_.insert(c.key.Normalized());
          } else if constexpr (std::is_same_v<T, LbSetConf>) {
            conf_verified_.reset();  // check again before the next programming
          } else {
            dirty_.insert(c.vip.Normalized());
          }
        },
        calls[i]);
  }
  {
    MutexLock lock(mu_);
    stats_.mutating_calls += calls.size();
  }
  LogInfo("lb-sync", {{"sync", kind},
                      {"calls", static_cast<int64_t>(calls.size())},
                      {"failed", static_cast<int64_t>(failed)}});
  return first_error;
}

absl::StatusOr<std::optional<ActualVip>> Reconciler::DumpOneVip(const VipKey& key) {
  auto vips = session_->DumpVips();
  if (!vips.ok()) return vips.status();
  std::vector<VipInfo> mine;
  for (const VipInfo& v : *vips)
    if (v.key.Normalized() == key) mine.push_back(v);
  std::vector<AsInfo> ases;
  if (!mine.empty()) {
    auto a = session_->DumpAses(key);
    if (!a.ok()) return a.status();
    ases = std::move(*a);
  }
  auto grouped = GroupDumps(mine, ases);
  auto it = grouped.find(key);
  if (it == grouped.end()) return std::optional<ActualVip>();
  return std::optional<ActualVip>(std::move(it->second));
}

absl::Status Reconciler::RefreshVip(const VipKey& key) {
  auto have = DumpOneVip(key);
  if (!have.ok()) return have.status();
  auto old = cache_.find(key);
  if (*have && old != cache_.end()) CarryOver(old->second, &**have);
  cache_.erase(key);
  dirty_.erase(key);
  if (*have) cache_[key] = std::move(**have);
  return absl::OkStatus();
}

absl::Status Reconciler::EnsureConf(const std::optional<LbConf>& want, bool force,
                                    std::vector<LbCall>* calls) {
  if (!want || (!force && conf_verified_ == want)) return absl::OkStatus();
  bool differs = true;
  if (level_.load() != LbApiLevel::kLegacy) {
    auto have = session_->ConfGet();
    if (!have.ok()) return have.status();
    differs = !(*have == *want);
  } else if (conf_verified_ == want) {
    // No lb_conf_get to compare with: written once per connection (and
    // again when it changes).
    differs = false;
  }
  if (differs) calls->insert(calls->begin(), LbSetConf{*want});
  conf_verified_ = want;
  return absl::OkStatus();
}

absl::Status Reconciler::RunEvent(std::vector<SyncJob>& jobs) {
  // Re-dump VIPs we are unsure about, then diff against the cache.
  for (SyncJob& job : jobs) {
    for (const DesiredVip& vip : job.vips) {
      if (!dirty_.count(vip.spec.key) && cache_.count(vip.spec.key)) continue;
      if (absl::Status st = RefreshVip(vip.spec.key); !st.ok()) {
        Disconnect(st);
        return st;
      }
    }
  }
  // Deterministic order: by VIP key.
  std::sort(jobs.begin(), jobs.end(), [](const SyncJob& a, const SyncJob& b) {
    return a.vips[0].spec.key < b.vips[0].spec.key;
  });
  std::vector<LbCall> calls;
  MonoTime origin{};
  const std::optional<LbConf>* conf = nullptr;  // the newest of the batch
  for (SyncJob& job : jobs) {
    const DesiredVip& vip = job.vips[0];
    auto it = cache_.find(vip.spec.key);
    auto diff = DiffJobVip(job, vip, it == cache_.end() ? nullptr : &it->second, level_.load());
    calls.insert(calls.end(), diff.begin(), diff.end());
    if (origin == MonoTime{} || (job.origin != MonoTime{} && job.origin < origin))
      origin = job.origin;
    if (job.conf) conf = &job.conf;
  }
  if (!calls.empty() && conf) {
    if (absl::Status st = EnsureConf(*conf, /*force=*/false, &calls); !st.ok()) {
      Disconnect(st);
      return st;
    }
  }
  absl::Status st = Apply(std::move(calls), "event", origin);
  if (!st.ok() && SessionLost()) Disconnect(st);
  return st;
}

// Whether a failed exchange also lost the connection (the session reports
// no API level once its socket is closed).
bool Reconciler::SessionLost() const {
  return !session_ || session_->api_level() == LbApiLevel::kNone;
}

absl::Status Reconciler::RunFrontend(const SyncJob& job) {
  std::vector<LbCall> calls;
  for (const DesiredVip& vip : job.vips) {
    if (absl::Status st = RefreshVip(vip.spec.key); !st.ok()) {
      Disconnect(st);
      return st;
    }
    auto it = cache_.find(vip.spec.key);
    auto diff = DiffJobVip(job, vip, it == cache_.end() ? nullptr : &it->second, level_.load());
    calls.insert(calls.end(), diff.begin(), diff.end());
  }
  if (!calls.empty()) {
    if (absl::Status st = EnsureConf(job.conf, /*force=*/false, &calls); !st.ok()) {
      Disconnect(st);
      return st;
    }
  }
  absl::Status st = Apply(std::move(calls), "frontend", job.origin);
  if (!st.ok() && SessionLost()) Disconnect(st);
  return st;
}

absl::Status Reconciler::RunFull(const SyncJob& job) {
  std::vector<LbCall> calls;
  LbApiLevel level = level_.load();
  if (absl::Status st = EnsureConf(job.conf, /*force=*/true, &calls); !st.ok()) {
    Disconnect(st);
    return st;
  }
  auto vips = session_->DumpVips();
  if (!vips.ok()) {
    Disconnect(vips.status());
    return vips.status();
  }
  auto ases = session_->DumpAllAses();
  if (!ases.ok()) {
    Disconnect(ases.status());
    return ases.status();
  }
  std::map<VipKey, ActualVip> actual = GroupDumps(*vips, *ases);
  for (auto& [key, a] : actual) {
    auto old = cache_.find(key);
    if (old != cache_.end()) CarryOver(old->second, &a);
  }
  cache_ = actual;
  dirty_.clear();
  std::set<VipKey> wanted;
  for (const DesiredVip& v : job.vips) wanted.insert(v.spec.key);
  // Stale VIPs first, so a re-created VIP on the same prefix cannot clash.
  for (const auto& [key, a] : actual) {
    if (wanted.count(key)) continue;
    LogInfo("lb-stale-vip", {{"vip", key.ToString()}});
    auto rm = RemoveVipCalls(a);
    calls.insert(calls.end(), rm.begin(), rm.end());
  }
  std::vector<const DesiredVip*> ordered;
  for (const DesiredVip& v : job.vips) ordered.push_back(&v);
  std::sort(ordered.begin(), ordered.end(),
            [](const DesiredVip* a, const DesiredVip* b) { return a->spec.key < b->spec.key; });
  for (const DesiredVip* v : ordered) {
    auto it = actual.find(v->spec.key);
    auto diff = DiffJobVip(job, *v, it == actual.end() ? nullptr : &it->second, level);
    calls.insert(calls.end(), diff.begin(), diff.end());
  }
  absl::Status st = Apply(std::move(calls), "full", job.origin);
  if (!st.ok() && SessionLost()) Disconnect(st);
  return st;
}

void Reconciler::GetStatus(std::function<void(VppStatusInfo)> done) {
  loop_.Post([this, done = std::move(done)] {
    VppStatusInfo info = status_;
    if (connected_) {
      if (auto pid = session_->ControlPing(); pid.ok()) info.version.vpe_pid = *pid;
    }
    info.connected = connected_;
    done(info);
  });
}

void Reconciler::GetLbState(std::function<void(absl::StatusOr<LbStateSnapshot>)> done) {
  loop_.Post([this, done = std::move(done)] {
    if (!connected_) {
      done(absl::UnavailableError("not connected to VPP"));
      return;
    }
    LbStateSnapshot snap;
    if (level_.load() != LbApiLevel::kLegacy) {
      auto conf = session_->ConfGet();
      if (conf.ok()) snap.conf = *conf;
    }
    auto vips = session_->DumpVips();
    if (!vips.ok()) {
      done(vips.status());
      return;
    }
    auto ases = session_->DumpAllAses();
    if (!ases.ok()) {
      done(ases.status());
      return;
    }
    snap.vips = std::move(*vips);
    std::set<VipKey> live;
    for (const VipInfo& v : snap.vips) live.insert(v.key.Normalized());
    for (AsInfo& a : *ases)
      if (live.count(a.vip.Normalized())) snap.ases.push_back(std::move(a));
    done(std::move(snap));
  });
}

void Reconciler::InspectVip(const VipKey& key,
                            std::function<void(absl::StatusOr<VipInspection>)> done) {
  loop_.Post([this, key = key.Normalized(), done = std::move(done)] {
    if (!connected_) {
      done(absl::UnavailableError("not connected to VPP"));
      return;
    }
    auto have = DumpOneVip(key);
    if (!have.ok()) {
      done(have.status());
      return;
    }
    VipInspection out;
    out.level = level_.load();
    out.vip = std::move(*have);
    if (out.vip) {
      // What only this process knows about the VIP (src_ip_sticky, full
      // table length) comes from the cache, as it does for a sync.
      auto cached = cache_.find(key);
      if (cached != cache_.end()) CarryOver(cached->second, &*out.vip);
    }
    done(std::move(out));
  });
}

ReconcilerStats Reconciler::stats() const {
  MutexLock lock(mu_);
  return stats_;
}

std::vector<double> Reconciler::RecentLatencies() const {
  MutexLock lock(mu_);
  return latencies_;
}

}  // namespace maglev
