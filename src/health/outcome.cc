// SPDX-License-Identifier: Apache-2.0
#include "health/outcome.h"

#include <array>

namespace maglev {

namespace {

constexpr std::array<std::string_view, kProbeCodeCount> kProbeCodeNames = {
    "L3OK",   "L3TOUT", "L3ERR", "L4OK",   "L4TOUT", "L4CON", "L6OK",
    "L6TOUT", "L6RSP",  "L7OK",  "L7TOUT", "L7RSP",  "L7STS"};

}  // namespace

std::string_view ProbeCodeName(ProbeCode code) {
  return kProbeCodeNames[static_cast<size_t>(code)];
}

std::optional<ProbeCode> ParseProbeCode(std::string_view name) {
  for (size_t i = 0; i < kProbeCodeNames.size(); ++i)
    if (kProbeCodeNames[i] == name) return static_cast<ProbeCode>(i);
  return std::nullopt;
}

bool ProbeCodePasses(ProbeCode code) {
  switch (code) {
    case ProbeCode::kL3Ok:
    case ProbeCode::kL4Ok:
    case ProbeCode::kL6Ok:
    case ProbeCode::kL7Ok:
      return true;
    default:
      return false;
  }
}

std::string_view ActionName(Action action) {
  switch (action) {
    case Action::kStatic:
      return "static";
    case Action::kPaused:
      return "paused";
    case Action::kResumed:
      return "resumed";
    case Action::kDisabled:
      return "disabled";
    case Action::kEnabled:
      return "enabled";
    case Action::kRestart:
      return "restart";
    case Action::kRemoved:
      return "removed";
  }
  return "?";
}

std::string_view CauseName(const TransitionCause& cause) {
  if (const ProbeCode* code = std::get_if<ProbeCode>(&cause)) return ProbeCodeName(*code);
  return ActionName(std::get<Action>(cause));
}

}  // namespace maglev
