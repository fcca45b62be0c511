// Small helpers shared by the two implementations of tcp and http probes
// (the asio coroutines in prober.cc and the raw-fd fast path in
// fast_probe.cc), so that both produce the same result codes and detail
// strings. Internal to src/prober.
#pragma once

#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <chrono>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <utility>

#include "prober/http_response.h"
#include "prober/netns.h"
#include "prober/prober.h"

namespace re2 {
class RE2;
}

namespace maglev::prober_internal {

inline ProbeResult Result(ProbeCode code, std::string detail) {
  ProbeResult r;
  r.code = code;
  r.detail = std::move(detail);
  return r;
}

inline std::string TimeoutText(Duration timeout) {
  return "timeout after " + FormatDuration(timeout);
}

// "Connection refused": the same text asio's error_code::message() gives for
// a system error, lower-cased like every detail string.
inline std::string ErrnoText(int err) { return LowerFirst(std::strerror(err)); }

// Delivers the result of a probe that ended before its I/O started (bad
// parameters, no socket): posted, so `done` never runs inside the call that
// started the probe.
inline void PostEarlyResult(asio::io_context& io, std::function<void(ProbeResult)> done,
                            ProbeResult r, std::chrono::steady_clock::time_point start) {
  r.elapsed = std::chrono::duration_cast<Duration>(std::chrono::steady_clock::now() - start);
  asio::post(io, [done = std::move(done), r = std::move(r)]() mutable { done(std::move(r)); });
}

// Where an HTTP response read so far stands: nullopt while the reader wants
// more bytes, else the verdict (L7STS for a status outside [code_min,
// code_max], which is decided as soon as the head is parsed; L7RSP for a
// malformed response or a body not matching `re`; L7OK).
std::optional<ProbeResult> HttpVerdict(const HttpResponseReader& reader, int code_min, int code_max,
                                       const re2::RE2* re);

}  // namespace maglev::prober_internal
