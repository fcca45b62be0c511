#include "common/duration.h"

#include <cstdint>
#include <limits>
#include <string>

#include "absl/time/time.h"

namespace maglev {

std::optional<Duration> ParseDuration(std::string_view s) {
  // absl::ParseDuration reads the same <decimal><unit> sequence, but also
  // takes a sign, "inf" and values beyond int64 nanoseconds, which our
  // configs have always rejected (and keep rejecting). It does not know the
  // micro sign, which we take as "us", and it fails on a fraction whose
  // digits overflow its arithmetic (".999999999999999999h"), which we have
  // always read: fraction digits beyond the 15th (below a nanosecond even
  // for hours) are dropped before it sees them.
  if (s.empty() || s[0] == '+' || s[0] == '-' || s == "inf") return std::nullopt;
  constexpr int kMaxFractionDigits = 15;
  std::string text;
  text.reserve(s.size());
  int fraction_digits = -1;  // -1: not in a fraction
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c >= '0' && c <= '9') {
      if (fraction_digits >= 0 && ++fraction_digits > kMaxFractionDigits) continue;
      text.push_back(c);
      continue;
    }
    fraction_digits = c == '.' ? 0 : -1;
    std::string_view rest = s.substr(i);
    if (rest.starts_with("\xC2\xB5s") || rest.starts_with("\xCE\xBCs")) {  // µs, μs
      text += "us";
      i += 2;
      continue;
    }
    text.push_back(c);
  }
  absl::Duration d;
  if (!absl::ParseDuration(text, &d)) return std::nullopt;
  if (d > absl::Nanoseconds(std::numeric_limits<int64_t>::max())) return std::nullopt;
  return Duration(absl::ToInt64Nanoseconds(d));
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
