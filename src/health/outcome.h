// SPDX-License-Identifier: Apache-2.0
//
// Typed outcomes of health checking: the result code of a probe (HAProxy's
// tradition, spec §3) and the cause of a backend transition, which is a probe
// code or an action (an operator's, or the checker's own: a backend without
// health check, a restart by reload, a removal). Each has one name table,
// used for logs, metrics and the API. Pure; thread-agnostic.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <variant>

namespace maglev {

enum class ProbeCode : uint8_t {
  kL3Ok,    // ICMP echo reply
  kL3Tout,  // no reply in time
  kL3Err,   // ICMP error, or no socket
  kL4Ok,    // TCP connection accepted
  kL4Tout,  // connect timed out
  kL4Con,   // connect refused or failed
  kL6Ok,    // TLS handshake done
  kL6Tout,  // TLS handshake timed out
  kL6Rsp,   // TLS handshake failed
  kL7Ok,    // HTTP status and body as configured
  kL7Tout,  // HTTP response timed out
  kL7Rsp,   // unparsable response, body mismatch, connection lost
  kL7Sts,   // HTTP status outside response-code
};
inline constexpr int kProbeCodeCount = 13;

// "L4OK", "L7STS", ...
std::string_view ProbeCodeName(ProbeCode code);
std::optional<ProbeCode> ParseProbeCode(std::string_view name);
// Whether a probe with this code passed (the *OK codes).
bool ProbeCodePasses(ProbeCode code);

enum class Action : uint8_t {
  kStatic,    // no health check: up at once
  kPaused,    // operator
  kResumed,   // operator
  kDisabled,  // operator, or `enabled: false` in the config
  kEnabled,   // operator, or `enabled: true` in the config
  kRestart,   // a reload changed the backend's address or health check
  kRemoved,   // a reload removed the backend
};
std::string_view ActionName(Action action);  // "static", "paused", ...

// Why a backend changed state.
using TransitionCause = std::variant<ProbeCode, Action>;
std::string_view CauseName(const TransitionCause& cause);  // "L7STS" or "disabled"

}  // namespace maglev
