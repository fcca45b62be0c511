#include "health/state_machine.h"

#include <algorithm>

#include "absl/status/status.h"

namespace maglev {

const char* BackendStateName(BackendState s) {
  switch (s) {
    case BackendState::kUnknown:
      return "unknown";
    case BackendState::kUp:
      return "up";
    case BackendState::kDown:
      return "down";
    case BackendState::kPaused:
      return "paused";
    case BackendState::kDisabled:
      return "disabled";
    case BackendState::kRemoved:
      return "removed";
  }
  return "unknown";
}

HealthStateMachine::HealthStateMachine(int rise, int fall, int history_size)
    : rise_(std::max(rise, 1)),
      fall_(std::max(fall, 1)),
      history_size_(static_cast<size_t>(std::max(history_size, 1))),
      counter_(rise_ - 1) {}

void HealthStateMachine::set_history_size(int n) {
  history_size_ = static_cast<size_t>(std::max(n, 1));
  if (history_.size() > history_size_) history_.resize(history_size_);
  history_.shrink_to_fit();
}

Transition HealthStateMachine::Move(BackendState to, int64_t now_ns, TransitionCause cause,
                                    std::string_view detail) {
  Transition t{state_, to, now_ns, cause, std::string(detail)};
  state_ = to;
  if (history_.size() >= history_size_) history_.resize(history_size_ - 1);
  if (history_.capacity() < history_size_) history_.reserve(history_size_);  // no doubling slack
  history_.insert(history_.begin(), t);
  return t;
}

void HealthStateMachine::Start() {
  counter_ = rise_ - 1;
  state_ = BackendState::kUnknown;
}

std::optional<Transition> HealthStateMachine::Record(ProbeCode code, std::string_view detail,
                                                     int64_t now_ns) {
  if (!probing()) return std::nullopt;
  const bool pass = ProbeCodePasses(code);
  // HAProxy's counter with its hysteresis (src/check.c): a pass that reaches
  // `rise` jumps to the maximum (fully up), a failure that drops below `rise`
  // falls to 0 (fully down). So a backend that has just come up still needs
  // `fall` failures to go down, one that is recovering starts over after any
  // failure, and an oscillating backend keeps its state. From `unknown`
  // (counter rise-1) the first probe decides: a pass is fully up, a failure
  // fully down.
  if (pass) {
    counter_ = std::min(counter_ + 1, max_counter());
    if (counter_ >= rise_) counter_ = max_counter();
  } else {
    counter_ = std::max(counter_ - 1, 0);
    if (counter_ < rise_) counter_ = 0;
  }
  BackendState next = counter_ >= rise_ ? BackendState::kUp : BackendState::kDown;
  if (next == state_) return std::nullopt;
  return Move(next, now_ns, code, detail);
}

std::optional<Transition> HealthStateMachine::MarkStatic(int64_t now_ns) {
  if (!probing()) return std::nullopt;
  counter_ = max_counter();
  if (state_ == BackendState::kUp) return std::nullopt;
  return Move(BackendState::kUp, now_ns, Action::kStatic, "no health check configured");
}

absl::StatusOr<std::optional<Transition>> HealthStateMachine::Pause(int64_t now_ns) {
  if (state_ == BackendState::kDisabled)
    return absl::FailedPreconditionError("backend is disabled; enable it first");
  if (state_ == BackendState::kRemoved) return absl::FailedPreconditionError("backend is removed");
  if (state_ == BackendState::kPaused) return std::optional<Transition>();
  return std::optional<Transition>(
      Move(BackendState::kPaused, now_ns, Action::kPaused, "by operator"));
}

absl::StatusOr<std::optional<Transition>> HealthStateMachine::Resume(int64_t now_ns) {
  if (state_ == BackendState::kDisabled)
    return absl::FailedPreconditionError("backend is disabled; enable it first");
  if (state_ == BackendState::kRemoved) return absl::FailedPreconditionError("backend is removed");
  if (state_ != BackendState::kPaused) return std::optional<Transition>();
  counter_ = rise_ - 1;
  return std::optional<Transition>(
      Move(BackendState::kUnknown, now_ns, Action::kResumed, "by operator"));
}

std::optional<Transition> HealthStateMachine::Disable(int64_t now_ns) {
  if (state_ == BackendState::kDisabled || state_ == BackendState::kRemoved) return std::nullopt;
  return Move(BackendState::kDisabled, now_ns, Action::kDisabled, "by operator");
}

std::optional<Transition> HealthStateMachine::Enable(int64_t now_ns) {
  if (state_ != BackendState::kDisabled) return std::nullopt;
  counter_ = rise_ - 1;
  return Move(BackendState::kUnknown, now_ns, Action::kEnabled, "by operator");
}

Transition HealthStateMachine::Restart(int rise, int fall, int64_t now_ns,
                                       std::string_view detail) {
  rise_ = std::max(rise, 1);
  fall_ = std::max(fall, 1);
  counter_ = rise_ - 1;
  return Move(BackendState::kUnknown, now_ns, Action::kRestart, detail);
}

Transition HealthStateMachine::Remove(int64_t now_ns) {
  return Move(BackendState::kRemoved, now_ns, Action::kRemoved, "removed from configuration");
}

Duration HealthStateMachine::NextInterval(Duration interval, Duration fast_interval,
                                          Duration down_interval) const {
  if (counter_ >= max_counter() && state_ == BackendState::kUp) return interval;
  if (counter_ == 0 && state_ == BackendState::kDown) return down_interval;
  return fast_interval;
}

}  // namespace maglev
