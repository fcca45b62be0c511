// The backend health state machine (spec §4): HAProxy's single rise/fall
// counter, expedited resolution from `unknown`, interval selection, the
// operator actions and a bounded transition history. Pure: no I/O, no clock
// (callers pass the time), no threads; owned by the checker on the core loop.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/duration.h"
#include "health/outcome.h"

namespace maglev {

enum class BackendState { kUnknown, kUp, kDown, kPaused, kDisabled, kRemoved };
const char* BackendStateName(BackendState s);  // "unknown", "up", ...

struct Transition {
  BackendState from = BackendState::kUnknown;
  BackendState to = BackendState::kUnknown;
  int64_t at_unix_ns = 0;
  TransitionCause cause = Action::kStatic;  // the probe code or the action
  std::string detail;                       // human detail (e.g. "HTTP 503", "by operator")
  std::string_view code() const { return CauseName(cause); }  // "L7STS", "disabled", ...
};

class HealthStateMachine {
 public:
  // rise, fall >= 1; history_size >= 1. Starts in `unknown` with no history.
  HealthStateMachine(int rise, int fall, int history_size);

  BackendState state() const { return state_; }
  int counter() const { return counter_; }
  int rise() const { return rise_; }
  int fall() const { return fall_; }
  int max_counter() const { return rise_ + fall_ - 1; }
  bool enabled() const { return state_ != BackendState::kDisabled; }
  bool probing() const {
    return state_ == BackendState::kUnknown || state_ == BackendState::kUp ||
           state_ == BackendState::kDown;
  }
  // Newest first, at most history_size entries.
  // (A small vector: the history is a handful of entries, and a deque's
  // 512-byte blocks would dominate the per-backend memory.)
  const std::vector<Transition>& history() const { return history_; }
  void set_history_size(int n);

  // Enters `unknown` with the counter at rise-1 (initial start; used once).
  // Not a transition: nothing is recorded in the history.
  void Start();

  // Feeds one probe outcome (it passed when ProbeCodePasses(code)). Ignored
  // (nullopt) unless probing. Returns the transition when the state changed.
  std::optional<Transition> Record(ProbeCode code, std::string_view detail, int64_t now_ns);
  // A backend without health check: fully up at once (cause Action::kStatic).
  std::optional<Transition> MarkStatic(int64_t now_ns);

  // Operator actions. Errors: FailedPrecondition for pause/resume of a
  // disabled backend, resume of a backend that is not paused is a no-op.
  // A no-op returns nullopt (no transition).
  absl::StatusOr<std::optional<Transition>> Pause(int64_t now_ns);
  absl::StatusOr<std::optional<Transition>> Resume(int64_t now_ns);
  std::optional<Transition> Disable(int64_t now_ns);
  std::optional<Transition> Enable(int64_t now_ns);
  // Restarts probing from scratch with new rise/fall (the health check or
  // address changed): counter to rise-1, state `unknown`, history kept.
  // Always records a transition (cause Action::kRestart).
  Transition Restart(int rise, int fall, int64_t now_ns, std::string_view detail);
  // Terminal: the backend left the configuration.
  Transition Remove(int64_t now_ns);

  // The wait before the next probe (before jitter): `interval` when the
  // counter is at its maximum, `down_interval` when down with counter 0,
  // `fast_interval` otherwise.
  Duration NextInterval(Duration interval, Duration fast_interval, Duration down_interval) const;

 private:
  Transition Move(BackendState to, int64_t now_ns, TransitionCause cause, std::string_view detail);

  int rise_;
  int fall_;
  size_t history_size_;
  int counter_;
  BackendState state_ = BackendState::kUnknown;
  std::vector<Transition> history_;
};

}  // namespace maglev
