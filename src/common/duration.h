// Go-style durations ("500ms", "2s", "1m30s", "1h") parsed into
// std::chrono::nanoseconds, and formatted back the way Go prints them.
// Pure; thread-agnostic.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace maglev {

using Duration = std::chrono::nanoseconds;

// Accepts an optional sign-free sequence of <decimal><unit> with units
// ns, us (or µs), ms, s, m, h. "0" alone is accepted. Returns nullopt on
// anything else (negative values, missing unit, overflow).
std::optional<Duration> ParseDuration(std::string_view text);

// "1.5s", "500ms", "1m30s", "0s".
std::string FormatDuration(Duration d);

}  // namespace maglev
