// The checker, first step of the walk from probe to VPP: one probe session
// per backend (however many frontends use it), scheduling with interval
// selection, ±10% jitter and a start spread, the backend operator actions
// (pause, resume, enable, disable) and the reload of sessions (spec §4). It
// probes and runs state machines, nothing else: every transition goes to its
// listeners, first of them the lb stage (src/lb/lb_stage.h), which turns
// backend states into frontend weights. Everything here runs on the core loop
// thread (the Dispatcher's); other threads reach it only by posting work.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/dispatcher.h"
#include "config/config.h"
#include "health/state_machine.h"
#include "prober/prober.h"

namespace maglev {

// Fixed probe-duration histogram buckets (seconds), shared with metrics.
inline constexpr double kProbeDurationBuckets[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                   0.1,   0.25,   0.5,   1,    2.5,   5};
inline constexpr size_t kProbeDurationBucketCount = std::size(kProbeDurationBuckets);

struct ProbeStats {
  // (type, code) -> count.
  std::map<std::pair<CheckType, ProbeCode>, uint64_t> results;
  uint64_t duration_bucket_counts[kProbeDurationBucketCount + 1] = {};  // last: +Inf
  double duration_sum_seconds = 0;
  uint64_t duration_count = 0;
};

// A read-only copy of one backend's state for the API and metrics.
struct BackendSnapshot {
  std::string name;
  Backend config;
  std::optional<HealthCheck> healthcheck;
  BackendState state = BackendState::kUnknown;
  int counter = 0;
  bool enabled = true;
  std::vector<Transition> transitions;  // newest first
  std::optional<ProbeResult> last_result;
  ProbeStats stats;
  // from -> to -> count, transitions since start (for metrics).
  std::map<std::pair<BackendState, BackendState>, uint64_t> transition_counts;
};

struct CheckerOptions {
  uint64_t seed = std::random_device{}();
  double jitter = 0.10;  // ±10% of each wait
  // Probe start times are rounded up to a multiple of this, so that due
  // probes are started in batches (fewer loop wakeups). 0 disables.
  Duration timer_slack = std::chrono::milliseconds(10);
};

// An operator decision restored at start (the state file): the backend
// starts disabled, paused, or enabled although its YAML says `enabled: false`.
enum class AdminRestore { kDisabled, kPaused, kEnabled };

class Checker {
 public:
  Checker(Dispatcher& dispatcher, ProbeRunner& runner, CheckerOptions options = {});
  ~Checker();
  Checker(const Checker&) = delete;
  Checker& operator=(const Checker&) = delete;

  // Starts sessions for every backend referenced by a frontend. `restore`
  // puts backends into their operator state before any probe is scheduled
  // (the transitions are published with detail "restored from state file").
  void Start(std::shared_ptr<const Config> config,
             const std::map<std::string, AdminRestore>& restore = {});
  // Applies an already validated config (spec §4 reload semantics): new
  // backends start, removed ones end with a `removed` transition, unchanged
  // ones keep probing, changed ones restart.
  void Reload(std::shared_ptr<const Config> config);
  // Stops every probe timer (shutdown); no further transitions.
  void Stop();

  const Config& config() const { return *config_; }

  // Operator actions. NotFound for unknown backends; FailedPrecondition for
  // pause/resume of a disabled backend.
  absl::StatusOr<BackendSnapshot> Pause(const std::string& backend);
  absl::StatusOr<BackendSnapshot> Resume(const std::string& backend);
  absl::StatusOr<BackendSnapshot> Enable(const std::string& backend);
  absl::StatusOr<BackendSnapshot> Disable(const std::string& backend);

  // Queries. Backends are the probed ones (referenced by some frontend).
  std::vector<std::string> BackendNames() const;  // sorted
  std::optional<BackendSnapshot> GetBackend(const std::string& name) const;
  BackendState StateOf(const std::string& backend) const;

  // Observers of every transition, run synchronously on the loop in
  // registration order; they must not call back into mutating Checker
  // methods.
  using Listener = std::function<void(const std::string& backend, const Transition& t)>;
  int AddListener(Listener listener);
  void RemoveListener(int id);

  // Called on the loop for every completed probe (metrics, benchmarks).
  uint64_t probes_completed() const { return probes_completed_; }

 private:
  struct Session;
  Session* Find(const std::string& name) const;
  std::shared_ptr<Session> MakeSession(const Backend& b, const HealthCheck* hc);
  void Activate(Session& s, Duration first_delay);
  void ScheduleNext(Session& s);
  void ArmProbeTimer(Session& s, Duration delay);
  void StartProbe(Session& s);
  void OnProbeResult(Session& s, uint64_t generation, ProbeResult r);
  void StopProbing(Session& s);
  void Publish(Session& s, const Transition& t);
  BackendSnapshot Snapshot(const Session& s) const;
  Duration Jitter(Duration d);
  Duration Spread(Duration interval);

  Dispatcher& dispatcher_;
  ProbeRunner& runner_;
  CheckerOptions options_;
  std::mt19937_64 rng_;
  std::shared_ptr<const Config> config_;
  std::map<std::string, std::shared_ptr<Session>> sessions_;
  std::map<int, Listener> listeners_;
  int next_listener_id_ = 1;
  uint64_t probes_completed_ = 0;
  bool stopped_ = false;
};

}  // namespace maglev
