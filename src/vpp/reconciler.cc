#include "vpp/reconciler.h"

#include <asio/post.hpp>
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

Reconciler::Reconciler(ReconcilerOptions options)
    : options_(std::move(options)), ping_timer_(io_), retry_timer_(io_) {}

Reconciler::~Reconciler() { Stop(); }

void Reconciler::Start() {
  if (thread_.joinable()) return;
  work_.emplace(io_.get_executor());
  thread_ = std::thread([this] { io_.run(); });
  asio::post(io_, [this] { Connect(); });
}

void Reconciler::Stop() {
  if (!thread_.joinable()) return;
  asio::post(io_, [this] {
    ping_timer_.cancel();
    retry_timer_.cancel();
    watch_.reset();
    client_.Close();
    connected_ = false;
    work_.reset();
    io_.stop();
  });
  thread_.join();
}

void Reconciler::SetOnConnected(std::function<void()> cb) {
  asio::post(io_, [this, cb = std::move(cb)]() mutable { on_connected_ = std::move(cb); });
}

void Reconciler::Connect() {
  absl::Status st =
      client_.Connect(options_.socket_path,
                      std::chrono::duration_cast<std::chrono::milliseconds>(options_.call_timeout));
  if (!st.ok()) {
    // Said at warn when VPP becomes unreachable and whenever the reason
    // changes (no socket, refused, permission denied...); the retries in
    // between are quiet.
    std::string why(st.message());
    if (why != last_connect_error_) {
      LogWarn("vpp-unreachable", {{"socket", options_.socket_path}, {"error", why}});
      last_connect_error_ = why;
    } else {
      LogDebug("vpp-connect-failed", {{"socket", options_.socket_path}, {"error", why}});
    }
    ScheduleRetry();
    return;
  }
  last_connect_error_.clear();
  retry_delay_ = Duration::zero();
  VppStatusInfo info;
  info.connected = true;
  info.level = client_.api_level();
  info.connect_time_ns = UnixNowNs();
  if (auto v = client_.ShowVersion(); v.ok()) info.version = *v;
  {
    std::lock_guard<std::mutex> lock(mu_);
    status_ = info;
    cache_.clear();
    dirty_.clear();
    ++stats_.connects;
  }
  conf_verified_.reset();
  level_ = info.level;
  connected_ = true;
  LogInfo("vpp-connect", {{"socket", options_.socket_path},
                          {"version", info.version.version},
                          {"lb_api", std::string(LbApiLevelName(info.level))}});
  if (info.level != LbApiLevel::kWeights) {
    LogWarn("vpp-lb-membership-fallback",
            {{"lb_api", std::string(LbApiLevelName(info.level))},
             {"detail", "lb plugin without weights: weight 0 removes the AS, weight > 0 adds it"}});
  }
  SchedulePing();
  WatchSocket();
  if (on_connected_) on_connected_();
}

void Reconciler::Disconnect(const absl::Status& why) {
  if (!connected_) return;
  watch_.reset();
  client_.Close();
  connected_ = false;
  level_ = LbApiLevel::kNone;
  ping_timer_.cancel();
  {
    std::lock_guard<std::mutex> lock(mu_);
    status_.connected = false;
    ++stats_.disconnects;
    cache_.clear();
    pending_events_.clear();
  }
  LogWarn("vpp-disconnect",
          {{"socket", options_.socket_path}, {"error", std::string(why.message())}});
  ScheduleRetry();
}

void Reconciler::WatchSocket() {
  watch_.reset();
  int fd = ::dup(client_.fd());
  if (fd < 0) return;  // the ping still notices a lost VPP
  watch_.emplace(io_, fd);
  watch_->async_wait(asio::posix::stream_descriptor::wait_read, [this](const std::error_code& ec) {
    if (ec || !connected_) return;
    absl::Status st = client_.ServiceIdle();
    if (!st.ok()) {
      Disconnect(st);
      return;
    }
    WatchSocket();
  });
}

void Reconciler::SchedulePing() {
  ping_timer_.expires_after(options_.ping_interval);
  ping_timer_.async_wait([this](const std::error_code& ec) {
    if (ec || !connected_) return;
    auto pid = client_.ControlPing();
    if (!pid.ok()) {
      Disconnect(pid.status());
      return;
    }
    SchedulePing();
  });
}

void Reconciler::ScheduleRetry() {
  retry_delay_ =
      retry_delay_ == Duration::zero()
          ? options_.retry_interval
          : std::min(retry_delay_ * 2, std::max(options_.retry_max, options_.retry_interval));
  retry_timer_.expires_after(retry_delay_);
  retry_timer_.async_wait([this](const std::error_code& ec) {
    if (ec || connected_) return;
    Connect();
  });
}

void Reconciler::Submit(SyncJob job) {
  std::lock_guard<std::mutex> lock(mu_);
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
    if (job.done) {
      // Event jobs have no per-job completion; acknowledge at once.
      auto done = std::move(job.done);
      asio::post(io_, [done] { done(absl::OkStatus()); });
    }
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
    asio::post(io_, [this] { Drain(); });
  }
}

void Reconciler::Drain() {
  std::map<std::string, SyncJob> events;
  std::deque<SyncJob> others;
  {
    std::lock_guard<std::mutex> lock(mu_);
    events.swap(pending_events_);
    others.swap(pending_other_);
    drain_scheduled_ = false;
  }
  // Full and operator syncs first (in order), then the coalesced events.
  for (SyncJob& job : others) {
    MonoTime started = std::chrono::steady_clock::now();
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
    MonoTime started = std::chrono::steady_clock::now();
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
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  {
    std::lock_guard<std::mutex> lock(mu_);
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
    double lat = std::chrono::duration<double>(std::chrono::steady_clock::now() - origin).count();
    std::lock_guard<std::mutex> lock(mu_);
    if (latencies_.size() < kLatencyRing) {
      latencies_.push_back(lat);
    } else {
      latencies_[latency_next_++ % kLatencyRing] = lat;
    }
  }
  std::vector<absl::Status> results = client_.Execute(calls);
  absl::Status first_error;
  size_t failed = 0;
  std::lock_guard<std::mutex> lock(mu_);
  for (size_t i = 0; i < calls.size(); ++i) {
    const absl::Status& st = i < results.size() ? results[i] : absl::UnknownError("no result");
    ++stats_.mutating_calls;
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
  LogInfo("lb-sync", {{"sync", kind},
                      {"calls", static_cast<int64_t>(calls.size())},
                      {"failed", static_cast<int64_t>(failed)}});
  return first_error;
}

absl::StatusOr<std::optional<ActualVip>> Reconciler::DumpOneVip(const VipKey& key) {
  auto vips = client_.DumpVips();
  if (!vips.ok()) return vips.status();
  std::vector<VipInfo> mine;
  for (const VipInfo& v : *vips)
    if (v.key.Normalized() == key) mine.push_back(v);
  std::vector<AsInfo> ases;
  if (!mine.empty()) {
    auto a = client_.DumpAses(key);
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
  std::lock_guard<std::mutex> lock(mu_);
  auto old = cache_.find(key);
  if (*have && old != cache_.end()) CarryOver(old->second, &**have);
  cache_.erase(key);
  dirty_.erase(key);
  if (*have) cache_[key] = std::move(**have);
  return absl::OkStatus();
}

absl::Status Reconciler::RunEvent(std::vector<SyncJob>& jobs) {
  // Re-dump VIPs we are unsure about, then diff against the cache.
  for (SyncJob& job : jobs) {
    for (const DesiredVip& vip : job.vips) {
      bool refresh;
      {
        std::lock_guard<std::mutex> lock(mu_);
        refresh = dirty_.count(vip.spec.key) > 0 || !cache_.count(vip.spec.key);
      }
      if (refresh) {
        absl::Status st = RefreshVip(vip.spec.key);
        if (!st.ok()) {
          Disconnect(st);
          return st;
        }
      }
    }
  }
  std::vector<LbCall> calls;
  MonoTime origin{};
  {
    std::lock_guard<std::mutex> lock(mu_);
    // Deterministic order: by VIP key.
    std::sort(jobs.begin(), jobs.end(), [](const SyncJob& a, const SyncJob& b) {
      return a.vips[0].spec.key < b.vips[0].spec.key;
    });
    for (SyncJob& job : jobs) {
      const DesiredVip& vip = job.vips[0];
      auto it = cache_.find(vip.spec.key);
      auto diff = DiffJobVip(job, vip, it == cache_.end() ? nullptr : &it->second, level_.load());
      calls.insert(calls.end(), diff.begin(), diff.end());
      if (origin == MonoTime{} || (job.origin != MonoTime{} && job.origin < origin))
        origin = job.origin;
    }
  }
  if (!calls.empty()) {
    // The newest conf of the batch (every job carries the current one).
    const std::optional<LbConf>* conf = nullptr;
    for (const SyncJob& job : jobs)
      if (job.conf) conf = &job.conf;
    if (conf) {
      if (absl::Status st = EnsureConf(*conf, /*force=*/false, &calls); !st.ok()) {
        Disconnect(st);
        return st;
      }
    }
  }
  absl::Status st = Apply(std::move(calls), "event", origin);
  if (!st.ok() && !client_.connected()) Disconnect(st);
  return st;
}

absl::Status Reconciler::RunFrontend(const SyncJob& job) {
  std::vector<LbCall> calls;
  for (const DesiredVip& vip : job.vips) {
    absl::Status st = RefreshVip(vip.spec.key);
    if (!st.ok()) {
      Disconnect(st);
      return st;
    }
    std::lock_guard<std::mutex> lock(mu_);
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
  if (!st.ok() && !client_.connected()) Disconnect(st);
  return st;
}

absl::Status Reconciler::EnsureConf(const std::optional<LbConf>& want, bool force,
                                    std::vector<LbCall>* calls) {
  if (!want || (!force && conf_verified_ == want)) return absl::OkStatus();
  bool differs = true;
  if (level_.load() != LbApiLevel::kLegacy) {
    auto have = client_.ConfGet();
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

absl::Status Reconciler::RunFull(const SyncJob& job) {
  std::vector<LbCall> calls;
  LbApiLevel level = level_.load();
  if (absl::Status st = EnsureConf(job.conf, /*force=*/true, &calls); !st.ok()) {
    Disconnect(st);
    return st;
  }
  auto vips = client_.DumpVips();
  if (!vips.ok()) {
    Disconnect(vips.status());
    return vips.status();
  }
  auto ases = client_.DumpAllAses();
  if (!ases.ok()) {
    Disconnect(ases.status());
    return ases.status();
  }
  std::map<VipKey, ActualVip> actual = GroupDumps(*vips, *ases);
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [key, a] : actual) {
      auto old = cache_.find(key);
      if (old != cache_.end()) CarryOver(old->second, &a);
    }
    cache_ = actual;
    dirty_.clear();
  }
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
  if (!st.ok() && !client_.connected()) Disconnect(st);
  return st;
}

void Reconciler::GetStatus(std::function<void(VppStatusInfo)> done) {
  asio::post(io_, [this, done = std::move(done)] {
    VppStatusInfo info;
    {
      std::lock_guard<std::mutex> lock(mu_);
      info = status_;
    }
    if (connected_) {
      if (auto pid = client_.ControlPing(); pid.ok()) info.version.vpe_pid = *pid;
    }
    info.connected = connected_;
    done(info);
  });
}

void Reconciler::GetLbState(std::function<void(absl::StatusOr<LbStateSnapshot>)> done) {
  asio::post(io_, [this, done = std::move(done)] {
    if (!connected_) {
      done(absl::UnavailableError("not connected to VPP"));
      return;
    }
    LbStateSnapshot snap;
    if (level_.load() != LbApiLevel::kLegacy) {
      auto conf = client_.ConfGet();
      if (conf.ok()) snap.conf = *conf;
    }
    auto vips = client_.DumpVips();
    if (!vips.ok()) {
      done(vips.status());
      return;
    }
    auto ases = client_.DumpAllAses();
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
  asio::post(io_, [this, key = key.Normalized(), done = std::move(done)] {
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
      std::lock_guard<std::mutex> lock(mu_);
      auto cached = cache_.find(key);
      if (cached != cache_.end()) CarryOver(cached->second, &*out.vip);
    }
    done(std::move(out));
  });
}

ReconcilerStats Reconciler::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

std::vector<double> Reconciler::RecentLatencies() const {
  std::lock_guard<std::mutex> lock(mu_);
  return latencies_;
}

}  // namespace maglev
