// SPDX-License-Identifier: Apache-2.0
//
// The core of maglevd: the walk from probe to VPP, wired in its order.
//
//   ProbeRunner (prober)  --probe results-->
//   Checker               --backend transitions-->       state machines (src/checker)
//   LbStage               --LbUpdate per input-->         effective weights, desired VIPs,
//                                                          flush (src/lb)
//   listeners: DataplaneController (src/dataplane) --SyncJob--> Reconciler (src/vpp) --> VPP
//              WatchHub (src/api), metrics read the views.
//
// The pipeline owns the checker and the lb stage, keeps their configuration
// in step (start, reload) and is what the API and the daemon talk to.
// Everything here runs on the core loop thread.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "checker/checker.h"
#include "config/loader.h"
#include "lb/lb_stage.h"

namespace maglev {

// Operator decisions restored at start (core/state_file.h).
struct PipelineRestore {
  std::map<std::string, AdminRestore> admin;  // the checker's
  LbRestore lb;
};

class Pipeline {
 public:
  Pipeline(Dispatcher& dispatcher, ProbeRunner& runner, CheckerOptions options = {});
  ~Pipeline();
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  // Computes the frontends, then starts probing. `restore` is applied first:
  // restored drains and weights are in the first computation, restored
  // disables and pauses happen before any probe is scheduled.
  void Start(std::shared_ptr<const Config> config, const PipelineRestore& restore = {});
  // Applies an already validated config (spec §4): the checker's sessions
  // first, then every frontend once (one kReload update).
  void Reload(std::shared_ptr<const Config> config);
  // Loads, checks and applies the file; a bad file changes nothing and its
  // error is logged (msg `config-reload-failed`) and returned.
  ConfigResult ReloadFromFile(const std::string& path);
  // Stops probing (shutdown).
  void Stop();

  // Backend operator actions that concern both stages. Enable also ends a
  // drain; Drain takes the backend's weight to 0 without flush and disables
  // it after `timeout` (0: its `drain-timeout`). Pause, resume and disable
  // are the checker's own.
  absl::StatusOr<BackendSnapshot> Enable(const std::string& backend);
  absl::StatusOr<BackendSnapshot> Drain(const std::string& backend, Duration timeout);

  Checker& checker() { return checker_; }
  const Checker& checker() const { return checker_; }
  LbStage& lb() { return lb_; }
  const LbStage& lb() const { return lb_; }
  const Config& config() const { return lb_.config(); }

 private:
  Checker checker_;
  LbStage lb_;
  int listener_ = 0;
};

}  // namespace maglev
