// SPDX-License-Identifier: Apache-2.0
//
// The state file (--state-file, docs/state-file.md): the operator's runtime
// decisions (disabled, paused, enabled against the YAML, weight overrides,
// drains in progress with their deadline) and each backend's last known
// health, so that a restart of maglevd (a package upgrade) neither brings a
// backend out of maintenance nor disturbs VPP.
//
//   StatePersister: listens to the checker and the lb stage on the core
//     loop; a change arms a short coalescing timer, whose expiry captures the
//     state (cheap, on the loop) and hands the encoded JSON to an
//     AtomicFileWriter thread (the slow part: fsync, rename, fsync dir).
//   At start: ReadStateFile + PlanRestore give what the pipeline applies
//     before the first probe and the controller's view of the last health.
//
// A missing, unreadable, corrupt or foreign file is reported (warn) and
// ignored as a whole; entries for what the config no longer has, or whose
// YAML value the decision was made against has changed, are dropped one by
// one (info).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "core/atomic_file.h"
#include "core/pipeline.h"

namespace maglev {

inline constexpr int kStateFileVersion = 1;
inline constexpr std::string_view kStateFileFormat = "maglevd-state";
// Persisted health older than this is not trusted at start (docs/dataplane.md).
inline constexpr Duration kStateHealthMaxAge = std::chrono::minutes(10);
// A change is written at most this long after it happened.
inline constexpr Duration kStateWriteDelay = std::chrono::milliseconds(100);
// While backends are probed, the file is rewritten this often so that the
// time their health was last seen stays fresh.
inline constexpr Duration kStateRefreshInterval = std::chrono::seconds(60);

struct PersistedHealth {
  BackendState state = BackendState::kUnknown;  // up or down
  int64_t since_unix_ns = 0;                    // when it became so
  int64_t seen_unix_ns = 0;                     // when it was last known to hold
};

struct PersistedBackend {
  // A runtime decision against the YAML: disabled or paused while the YAML
  // says enabled, or enabled while it says `enabled: false`.
  std::optional<AdminRestore> admin;
  bool config_enabled = true;  // the YAML's `enabled` the decision was made against
  std::optional<int64_t> drain_deadline_unix_ns;
  std::optional<PersistedHealth> health;
};

struct PersistedWeight {
  std::string frontend, pool, backend;
  int weight = 0;         // the operator's
  int config_weight = 0;  // the YAML's, when it was set
};

struct PersistedState {
  int64_t written_unix_ns = 0;
  std::map<std::string, PersistedBackend> backends;
  std::vector<PersistedWeight> weights;  // (frontend, pool, backend) order
};

// JSON, one entry per line (docs/state-file.md). Times in unix milliseconds.
std::string EncodeState(const PersistedState& state);
// InvalidArgument when the text is not a state file of this version with
// exactly the expected shape (nothing is returned half-read).
absl::StatusOr<PersistedState> DecodeState(std::string_view text);
// NotFound when the file does not exist; other errors for an unreadable or
// invalid one.
absl::StatusOr<PersistedState> ReadStateFile(const std::string& path);

// What to apply at start.
struct RestorePlan {
  PipelineRestore pipeline;
  // Last known health younger than kStateHealthMaxAge (up/down only).
  std::map<std::string, BackendState> health;
  // Health entries kept (to be carried on while backends are unknown).
  std::map<std::string, PersistedHealth> carried_health;
  // Human descriptions of the entries dropped (config changed).
  std::vector<std::string> dropped;
};
RestorePlan PlanRestore(const PersistedState& state, const Config& config, int64_t now_unix_ns);

// The state of a running pipeline. `health` is the last up/down of each
// backend as the persister tracked it; backends up or down now are "seen"
// at `now`.
PersistedState CaptureState(const Pipeline& pipeline,
                            const std::map<std::string, PersistedHealth>& health,
                            int64_t now_unix_ns);

class StatePersister {
 public:
  StatePersister(Dispatcher& dispatcher, Pipeline& pipeline, std::string path);
  ~StatePersister();
  StatePersister(const StatePersister&) = delete;
  StatePersister& operator=(const StatePersister&) = delete;

  // Reads the file and plans its restore against `config`. Logs at warn
  // (msg `state-file-ignored`) and returns an empty plan when the file is
  // missing... (missing: info), unreadable, corrupt or foreign.
  RestorePlan Load(const Config& config);
  // Subscribes to the pipeline (before its Start, so that the restore is
  // written back) and starts the refresh timer.
  void Start();
  // Writes the final state synchronously (clean shutdown).
  void Stop();
  const std::string& path() const { return path_; }

 private:
  void MarkDirty();
  void WriteNow();

  Dispatcher& dispatcher_;
  Pipeline& pipeline_;
  std::string path_;
  std::map<std::string, PersistedHealth> health_;
  std::unique_ptr<AtomicFileWriter> writer_;
  std::unique_ptr<Timer> delay_timer_, refresh_timer_;
  int checker_listener_ = 0, lb_listener_ = 0;
  bool started_ = false;
};

}  // namespace maglev
