// SPDX-License-Identifier: Apache-2.0
//
// The route withdrawal hook (issue #10, docs/dataplane.md "Servable VIPs"):
// operators announce VIPs with BIRD or FRR and want to withdraw a VIP that
// cannot serve. A frontend is servable when some backend has a non-zero
// effective weight (FrontendView::servable). On every change of it the
// notifier
//  - runs the `routes.notify-command` (argv + frontend, VIP, state) on a
//    worker thread, in order, each run bounded by `routes.notify-timeout`
//    (then killed), failures logged at warn;
//  - rewrites `routes.servable-file` (the servable VIP addresses) atomically,
//    on a writer thread.
// Nothing is reported for a frontend the dataplane controller has not
// released yet: during warmup nothing is withdrawn (a frontend not yet
// released keeps the line it had in the servable file).
// Runs on the core loop; the commands and the file writes never do.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "common/mutex.h"
#include "core/atomic_file.h"
#include "lb/lb_stage.h"

namespace maglev {

// How one run of a command ended.
struct CommandResult {
  bool started = false;
  bool timed_out = false;
  int exit_code = -1;  // -1: killed by a signal (or not started)
  std::string error;   // spawn error
};
// Runs argv (no shell) with `env` added to maglevd's environment, stdin
// from /dev/null, in a process group of its own; after `timeout` the group
// is killed (SIGKILL). Blocks; never call it on the core loop.
CommandResult RunCommand(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                         Duration timeout);

// A thread running commands one at a time, in the order queued. A command
// queued for a key that still has one waiting replaces it (coalescing); one
// that would repeat what was last run for the key is dropped.
class CommandQueue {
 public:
  CommandQueue();
  ~CommandQueue();
  struct Job {
    std::string key;
    std::string value;  // what the run tells (compared for coalescing)
    std::vector<std::string> argv, env;
    Duration timeout{};
  };
  void Enqueue(Job job);
  // Waits until nothing is queued or running, at most `limit`; jobs left
  // then are dropped (logged) and a running one is killed at its timeout.
  void Drain(Duration limit);
  uint64_t runs() const;

 private:
  void Run();
  mutable Mutex mu_;
  CondVar cv_;
  std::deque<Job> queue_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::string> last_run_ ABSL_GUARDED_BY(mu_);
  bool busy_ ABSL_GUARDED_BY(mu_) = false;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t runs_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread thread_;
};

class RouteNotifier {
 public:
  using ReleasedFn = std::function<bool(const std::string& frontend)>;
  // `released` answers whether the controller has handed the frontend to
  // VPP yet (always true without a dataplane).
  RouteNotifier(LbStage& lb, ReleasedFn released);
  ~RouteNotifier();
  RouteNotifier(const RouteNotifier&) = delete;
  RouteNotifier& operator=(const RouteNotifier&) = delete;

  // Reads the servable file left by a previous run (the lines of frontends
  // not released yet are kept) and subscribes to the lb stage.
  void Start();
  // The controller released `frontend` (or every frontend, at the end of
  // the warmup): its state is reported now.
  void OnReleased(const std::string& frontend);
  // Clean shutdown: routes stay announced (VPP keeps forwarding); the
  // commands queued still run, bounded by the notify-timeout in all.
  void Stop();

  // The states last reported (for tests and the API).
  const std::map<std::string, bool>& reported() const { return reported_; }
  // Waits for the command queue and the file writer (tests).
  void Flush();

 private:
  void OnUpdate(const LbUpdate& update);
  void Check(const std::string& frontend);
  void RewriteFile();

  LbStage& lb_;
  ReleasedFn released_;
  int listener_ = 0;
  std::map<std::string, bool> reported_;
  // Addresses listed by the file as found at start (for unreleased frontends).
  std::set<std::string> previous_file_;
  std::optional<std::string> file_content_;  // last written (or read) content
  std::unique_ptr<AtomicFileWriter> writer_;
  std::unique_ptr<CommandQueue> commands_;
};

}  // namespace maglev
