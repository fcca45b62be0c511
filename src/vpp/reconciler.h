// The reconciler: the only code that calls VPP. It owns the LbClient and a
// dedicated thread (blocking VPP I/O never runs on the core loop), keeps the
// connection alive (control_ping every 10 s; on failure disconnect and retry
// every 5 s), and applies SyncJobs: desired VIPs computed on the core loop
// are diffed against what VPP has and turned into the minimal set of lb
// calls, sent pipelined. Event-driven syncs diff against a cache of VPP's
// state (kept exact by applying our own successful calls, refreshed by every
// dump); full syncs and operator syncs dump first. All public methods are
// thread-safe; callbacks run on the reconciler's thread.
#pragma once

#include <asio/io_context.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <asio/steady_timer.hpp>
#include <atomic>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "common/dispatcher.h"
#include "vpp/desired.h"
#include "vpp/lb_client.h"

namespace maglev {

struct ReconcilerOptions {
  std::string socket_path = "/run/vpp/api.sock";
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
  explicit Reconciler(ReconcilerOptions options);
  ~Reconciler();
  Reconciler(const Reconciler&) = delete;
  Reconciler& operator=(const Reconciler&) = delete;

  // Starts the thread; the first connect attempt happens at once.
  void Start();
  // Stops the thread (leaving the dataplane as it is) and closes the socket.
  void Stop();

  // Called on the reconciler thread after every successful (re)connect.
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
  // on the reconciler thread, after any job submitted before this call.
  struct VipInspection {
    std::optional<ActualVip> vip;
    LbApiLevel level = LbApiLevel::kNone;
  };
  void InspectVip(const VipKey& key, std::function<void(absl::StatusOr<VipInspection>)> done);

  bool connected() const { return connected_.load(); }
  LbApiLevel level() const { return level_.load(); }
  ReconcilerStats stats() const;
  const VppApiCounters& api_counters() const { return client_.counters(); }
  // Latencies (seconds) from SyncJob::origin to the moment the calls were
  // sent, for the most recent event-driven calls (bounded ring).
  std::vector<double> RecentLatencies() const;

 private:
  void Connect();
  void Disconnect(const absl::Status& why);
  void SchedulePing();
  void ScheduleRetry();
  // Watches the socket between calls, so that VPP closing it (a restart) is
  // noticed at once, not at the next call or ping.
  void WatchSocket();
  // Prepends the LbSetConf that `want` needs to `calls` (after reading
  // VPP's conf unless this connection has already verified `want`; always
  // with `force`). Errors are those of reading the conf.
  absl::Status EnsureConf(const std::optional<LbConf>& want, bool force,
                          std::vector<LbCall>* calls);
  void Drain();
  absl::Status RunEvent(std::vector<SyncJob>& jobs);
  absl::Status RunFrontend(const SyncJob& job);
  absl::Status RunFull(const SyncJob& job);
  absl::Status Apply(std::vector<LbCall> calls, const std::string& kind, MonoTime origin);
  absl::Status RefreshVip(const VipKey& key);
  absl::StatusOr<std::optional<ActualVip>> DumpOneVip(const VipKey& key);
  void Finish(SyncJob& job, const absl::Status& st, MonoTime started);

  ReconcilerOptions options_;
  LbClient client_;
  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  std::thread thread_;
  asio::steady_timer ping_timer_;
  asio::steady_timer retry_timer_;
  Duration retry_delay_{};                               // the next reconnect's wait (backoff)
  std::string last_connect_error_;                       // logged at warn when it changes
  std::optional<asio::posix::stream_descriptor> watch_;  // a dup of the socket
  std::function<void()> on_connected_;

  std::atomic<bool> connected_{false};
  std::atomic<LbApiLevel> level_{LbApiLevel::kNone};

  mutable std::mutex mu_;                          // guards everything below
  std::map<std::string, SyncJob> pending_events_;  // by frontend
  std::deque<SyncJob> pending_other_;
  bool drain_scheduled_ = false;
  std::map<VipKey, ActualVip> cache_;
  std::set<VipKey> dirty_;  // cache entries to re-dump before diffing
  VppStatusInfo status_;
  ReconcilerStats stats_;
  // Reconciler thread only: the conf this connection has checked (or, with
  // the legacy API that cannot read it, written).
  std::optional<LbConf> conf_verified_;
  std::vector<double> latencies_;
  size_t latency_next_ = 0;
};

}  // namespace maglev
