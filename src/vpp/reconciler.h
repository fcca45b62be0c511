// The reconciler, last step of the walk from probe to VPP: the only code
// that calls VPP. It runs on a loop of its own (in maglevd a dedicated
// thread, so blocking VPP I/O never runs on the core loop; in unit tests the
// same simulated loop as everything else), reaches VPP through an
// LbConnector (vpp/lb_session.h), keeps the connection alive (the socket
// watched between calls, control_ping every 10 s, reconnect with backoff)
// and applies SyncJobs: desired VIPs computed by the lb stage are diffed
// against what VPP has and turned into the minimal set of lb calls, sent
// pipelined. Event-driven syncs diff against a cache of VPP's state (kept
// exact by applying our own successful calls, refreshed by every dump); full
// syncs and operator syncs dump first.
//
// Threading: Submit, SetOnConnected, GetStatus, GetLbState and InspectVip
// may be called from any thread and post to the loop; callbacks run on the
// loop. stats(), RecentLatencies(), connected() and level() may be read from
// any thread. Everything else is loop-only.
#pragma once

#include <atomic>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "common/dispatcher.h"
#include "common/mutex.h"
#include "vpp/desired.h"
#include "vpp/lb_session.h"

namespace maglev {

struct ReconcilerOptions {
  Duration ping_interval = std::chrono::seconds(10);
  // Reconnect attempts back off from retry_interval, doubling, up to
  // retry_max: a restarted VPP is programmed again within a second of
  // accepting connections, and an absent one costs a failed connect(2)
  // twice a second.
  Duration retry_interval = std::chrono::milliseconds(100);
  Duration retry_max = std::chrono::milliseconds(500);
  Duration call_timeout = std::chrono::seconds(5);
};

struct SyncJob {
  enum class Kind {
    kEvent,     // some frontends changed: diff against the cache
    kFrontend,  // operator sync of some frontends: dump, diff, never remove VIPs
    kFull,      // every frontend: dump, conf, diff, remove stale VIPs
  };
  Kind kind = Kind::kEvent;
  std::vector<DesiredVip> vips;
  // frontend -> addresses whose transition asked for a flush now.
  std::map<std::string, std::set<IpAddress>> flush_now;
  // The global conf. A full sync always enforces it; any other job makes
  // sure of it (once per connection, and when it changes) before it
  // programs anything, so that no VIP forwards with VPP's initial GRE
  // source addresses.
  std::optional<LbConf> conf;
  MonoTime origin{};  // when the cause happened (latency metric)
  std::function<void(absl::Status)> done;
};

struct VppStatusInfo {
  bool connected = false;
  VppVersionInfo version;
  LbApiLevel level = LbApiLevel::kNone;
  int64_t connect_time_ns = 0;
};

struct LbStateSnapshot {
  std::optional<LbConf> conf;
  std::vector<VipInfo> vips;
  std::vector<AsInfo> ases;  // active and removed, of the VIPs above
};

struct ReconcilerStats {
  uint64_t sync_runs[3] = {0, 0, 0};  // by SyncJob::Kind
  uint64_t sync_failures = 0;
  double sync_seconds_sum[3] = {0, 0, 0};
  uint64_t mutating_calls = 0;
  uint64_t connects = 0;
  uint64_t disconnects = 0;
};

class Reconciler {
 public:
  // Runs on `loop`; reaches VPP through `connector`. Both outlive it.
  Reconciler(Dispatcher& loop, LbConnector& connector, ReconcilerOptions options = {});
  ~Reconciler();
  Reconciler(const Reconciler&) = delete;
  Reconciler& operator=(const Reconciler&) = delete;

  // The first connect attempt is posted at once.
  void Start();
  // Leaves the dataplane as it is: timers off, session closed. On the loop.
  void Stop();

  // Called on the loop after every successful (re)connect.
  void SetOnConnected(std::function<void()> cb);

  // Queues a job. kEvent jobs are coalesced per frontend (the newest desired
  // state wins, flush requests accumulate); a kFrontend or kFull job replaces
  // the pending events of the frontends it covers (all, for kFull), taking
  // over their flush requests. While disconnected, jobs are
  // dropped (the controller re-syncs after every connect); a job with a
  // `done` callback gets Unavailable.
  void Submit(SyncJob job);

  void GetStatus(std::function<void(VppStatusInfo)> done);
  void GetLbState(std::function<void(absl::StatusOr<LbStateSnapshot>)> done);
  // Dumps one VIP from VPP (never from the cache: the point is to see drift
  // made behind our back) for the frontend view; the VIP is nullopt when
  // VPP has none. Read-only: changes neither VPP nor the cache. `done` runs
  // on the loop, after any job submitted before this call.
  struct VipInspection {
    std::optional<ActualVip> vip;
    LbApiLevel level = LbApiLevel::kNone;
  };
  void InspectVip(const VipKey& key, std::function<void(absl::StatusOr<VipInspection>)> done);

  bool connected() const { return connected_.load(); }
  LbApiLevel level() const { return level_.load(); }
  ReconcilerStats stats() const;
  // Calls and errors per message (null when the connector does not count).
  const VppApiCounters* api_counters() const { return connector_.counters(); }
  // Latencies (seconds) from SyncJob::origin to the moment the calls were
  // sent, for the most recent event-driven calls (bounded ring).
  std::vector<double> RecentLatencies() const;

 private:
  void Connect();
  void Disconnect(const absl::Status& why);
  void SchedulePing();
  void Ping();
  void ScheduleRetry();
  bool SessionLost() const;
  void Drain();
  absl::Status RunEvent(std::vector<SyncJob>& jobs);
  absl::Status RunFrontend(const SyncJob& job);
  absl::Status RunFull(const SyncJob& job);
  // Prepends the LbSetConf that `want` needs to `calls` (after reading
  // VPP's conf unless this connection has already verified `want`; always
  // with `force`). Errors are those of reading the conf.
  absl::Status EnsureConf(const std::optional<LbConf>& want, bool force,
                          std::vector<LbCall>* calls);
  absl::Status Apply(std::vector<LbCall> calls, const std::string& kind, MonoTime origin);
  absl::Status RefreshVip(const VipKey& key);
  absl::StatusOr<std::optional<ActualVip>> DumpOneVip(const VipKey& key);
  void Finish(SyncJob& job, const absl::Status& st, MonoTime started);

  Dispatcher& loop_;
  LbConnector& connector_;
  ReconcilerOptions options_;
  std::unique_ptr<LbSession> session_;  // while connected
  std::unique_ptr<Timer> ping_timer_;
  std::unique_ptr<Timer> retry_timer_;
  Duration retry_delay_{};          // the next reconnect's wait (backoff)
  std::string last_connect_error_;  // logged at warn when it changes
  std::function<void()> on_connected_;
  bool stopped_ = false;

  std::atomic<bool> connected_{false};
  std::atomic<LbApiLevel> level_{LbApiLevel::kNone};

  // Loop only.
  std::map<VipKey, ActualVip> cache_;
  std::set<VipKey> dirty_;  // cache entries to re-dump before diffing
  VppStatusInfo status_;
  // The conf this connection has checked (or, with the legacy API that
  // cannot read it, written).
  std::optional<LbConf> conf_verified_;

  // Guards what Submit fills and what others read.
  mutable Mutex mu_;
  std::map<std::string, SyncJob> pending_events_ ABSL_GUARDED_BY(mu_);  // by frontend
  std::deque<SyncJob> pending_other_ ABSL_GUARDED_BY(mu_);
  bool drain_scheduled_ ABSL_GUARDED_BY(mu_) = false;
  ReconcilerStats stats_ ABSL_GUARDED_BY(mu_);
  std::vector<double> latencies_ ABSL_GUARDED_BY(mu_);
  size_t latency_next_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace maglev
