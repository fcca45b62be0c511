#include "common/duration.h"

#include <cstdint>
#include <limits>

namespace maglev {

std::optional<Duration> ParseDuration(std::string_view s) {
  if (s == "0") return Duration::zero();
  if (s.empty()) return std::nullopt;
  // Accumulate in long double-free integer nanoseconds with overflow checks.
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  int64_t total = 0;
  size_t i = 0;
  while (i < s.size()) {
    // integer part
    uint64_t whole = 0;
    size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      if (whole > (uint64_t{1} << 62) / 10) return std::nullopt;
      whole = whole * 10 + static_cast<uint64_t>(s[i] - '0');
      ++i;
    }
    bool have_whole = i > start;
    uint64_t frac = 0, frac_scale = 1;
    bool have_frac = false;
    if (i < s.size() && s[i] == '.') {
      ++i;
      size_t fstart = i;
      while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
        if (frac_scale < 1'000'000'000'000'000ULL) {
          frac = frac * 10 + static_cast<uint64_t>(s[i] - '0');
          frac_scale *= 10;
        }
        ++i;
      }
      have_frac = i > fstart;
    }
    if (!have_whole && !have_frac) return std::nullopt;
    size_t ustart = i;
    while (i < s.size() && !(s[i] >= '0' && s[i] <= '9') && s[i] != '.') ++i;
    std::string_view unit = s.substr(ustart, i - ustart);
    int64_t mult;
    if (unit == "ns") {
      mult = 1;
    } else if (unit == "us" || unit == "\xC2\xB5s" || unit == "\xCE\xBCs") {
      mult = 1'000;
    } else if (unit == "ms") {
      mult = 1'000'000;
    } else if (unit == "s") {
      mult = 1'000'000'000;
    } else if (unit == "m") {
      mult = 60'000'000'000;
    } else if (unit == "h") {
      mult = 3'600'000'000'000;
    } else {
      return std::nullopt;
    }
    if (whole > static_cast<uint64_t>(kMax / mult)) return std::nullopt;
    int64_t part = static_cast<int64_t>(whole) * mult;
    part += static_cast<int64_t>(static_cast<long double>(frac) * mult / frac_scale);
    if (total > kMax - part) return std::nullopt;
    total += part;
  }
  return Duration(total);
}

std::string FormatDuration(Duration d) {
  int64_t ns = d.count();
  if (ns == 0) return "0s";
  std::string sign;
  if (ns < 0) {
    sign = "-";
    ns = -ns;
  }
  auto frac_str = [](int64_t value, int64_t unit) {
    std::string out = std::to_string(value / unit);
    int64_t rem = value % unit;
    if (rem) {
      std::string digits = std::to_string(rem + unit).substr(1);  // zero-padded
      while (!digits.empty() && digits.back() == '0') digits.pop_back();
      out += "." + digits;
    }
    return out;
  };
  if (ns < 1'000) return sign + std::to_string(ns) + "ns";
  if (ns < 1'000'000) return sign + frac_str(ns, 1'000) + "us";
  if (ns < 1'000'000'000) return sign + frac_str(ns, 1'000'000) + "ms";
  std::string out;
  int64_t h = ns / 3'600'000'000'000;
  ns %= 3'600'000'000'000;
  int64_t m = ns / 60'000'000'000;
  ns %= 60'000'000'000;
  if (h) out += std::to_string(h) + "h";
  if (h || m) out += std::to_string(m) + "m";
  out += frac_str(ns, 1'000'000'000) + "s";
  return sign + out;
}

}  // namespace maglev
