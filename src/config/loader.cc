#include "config/loader.h"

#include <re2/re2.h>
#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace maglev {
namespace {

constexpr size_t kMaxFileBytes = size_t{16} << 20;
// yaml-cpp shares aliased nodes instead of copying them, so a small document
// can describe an exponentially large tree ("billion laughs"). Walking it is
// what costs, so the walk is budgeted.
constexpr int kMaxEntries = 500'000;
constexpr int64_t kMaxRiseFall = 1000;
constexpr int64_t kMaxTransitionHistory = 1000;
constexpr int64_t kMaxTableLength = int64_t{1} << 20;
constexpr int64_t kMaxStickyBuckets = int64_t{1} << 31;

// The document root has no path relative to `maglev`; errors about it (YAML
// syntax, a missing or stray top-level key) use this name instead.
constexpr char kDocument[] = "document";

// Escapes what would break an error line: quotes, backslashes and control
// characters (names and values come straight from the document).
std::string Escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u == 0x7f) {
      out += absl::StrCat("\\x", absl::Hex(u, absl::kZeroPad2));
    } else {
      out += c;
    }
  }
  return out;
}

std::string Quote(std::string_view s) {
  // Long values would make an error line unreadable.
  constexpr size_t kMax = 64;
  std::string out = "\"" + Escape(s.substr(0, kMax));
  if (s.size() > kMax) out += "...";
  out += '"';
  return out;
}

std::string Join(const std::string& path, const std::string& key) {
  if (path.empty()) return Escape(key);
  return absl::StrCat(path, ".", Escape(key));
}

std::string FormatError(const std::string& path, int line, const std::string& msg) {
  return absl::StrCat(path.empty() ? "maglev" : path, ": line ", line, ": ", msg);
}

absl::Status ParseError(const std::string& path, int line, const std::string& msg) {
  return absl::InvalidArgumentError(FormatError(path, line, msg));
}

int LineOf(const YAML::Node& n, int fallback) {
  // Null nodes carry the mark of the token after them; use the caller's line.
  if (!n.IsDefined() || n.IsNull() || n.Mark().line < 0) return fallback;
  return n.Mark().line + 1;
}

bool IsQuoted(const YAML::Node& n) { return n.Tag() == "!" || n.Tag() == "tag:yaml.org,2002:str"; }

std::string Describe(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Null:
      return "null";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Scalar:
      return IsQuoted(n) ? "string " + Quote(n.Scalar()) : Quote(n.Scalar());
    case YAML::NodeType::Undefined:
      break;
  }
  return "nothing";
}

absl::StatusOr<std::string> ReadString(const YAML::Node& n, const std::string& path, int line) {
  if (!n.IsScalar()) return ParseError(path, line, "expected a string, got " + Describe(n));
  return n.Scalar();
}

absl::StatusOr<int64_t> ReadInt(const YAML::Node& n, const std::string& path, int line) {
  auto fail = [&] { return ParseError(path, line, "expected an integer, got " + Describe(n)); };
  if (!n.IsScalar() || IsQuoted(n)) return fail();
  std::string_view s = n.Scalar();
  bool negative = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s.empty() || !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return fail();
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size()) {
    return ParseError(path, line, "integer out of range: " + Quote(n.Scalar()));
  }
  return negative ? -v : v;
}

absl::StatusOr<bool> ReadBool(const YAML::Node& n, const std::string& path, int line) {
  if (n.IsScalar() && !IsQuoted(n)) {
    const std::string& s = n.Scalar();
    if (s == "true" || s == "True" || s == "TRUE") return true;
    if (s == "false" || s == "False" || s == "FALSE") return false;
  }
  return ParseError(path, line, "expected a boolean (true or false), got " + Describe(n));
}

absl::StatusOr<Duration> ReadDuration(const YAML::Node& n, const std::string& path, int line) {
  if (!n.IsScalar()) return ParseError(path, line, "expected a duration, got " + Describe(n));
  std::optional<Duration> d = ParseDuration(n.Scalar());
  if (!d) return ParseError(path, line, "invalid duration " + Quote(n.Scalar()));
  return *d;
}

absl::StatusOr<IpAddress> ReadAddress(const YAML::Node& n, const std::string& path, int line) {
  if (!n.IsScalar()) return ParseError(path, line, "expected an ip address, got " + Describe(n));
  std::optional<IpAddress> a = IpAddress::Parse(n.Scalar());
  if (!a) return ParseError(path, line, "invalid ip address " + Quote(n.Scalar()));
  return *a;
}

// Why an address cannot be a VIP or a backend in VPP, or "" when it can.
// VPP's ip46 type takes an address whose first 96 bits are zero for IPv4:
// an IPv4-compatible IPv6 address (::/96, e.g. ::1 or ::a00:3) is stored as
// the IPv4 address in its last 32 bits, so as a backend every sync fails
// and as a VIP it is re-created on every full sync. An IPv4-mapped one
// (::ffff:0:0/96) is probed over IPv4 by the kernel while VPP would send
// GRE6 to an address that is not routed: health and traffic part ways.
std::string DataplaneAddressProblem(const IpAddress& a) {
  if (a.is_unspecified()) return "must not be the unspecified address";
  if (!a.is_v6()) return "";
  const auto& b = a.ip46();
  bool zero80 = std::all_of(b.begin(), b.begin() + 10, [](uint8_t x) { return x == 0; });
  std::string v4 = IpAddress::FromV4Bytes(b.data() + 12).ToString();
  if (zero80 && b[10] == 0 && b[11] == 0)
    return absl::StrCat(a.ToString(),
                        " is an IPv4-compatible IPv6 address (::/96), which VPP takes for the "
                        "IPv4 address ",
                        v4, "; use a routable IPv6 address or write ", v4);
  if (zero80 && b[10] == 0xff && b[11] == 0xff)
    return absl::StrCat(a.ToString(),
                        " is an IPv4-mapped IPv6 address (::ffff:0:0/96): it would be probed over "
                        "IPv4 while VPP sends GRE6 to an address that is not routed; write ",
                        v4);
  return "";
}

bool IsPowerOfTwo(int64_t v) { return v > 0 && (v & (v - 1)) == 0; }

// Characters that would let a value break out of an HTTP request line, a
// header or an SNI name.
bool HasSpaceOrControl(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u <= 0x20 || u == 0x7f;
  });
}

// "N" or "N-M", 100 <= N <= M <= 599.
bool ParseResponseCodes(std::string_view s, int* lo, int* hi) {
  auto number = [](std::string_view t, int* out) {
    if (t.empty() || t.size() > 3) return false;
    if (!std::all_of(t.begin(), t.end(), [](char c) { return c >= '0' && c <= '9'; })) return false;
    auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), *out);
    return ec == std::errc() && *out >= 100 && *out <= 599;
  };
  size_t dash = s.find('-');
  if (dash == std::string_view::npos) {
    if (!number(s, lo)) return false;
    *hi = *lo;
    return true;
  }
  return number(s.substr(0, dash), lo) && number(s.substr(dash + 1), hi) && *lo <= *hi;
}

std::string FamilyName(const IpAddress& a) { return a.is_v4() ? "ipv4" : "ipv6"; }

// Where things were in the document, for the checks that run after the walk.
struct PoolBackendSite {
  std::string name;
  std::string path;
  int line;
};
struct PoolSite {
  std::string path;
  int line;
  std::vector<PoolBackendSite> backends;
};
struct FrontendSite {
  std::string name;
  std::string path;
  int line;
  std::vector<PoolSite> pools;  // parallel to Frontend::pools
};
struct Site {
  std::string path;
  int line = 0;
};

struct SemanticError {
  int line;
  std::string text;
};

class Loader {
 public:
  // Parse stage: fills the config, stops at the first parse error. Semantic
  // problems noticed on the way are recorded, not returned.
  absl::Status ParseDocument(const YAML::Node& root);
  // Semantic stage: checks that need the whole document.
  void Validate();

  Config& config() { return config_; }
  // All semantic errors, in line order, one per line; empty when none.
  std::string SemanticErrors();

 private:
  using EntryFn = std::function<absl::Status(const std::string& key, const std::string& path,
                                             int line, const YAML::Node& value)>;

  // Visits the entries of a map in document order. `allowed` lists the keys
  // of a fixed schema; nullptr means any key (a map of names). Null is an
  // empty map.
  absl::Status ForEachEntry(const YAML::Node& node, const std::string& path, int line,
                            const std::vector<std::string_view>* allowed, const EntryFn& fn);
  absl::Status Budget(int line);
  void Error(const std::string& path, int line, std::string msg) {
    errors_.push_back({line, FormatError(path, line, msg)});
  }
  void CheckName(const std::string& name, const std::string& path, int line) {
    // Names are typed in maglevc commands and printed in parsable lines.
    if (name.empty()) {
      Error(path, line, "empty name");
    } else if (HasSpaceOrControl(name)) {
      Error(path, line, "invalid name " + Quote(name) + " (no spaces or control characters)");
    }
  }

  absl::Status ParseMaglev(const YAML::Node& node, int line);
  absl::Status ParseHealthChecker(const YAML::Node& node, const std::string& path, int line);
  absl::Status ParseVpp(const YAML::Node& node, const std::string& path, int line);
  absl::Status ParseRoutes(const YAML::Node& node, const std::string& path, int line);
  absl::Status ParseVppLb(const YAML::Node& node, const std::string& path, int line);
  absl::Status ParseHealthCheck(const std::string& name, const YAML::Node& node,
                                const std::string& path, int line);
  absl::Status ParseHttp(const YAML::Node& node, const std::string& path, int line,
                         HttpParams* http);
  absl::Status ParseTcp(const YAML::Node& node, const std::string& path, int line, TcpParams* tcp);
  absl::Status ParseBackend(const std::string& name, const YAML::Node& node,
                            const std::string& path, int line);
  absl::Status ParseFrontend(const std::string& name, const YAML::Node& node,
                             const std::string& path, int line);
  absl::Status ParsePools(const YAML::Node& node, const std::string& path, int line, Frontend* fe,
                          FrontendSite* site);

  Config config_;
  std::vector<SemanticError> errors_;
  int entries_ = 0;
  bool ipv4_src_present_ = false;
  bool ipv6_src_present_ = false;
  std::map<std::string, Site> backend_healthcheck_sites_;
  // Backends whose address, and frontends whose VIP (address, port), is
  // missing or invalid: already reported, so left out of the cross checks that
  // would repeat it.
  std::set<std::string> backends_without_address_;
  std::set<std::string> frontends_without_vip_;
  std::vector<FrontendSite> frontend_sites_;  // document order
};

absl::Status Loader::Budget(int line) {
  if (++entries_ > kMaxEntries) {
    return ParseError(kDocument, line,
                      absl::StrCat("too many entries (over ", kMaxEntries, ", aliases?)"));
  }
  return absl::OkStatus();
}

absl::Status Loader::ForEachEntry(const YAML::Node& node, const std::string& path, int line,
                                  const std::vector<std::string_view>* allowed, const EntryFn& fn) {
  if (node.IsNull()) return absl::OkStatus();
  if (!node.IsMap()) return ParseError(path, line, "expected a map, got " + Describe(node));
  std::set<std::string> seen;
  for (auto it = node.begin(); it != node.end(); ++it) {
    // Copies: `it->first` lives in a proxy that dies with the expression.
    const YAML::Node key_node = it->first;
    const YAML::Node value = it->second;
    int key_line = LineOf(key_node, line);
    MAGLEV_RETURN_IF_ERROR(Budget(key_line));
    if (!key_node.IsScalar()) {
      return ParseError(path, key_line, "expected a plain key, got " + Describe(key_node));
    }
    const std::string& key = key_node.Scalar();
    std::string key_path = Join(path, key);
    if (allowed && std::find(allowed->begin(), allowed->end(), key) == allowed->end()) {
      return ParseError(key_path, key_line, "unknown key " + Quote(key));
    }
    if (!seen.insert(key).second) return ParseError(key_path, key_line, "duplicate key");
    MAGLEV_RETURN_IF_ERROR(fn(key, key_path, key_line, value));
  }
  return absl::OkStatus();
}

absl::Status Loader::ParseDocument(const YAML::Node& root) {
  if (root.IsNull()) return ParseError(kDocument, 1, "missing top-level key \"maglev\"");
  if (!root.IsMap()) {
    return ParseError(kDocument, LineOf(root, 1), "expected a map, got " + Describe(root));
  }
  bool found = false;
  for (auto it = root.begin(); it != root.end(); ++it) {
    const YAML::Node key = it->first;
    const YAML::Node value = it->second;
    int line = LineOf(key, 1);
    if (!key.IsScalar() || key.Scalar() != "maglev") {
      return ParseError(kDocument, line,
                        "unknown top-level key " +
                            (key.IsScalar() ? Quote(key.Scalar()) : Describe(key)) +
                            " (want \"maglev\")");
    }
    if (found) return ParseError(kDocument, line, "duplicate key \"maglev\"");
    found = true;
    MAGLEV_RETURN_IF_ERROR(ParseMaglev(value, line));
  }
  if (!found) return ParseError(kDocument, 1, "missing top-level key \"maglev\"");
  return absl::OkStatus();
}

absl::Status Loader::ParseMaglev(const YAML::Node& node, int line) {
  static const std::vector<std::string_view> kKeys = {"healthchecker", "vpp",      "routes",
                                                      "healthchecks",  "backends", "frontends"};
  return ForEachEntry(
      node, "", line, &kKeys,
      [&](const std::string& key, const std::string& path, int kline, const YAML::Node& v) {
        if (key == "healthchecker") return ParseHealthChecker(v, path, kline);
        if (key == "vpp") return ParseVpp(v, path, kline);
        if (key == "routes") return ParseRoutes(v, path, kline);
        if (key == "healthchecks") {
          return ForEachEntry(v, path, kline, nullptr,
                              [&](const std::string& name, const std::string& p, int l,
                                  const YAML::Node& n) { return ParseHealthCheck(name, n, p, l); });
        }
        if (key == "backends") {
          return ForEachEntry(v, path, kline, nullptr,
                              [&](const std::string& name, const std::string& p, int l,
                                  const YAML::Node& n) { return ParseBackend(name, n, p, l); });
        }
        return ForEachEntry(v, path, kline, nullptr,
                            [&](const std::string& name, const std::string& p, int l,
                                const YAML::Node& n) { return ParseFrontend(name, n, p, l); });
      });
}

absl::Status Loader::ParseHealthChecker(const YAML::Node& node, const std::string& path, int line) {
  static const std::vector<std::string_view> kKeys = {"transition-history", "netns"};
  HealthCheckerConfig& hc = config_.healthchecker;
  return ForEachEntry(
      node, path, line, &kKeys,
      [&](const std::string& key, const std::string& kpath, int kline,
          const YAML::Node& v) -> absl::Status {
        if (key == "transition-history") {
          MAGLEV_ASSIGN_OR_RETURN(int64_t n, ReadInt(v, kpath, kline));
          if (n < 1 || n > kMaxTransitionHistory) {
            Error(kpath, kline,
                  absl::StrCat("must be within 1..", kMaxTransitionHistory, ", got ", n));
          } else {
            hc.transition_history = static_cast<int>(n);
          }
        } else {
          MAGLEV_ASSIGN_OR_RETURN(hc.netns, ReadString(v, kpath, kline));
        }
        return absl::OkStatus();
      });
}

absl::Status Loader::ParseVpp(const YAML::Node& node, const std::string& path, int line) {
  static const std::vector<std::string_view> kKeys = {"lb"};
  return ForEachEntry(node, path, line, &kKeys,
                      [&](const std::string&, const std::string& kpath, int kline,
                          const YAML::Node& v) { return ParseVppLb(v, kpath, kline); });
}

absl::Status Loader::ParseRoutes(const YAML::Node& node, const std::string& path, int line) {
  static const std::vector<std::string_view> kKeys = {"notify-command", "notify-timeout",
                                                      "servable-file"};
  RoutesConfig& r = config_.routes;
  return ForEachEntry(
      node, path, line, &kKeys,
      [&](const std::string& key, const std::string& kpath, int kline,
          const YAML::Node& v) -> absl::Status {
        if (key == "notify-command") {
          // A list (argv), never a shell string.
          if (v.IsNull()) return absl::OkStatus();
          if (!v.IsSequence())
            return ParseError(
                kpath, kline,
                "expected a list (the command and its arguments), got " + Describe(v));
          for (size_t i = 0; i < v.size(); ++i) {
            MAGLEV_ASSIGN_OR_RETURN(std::string arg,
                                    ReadString(v[i], absl::StrCat(kpath, "[", i, "]"), kline));
            r.notify_command.push_back(std::move(arg));
          }
          if (!r.notify_command.empty() && r.notify_command[0].empty())
            Error(kpath, kline, "the command must not be empty");
        } else if (key == "notify-timeout") {
          MAGLEV_ASSIGN_OR_RETURN(r.notify_timeout, ReadDuration(v, kpath, kline));
          if (r.notify_timeout <= Duration::zero()) Error(kpath, kline, "must be > 0");
        } else {
          MAGLEV_ASSIGN_OR_RETURN(r.servable_file, ReadString(v, kpath, kline));
          if (!r.servable_file.empty() && r.servable_file[0] != '/')
            Error(kpath, kline, "must be an absolute path, got " + Quote(r.servable_file));
        }
        return absl::OkStatus();
      });
}

absl::Status Loader::ParseVppLb(const YAML::Node& node, const std::string& path, int line) {
  static const std::vector<std::string_view> kKeys = {
      "ipv4-src-address",        "ipv6-src-address",  "sync-interval",
      "sticky-buckets-per-core", "flow-timeout",      "new-flows-table-length",
      "startup-min-delay",       "startup-max-delay", "stats-interval"};
  VppLbConfig& lb = config_.vpp_lb;
  Site min_site, max_site;
  MAGLEV_RETURN_IF_ERROR(ForEachEntry(
      node, path, line, &kKeys,
      [&](const std::string& key, const std::string& kpath, int kline,
          const YAML::Node& v) -> absl::Status {
        if (key == "ipv4-src-address" || key == "ipv6-src-address") {
          bool want_v4 = key == "ipv4-src-address";
          (want_v4 ? ipv4_src_present_ : ipv6_src_present_) = true;
          MAGLEV_ASSIGN_OR_RETURN(IpAddress a, ReadAddress(v, kpath, kline));
          if (a.is_v4() != want_v4) {
            Error(kpath, kline,
                  absl::StrCat(a.ToString(), " is not an ", want_v4 ? "ipv4" : "ipv6", " address"));
          } else if (a.is_unspecified()) {
            Error(kpath, kline, "must not be the unspecified address");
          } else {
            (want_v4 ? lb.ipv4_src_address : lb.ipv6_src_address) = a;
          }
        } else if (key == "sync-interval") {
          MAGLEV_ASSIGN_OR_RETURN(lb.sync_interval, ReadDuration(v, kpath, kline));
          if (lb.sync_interval <= Duration::zero()) Error(kpath, kline, "must be > 0");
        } else if (key == "stats-interval") {
          MAGLEV_ASSIGN_OR_RETURN(lb.stats_interval, ReadDuration(v, kpath, kline));
          if (lb.stats_interval < std::chrono::milliseconds(100) ||
              lb.stats_interval > std::chrono::hours(1)) {
            Error(kpath, kline,
                  "must be within 100ms..1h, got " + FormatDuration(lb.stats_interval));
          }
        } else if (key == "flow-timeout") {
          MAGLEV_ASSIGN_OR_RETURN(lb.flow_timeout, ReadDuration(v, kpath, kline));
          if (lb.flow_timeout < std::chrono::seconds(1) ||
              lb.flow_timeout > std::chrono::seconds(120) ||
              lb.flow_timeout % std::chrono::seconds(1) != Duration::zero()) {
            Error(kpath, kline,
                  "must be whole seconds within 1s..120s, got " + FormatDuration(lb.flow_timeout));
          }
        } else if (key == "sticky-buckets-per-core") {
          MAGLEV_ASSIGN_OR_RETURN(int64_t n, ReadInt(v, kpath, kline));
          if (!IsPowerOfTwo(n) || n > kMaxStickyBuckets) {
            Error(
                kpath, kline,
                absl::StrCat("must be a power of two within 1..", kMaxStickyBuckets, ", got ", n));
          } else {
            lb.sticky_buckets_per_core = static_cast<uint32_t>(n);
          }
        } else if (key == "new-flows-table-length") {
          MAGLEV_ASSIGN_OR_RETURN(int64_t n, ReadInt(v, kpath, kline));
          if (!IsPowerOfTwo(n) || n > kMaxTableLength) {
            Error(kpath, kline,
                  absl::StrCat("must be a power of two within 1..", kMaxTableLength, ", got ", n));
          } else {
            lb.new_flows_table_length = static_cast<uint32_t>(n);
          }
        } else if (key == "startup-min-delay") {
          MAGLEV_ASSIGN_OR_RETURN(lb.startup_min_delay, ReadDuration(v, kpath, kline));
          min_site = {kpath, kline};
        } else {
          MAGLEV_ASSIGN_OR_RETURN(lb.startup_max_delay, ReadDuration(v, kpath, kline));
          max_site = {kpath, kline};
        }
        return absl::OkStatus();
      }));
  if (lb.startup_min_delay > lb.startup_max_delay) {
    if (min_site.line) {
      Error(
          min_site.path, min_site.line,
          absl::StrCat("must not exceed startup-max-delay (", FormatDuration(lb.startup_max_delay),
                       "), got ", FormatDuration(lb.startup_min_delay)));
    } else {
      Error(max_site.path, max_site.line,
            absl::StrCat("must not be less than startup-min-delay (",
                         FormatDuration(lb.startup_min_delay), "), got ",
                         FormatDuration(lb.startup_max_delay)));
    }
  }
  return absl::OkStatus();
}

absl::Status Loader::ParseHealthCheck(const std::string& name, const YAML::Node& node,
                                      const std::string& path, int line) {
  static const std::vector<std::string_view> kKeys = {
      "type",    "port", "interval",  "fast-interval",  "down-interval",
      "timeout", "rise", "fall",      "probe-ipv4-src", "probe-ipv6-src",
      "http",    "tcp",  "slow-start"};
  CheckName(name, path, line);
  HealthCheck hc;
  hc.name = name;
  hc.line = line;
  bool have_type = false, have_fast = false, have_down = false;
  Site port_site, http_site, tcp_site;
  MAGLEV_RETURN_IF_ERROR(ForEachEntry(
      node, path, line, &kKeys,
      [&](const std::string& key, const std::string& kpath, int kline,
          const YAML::Node& v) -> absl::Status {
        if (key == "type") {
          MAGLEV_ASSIGN_OR_RETURN(std::string t, ReadString(v, kpath, kline));
          if (t == "icmp") {
            hc.type = CheckType::kIcmp;
          } else if (t == "tcp") {
            hc.type = CheckType::kTcp;
          } else if (t == "http") {
            hc.type = CheckType::kHttp;
          } else if (t == "https") {
            hc.type = CheckType::kHttps;
          } else {
            return ParseError(
                kpath, kline,
                "invalid check type " + Quote(t) + " (want icmp, tcp, http or https)");
          }
          have_type = true;
        } else if (key == "port") {
          MAGLEV_ASSIGN_OR_RETURN(int64_t p, ReadInt(v, kpath, kline));
          port_site = {kpath, kline};
          if (p < 1 || p > 65535) {
            Error(kpath, kline, absl::StrCat("must be within 1..65535, got ", p));
          } else {
            hc.port = static_cast<uint16_t>(p);
          }
        } else if (key == "slow-start") {
          MAGLEV_ASSIGN_OR_RETURN(hc.slow_start, ReadDuration(v, kpath, kline));
          if (hc.slow_start < Duration::zero()) Error(kpath, kline, "must be >= 0");
        } else if (key == "interval" || key == "fast-interval" || key == "down-interval" ||
                   key == "timeout") {
          MAGLEV_ASSIGN_OR_RETURN(Duration d, ReadDuration(v, kpath, kline));
          if (d <= Duration::zero()) Error(kpath, kline, "must be > 0");
          if (key == "interval") {
            hc.interval = d;
          } else if (key == "fast-interval") {
            hc.fast_interval = d;
            have_fast = true;
          } else if (key == "down-interval") {
            hc.down_interval = d;
            have_down = true;
          } else {
            hc.timeout = d;
          }
        } else if (key == "rise" || key == "fall") {
          MAGLEV_ASSIGN_OR_RETURN(int64_t n, ReadInt(v, kpath, kline));
          if (n < 1 || n > kMaxRiseFall) {
            Error(kpath, kline, absl::StrCat("must be within 1..", kMaxRiseFall, ", got ", n));
          } else {
            (key == "rise" ? hc.rise : hc.fall) = static_cast<int>(n);
          }
        } else if (key == "probe-ipv4-src" || key == "probe-ipv6-src") {
          bool want_v4 = key == "probe-ipv4-src";
          MAGLEV_ASSIGN_OR_RETURN(IpAddress a, ReadAddress(v, kpath, kline));
          if (a.is_v4() != want_v4) {
            Error(kpath, kline,
                  absl::StrCat(a.ToString(), " is not an ", want_v4 ? "ipv4" : "ipv6", " address"));
          } else {
            (want_v4 ? hc.probe_ipv4_src : hc.probe_ipv6_src) = a;
          }
        } else if (key == "http") {
          http_site = {kpath, kline};
          MAGLEV_RETURN_IF_ERROR(ParseHttp(v, kpath, kline, &hc.http));
        } else {
          tcp_site = {kpath, kline};
          MAGLEV_RETURN_IF_ERROR(ParseTcp(v, kpath, kline, &hc.tcp));
        }
        return absl::OkStatus();
      }));
  if (!have_fast) hc.fast_interval = hc.interval;
  if (!have_down) hc.down_interval = hc.interval;
  if (!have_type) {
    Error(path, line, "missing type (icmp, tcp, http or https)");
  } else {
    const char* type = CheckTypeName(hc.type);
    if (hc.type == CheckType::kIcmp) {
      if (port_site.line) Error(port_site.path, port_site.line, "not allowed for type icmp");
    } else if (!port_site.line) {
      Error(path, line, absl::StrCat("missing port (required for type ", type, ")"));
    }
    // `http:` and `tcp:` apply to their own types and are ignored by the
    // other port-based type, so one definition can be switched between tcp
    // and http(s) by changing `type:` alone (the spec's example carries both).
    // An icmp check has no port and no such parameters: rejected there.
    if (http_site.line && hc.type == CheckType::kIcmp) {
      Error(http_site.path, http_site.line,
            absl::StrCat("not allowed for type ", type, " (only http and https)"));
    }
    if (tcp_site.line && hc.type == CheckType::kIcmp) {
      Error(tcp_site.path, tcp_site.line,
            absl::StrCat("not allowed for type ", type, " (only tcp)"));
    }
  }
  config_.healthchecks[name] = std::move(hc);
  return absl::OkStatus();
}

absl::Status Loader::ParseHttp(const YAML::Node& node, const std::string& path, int line,
                               HttpParams* http) {
  static const std::vector<std::string_view> kKeys = {
      "path", "host", "response-code", "response-regexp", "server-name", "insecure-skip-verify"};
  return ForEachEntry(
      node, path, line, &kKeys,
      [&](const std::string& key, const std::string& kpath, int kline,
          const YAML::Node& v) -> absl::Status {
        if (key == "insecure-skip-verify") {
          MAGLEV_ASSIGN_OR_RETURN(http->insecure_skip_verify, ReadBool(v, kpath, kline));
          return absl::OkStatus();
        }
        MAGLEV_ASSIGN_OR_RETURN(std::string s, ReadString(v, kpath, kline));
        if (key == "path") {
          if (s.empty() || s[0] != '/') {
            Error(kpath, kline, "must start with \"/\", got " + Quote(s));
          } else if (HasSpaceOrControl(s)) {
            Error(kpath, kline, "must not contain spaces or control characters");
          }
          http->path = std::move(s);
        } else if (key == "host" || key == "server-name") {
          if (HasSpaceOrControl(s)) {
            Error(kpath, kline, "must not contain spaces or control characters");
          }
          (key == "host" ? http->host : http->server_name) = std::move(s);
        } else if (key == "response-code") {
          if (!ParseResponseCodes(s, &http->response_code_min, &http->response_code_max)) {
            Error(kpath, kline, "must be N or N-M with 100 <= N <= M <= 599, got " + Quote(s));
          }
        } else {
          RE2 re(s, RE2::Quiet);
          if (!re.ok()) Error(kpath, kline, "invalid regexp: " + re.error());
          http->response_regexp = std::move(s);
        }
        return absl::OkStatus();
      });
}

absl::Status Loader::ParseTcp(const YAML::Node& node, const std::string& path, int line,
                              TcpParams* tcp) {
  static const std::vector<std::string_view> kKeys = {"ssl", "server-name", "insecure-skip-verify"};
  return ForEachEntry(node, path, line, &kKeys,
                      [&](const std::string& key, const std::string& kpath, int kline,
                          const YAML::Node& v) -> absl::Status {
                        if (key == "ssl") {
                          MAGLEV_ASSIGN_OR_RETURN(tcp->ssl, ReadBool(v, kpath, kline));
                        } else if (key == "insecure-skip-verify") {
                          MAGLEV_ASSIGN_OR_RETURN(tcp->insecure_skip_verify,
                                                  ReadBool(v, kpath, kline));
                        } else {
                          MAGLEV_ASSIGN_OR_RETURN(tcp->server_name, ReadString(v, kpath, kline));
                          if (HasSpaceOrControl(tcp->server_name)) {
                            Error(kpath, kline, "must not contain spaces or control characters");
                          }
                        }
                        return absl::OkStatus();
                      });
}

absl::Status Loader::ParseBackend(const std::string& name, const YAML::Node& node,
                                  const std::string& path, int line) {
  static const std::vector<std::string_view> kKeys = {"address", "healthcheck", "enabled",
                                                      "slow-start", "drain-timeout"};
  CheckName(name, path, line);
  Backend be;
  be.name = name;
  be.line = line;
  bool have_address = false, address_unusable = false;
  auto on_entry = [&](const std::string& key, const std::string& kpath, int kline,
                      const YAML::Node& v) -> absl::Status {
    if (key == "address") {
      MAGLEV_ASSIGN_OR_RETURN(be.address, ReadAddress(v, kpath, kline));
      have_address = true;
      if (std::string why = DataplaneAddressProblem(be.address); !why.empty()) {
        Error(kpath, kline, why);
        address_unusable = true;
      }
    } else if (key == "healthcheck") {
      MAGLEV_ASSIGN_OR_RETURN(be.healthcheck, ReadString(v, kpath, kline));
      backend_healthcheck_sites_[name] = {kpath, kline};
    } else if (key == "slow-start") {
      MAGLEV_ASSIGN_OR_RETURN(Duration d, ReadDuration(v, kpath, kline));
      if (d < Duration::zero()) Error(kpath, kline, "must be >= 0");
      be.slow_start = d;
    } else if (key == "drain-timeout") {
      MAGLEV_ASSIGN_OR_RETURN(be.drain_timeout, ReadDuration(v, kpath, kline));
      if (be.drain_timeout <= Duration::zero()) Error(kpath, kline, "must be > 0");
    } else {
      MAGLEV_ASSIGN_OR_RETURN(be.enabled, ReadBool(v, kpath, kline));
    }
    return absl::OkStatus();
  };
  MAGLEV_RETURN_IF_ERROR(ForEachEntry(node, path, line, &kKeys, on_entry));
  if (!have_address) Error(path, line, "missing address");
  if (!have_address || address_unusable) backends_without_address_.insert(name);
  config_.backends[name] = std::move(be);
  return absl::OkStatus();
}

absl::Status Loader::ParseFrontend(const std::string& name, const YAML::Node& node,
                                   const std::string& path, int line) {
  static const std::vector<std::string_view> kKeys = {
      "description",   "address",       "protocol",       "port",
      "src-ip-sticky", "flush-on-down", "failback-delay", "pools"};
  CheckName(name, path, line);
  Frontend fe;
  fe.name = name;
  fe.line = line;
  FrontendSite site{name, path, line, {}};
  bool have_address = false, have_pools = false, address_unusable = false;
  Site port_site;
  int64_t port = 0;
  auto on_entry = [&](const std::string& key, const std::string& kpath, int kline,
                      const YAML::Node& v) -> absl::Status {
    if (key == "description") {
      MAGLEV_ASSIGN_OR_RETURN(fe.description, ReadString(v, kpath, kline));
    } else if (key == "address") {
      MAGLEV_ASSIGN_OR_RETURN(fe.address, ReadAddress(v, kpath, kline));
      have_address = true;
      if (std::string why = DataplaneAddressProblem(fe.address); !why.empty()) {
        Error(kpath, kline, why);
        address_unusable = true;
      }
    } else if (key == "protocol") {
      MAGLEV_ASSIGN_OR_RETURN(std::string p, ReadString(v, kpath, kline));
      if (p == "tcp") {
        fe.protocol = Protocol::kTcp;
      } else if (p == "udp") {
        fe.protocol = Protocol::kUdp;
      } else if (p == "any") {
        fe.protocol = Protocol::kAny;
      } else {
        return ParseError(kpath, kline, "invalid protocol " + Quote(p) + " (want tcp, udp or any)");
      }
    } else if (key == "port") {
      MAGLEV_ASSIGN_OR_RETURN(port, ReadInt(v, kpath, kline));
      port_site = {kpath, kline};
    } else if (key == "src-ip-sticky") {
      MAGLEV_ASSIGN_OR_RETURN(fe.src_ip_sticky, ReadBool(v, kpath, kline));
    } else if (key == "flush-on-down") {
      MAGLEV_ASSIGN_OR_RETURN(fe.flush_on_down, ReadBool(v, kpath, kline));
    } else if (key == "failback-delay") {
      MAGLEV_ASSIGN_OR_RETURN(fe.failback_delay, ReadDuration(v, kpath, kline));
      if (fe.failback_delay < Duration::zero()) Error(kpath, kline, "must be >= 0");
    } else {
      have_pools = true;
      MAGLEV_RETURN_IF_ERROR(ParsePools(v, kpath, kline, &fe, &site));
      if (fe.pools.empty()) Error(kpath, kline, "no pools");
    }
    return absl::OkStatus();
  };
  MAGLEV_RETURN_IF_ERROR(ForEachEntry(node, path, line, &kKeys, on_entry));
  if (!have_address) Error(path, line, "missing address");
  const char* proto = ProtocolName(fe.protocol);
  bool port_ok = false;
  if (fe.protocol == Protocol::kAny) {
    port_ok = port == 0;
    if (!port_ok) {
      Error(port_site.path, port_site.line, absl::StrCat("must be 0 for protocol any, got ", port));
    }
  } else if (!port_site.line) {
    Error(path, line, absl::StrCat("missing port (required for protocol ", proto, ")"));
  } else if (port < 1 || port > 65535) {
    Error(port_site.path, port_site.line,
          absl::StrCat("must be within 1..65535 for protocol ", proto, ", got ", port));
  } else {
    port_ok = true;
  }
  if (port_ok) fe.port = static_cast<uint16_t>(port);
  if (!have_address || address_unusable || !port_ok) frontends_without_vip_.insert(name);
  if (!have_pools) Error(path, line, "no pools");
  config_.frontends[name] = std::move(fe);
  frontend_sites_.push_back(std::move(site));
  return absl::OkStatus();
}

absl::Status Loader::ParsePools(const YAML::Node& node, const std::string& path, int line,
                                Frontend* fe, FrontendSite* site) {
  static const std::vector<std::string_view> kPoolKeys = {"name", "backends"};
  static const std::vector<std::string_view> kBackendKeys = {"weight"};
  if (node.IsNull()) return absl::OkStatus();
  if (!node.IsSequence()) return ParseError(path, line, "expected a list, got " + Describe(node));
  std::map<std::string, size_t> names;  // pool name -> index
  for (size_t i = 0; i < node.size(); ++i) {
    const YAML::Node item = node[i];
    std::string ppath = absl::StrCat(path, "[", i, "]");
    int pline = LineOf(item, line);
    MAGLEV_RETURN_IF_ERROR(Budget(pline));
    if (!item.IsMap() && !item.IsNull()) {
      return ParseError(ppath, pline, "expected a map, got " + Describe(item));
    }
    Pool pool;
    PoolSite psite{ppath, pline, {}};
    bool have_name = false, have_backends = false;
    MAGLEV_RETURN_IF_ERROR(ForEachEntry(
        item, ppath, pline, &kPoolKeys,
        [&](const std::string& key, const std::string& kpath, int kline,
            const YAML::Node& v) -> absl::Status {
          if (key == "name") {
            MAGLEV_ASSIGN_OR_RETURN(pool.name, ReadString(v, kpath, kline));
            have_name = true;
            if (pool.name.empty() || HasSpaceOrControl(pool.name)) {
              CheckName(pool.name, kpath, kline);
            } else if (auto [it, inserted] = names.emplace(pool.name, i); !inserted) {
              Error(kpath, kline,
                    absl::StrCat("duplicate pool name ", Quote(pool.name), " (also pools[",
                                 it->second, "])"));
            }
            return absl::OkStatus();
          }
          have_backends = true;
          MAGLEV_RETURN_IF_ERROR(ForEachEntry(
              v, kpath, kline, nullptr,
              [&](const std::string& be_name, const std::string& bpath, int bline,
                  const YAML::Node& bv) -> absl::Status {
                PoolBackend pb;
                pb.backend = be_name;
                MAGLEV_RETURN_IF_ERROR(ForEachEntry(
                    bv, bpath, bline, &kBackendKeys,
                    [&](const std::string&, const std::string& wpath, int wline,
                        const YAML::Node& w) -> absl::Status {
                      MAGLEV_ASSIGN_OR_RETURN(int64_t weight, ReadInt(w, wpath, wline));
                      if (weight < 0 || weight > 100) {
                        Error(wpath, wline, absl::StrCat("must be within 0..100, got ", weight));
                      } else {
                        pb.weight = static_cast<int>(weight);
                      }
                      return absl::OkStatus();
                    }));
                pool.backends.push_back(std::move(pb));
                psite.backends.push_back({be_name, bpath, bline});
                return absl::OkStatus();
              }));
          if (pool.backends.empty()) Error(kpath, kline, "no backends");
          return absl::OkStatus();
        }));
    if (!have_name) Error(ppath, pline, "missing name");
    if (!have_backends) Error(ppath, pline, "no backends");
    fe->pools.push_back(std::move(pool));
    site->pools.push_back(std::move(psite));
  }
  return absl::OkStatus();
}

void Loader::Validate() {
  for (const auto& [name, site] : backend_healthcheck_sites_) {
    const std::string& hc = config_.backends[name].healthcheck;
    if (!config_.healthchecks.count(hc))
      Error(site.path, site.line, "unknown healthcheck " + Quote(hc));
  }

  struct Vip {
    const Frontend* frontend;
    std::optional<IpAddress::Family> backend_family;  // of its first backend
  };
  std::vector<Vip> earlier;
  for (const FrontendSite& fs : frontend_sites_) {
    const Frontend& fe = config_.frontends[fs.name];
    std::map<std::string, std::string> pool_of;                       // backend -> first pool
    std::map<IpAddress, std::string> backend_at;                      // address -> first backend
    std::optional<std::pair<IpAddress::Family, std::string>> family;  // first backend's
    bool has_v4 = false, has_v6 = false;
    for (size_t p = 0; p < fs.pools.size(); ++p) {
      for (const PoolBackendSite& pb : fs.pools[p].backends) {
        auto it = config_.backends.find(pb.name);
        if (it == config_.backends.end()) {
          Error(pb.path, pb.line, "unknown backend " + Quote(pb.name));
          continue;
        }
        const std::string& pool_name = fe.pools[p].name;
        if (auto [prev, inserted] = pool_of.emplace(pb.name, pool_name); !inserted) {
          Error(pb.path, pb.line,
                absl::StrCat("backend ", Quote(pb.name), " already in pool ", Quote(prev->second)));
          continue;
        }
        if (backends_without_address_.count(pb.name)) continue;
        const IpAddress& addr = it->second.address;
        if (auto [prev, inserted] = backend_at.emplace(addr, pb.name); !inserted) {
          Error(pb.path, pb.line,
                absl::StrCat("backend ", Quote(pb.name), " has the same address (", addr.ToString(),
                             ") as backend ", Quote(prev->second)));
          continue;
        }
        (addr.is_v4() ? has_v4 : has_v6) = true;
        if (!family) {
          family.emplace(addr.family(), pb.name);
        } else if (family->first != addr.family()) {
          Error(pb.path, pb.line,
                absl::StrCat("backend ", Quote(pb.name), " is ", FamilyName(addr), " but backend ",
                             Quote(family->second), " is ", addr.is_v4() ? "ipv6" : "ipv4",
                             " (one family per frontend)"));
        }
      }
    }
    if (has_v4 && !ipv4_src_present_) {
      Error(fs.path, fs.line, "has ipv4 backends but vpp.lb.ipv4-src-address is not set");
    }
    if (has_v6 && !ipv6_src_present_) {
      Error(fs.path, fs.line, "has ipv6 backends but vpp.lb.ipv6-src-address is not set");
    }

    // VIP identity: address + protocol + port; an all-port VIP owns the address.
    // VPP also wants one encap (so one backend family) for all the per-port
    // VIPs of an address.
    if (frontends_without_vip_.count(fs.name)) continue;
    std::optional<IpAddress::Family> backend_family;
    if (family) backend_family = family->first;
    for (const Vip& vip : earlier) {
      const Frontend& other = *vip.frontend;
      if (other.address != fe.address) continue;
      if (fe.protocol == Protocol::kAny || other.protocol == Protocol::kAny ||
          (fe.protocol == other.protocol && fe.port == other.port)) {
        std::string id = fe.address.ToString() + " " + ProtocolName(fe.protocol);
        if (fe.protocol != Protocol::kAny) absl::StrAppend(&id, "/", fe.port);
        Error(fs.path, fs.line,
              absl::StrCat("vip ", id, " conflicts with frontend ", Quote(other.name)));
        break;
      }
      if (backend_family && vip.backend_family && *backend_family != *vip.backend_family) {
        bool v4 = *backend_family == IpAddress::Family::kV4;
        Error(fs.path, fs.line,
              absl::StrCat("has ", v4 ? "ipv4" : "ipv6", " backends but frontend ",
                           Quote(other.name), " on the same address has ", v4 ? "ipv6" : "ipv4",
                           " (one family per vip address)"));
        break;
      }
    }
    earlier.push_back({&fe, backend_family});
  }
}

std::string Loader::SemanticErrors() {
  std::stable_sort(errors_.begin(), errors_.end(),
                   [](const SemanticError& a, const SemanticError& b) { return a.line < b.line; });
  std::string out;
  for (const SemanticError& e : errors_) {
    if (!out.empty()) out += '\n';
    out += e.text;
  }
  return out;
}

ConfigResult Fail(ConfigErrorKind kind, std::string error) {
  ConfigResult r;
  r.kind = kind;
  r.error = std::move(error);
  return r;
}

// Counts documents and ignores everything else.
class DocumentCounter : public YAML::EventHandler {
 public:
  // Where the documents seen so far start.
  const std::vector<YAML::Mark>& starts() const { return starts_; }
  void OnDocumentStart(const YAML::Mark& mark) override { starts_.push_back(mark); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}

 private:
  std::vector<YAML::Mark> starts_;
};

ConfigResult ParseConfigOrThrow(std::string_view yaml_text) {
  std::string text(yaml_text);
  {
    // Not YAML::LoadAll: on a stray flow token such as "," (found by
    // fuzzing) yaml-cpp's parser emits empty documents without consuming
    // input, and LoadAll collects them forever. Two documents are enough to
    // know, and two starting at the same place mean that bug.
    std::istringstream in(text);
    YAML::Parser parser(in);
    DocumentCounter counter;
    while (counter.starts().size() < 2 && parser.HandleNextDocument(counter)) {
    }
    if (counter.starts().size() > 1) {
      const YAML::Mark& first = counter.starts()[0];
      const YAML::Mark& second = counter.starts()[1];
      int line = second.line >= 0 ? second.line + 1 : 1;
      if (second.pos == first.pos && second.pos >= 0 &&
          static_cast<size_t>(second.pos) < text.size()) {
        return Fail(ConfigErrorKind::kParse,
                    FormatError(kDocument, line,
                                "invalid yaml: unexpected " +
                                    Quote(std::string_view(text).substr(second.pos, 1))));
      }
      return Fail(ConfigErrorKind::kParse,
                  FormatError(kDocument, line, "more than one yaml document"));
    }
  }
  YAML::Node root = YAML::Load(text);
  Loader loader;
  absl::Status parsed = loader.ParseDocument(root);
  if (!parsed.ok()) return Fail(ConfigErrorKind::kParse, std::string(parsed.message()));
  loader.Validate();
  std::string errors = loader.SemanticErrors();
  if (!errors.empty()) return Fail(ConfigErrorKind::kSemantic, std::move(errors));
  ConfigResult r;
  r.config = std::make_shared<const Config>(std::move(loader.config()));
  return r;
}

}  // namespace

const char* ConfigErrorKindName(ConfigErrorKind kind) {
  switch (kind) {
    case ConfigErrorKind::kNone:
      return "ok";
    case ConfigErrorKind::kParse:
      return "parse";
    case ConfigErrorKind::kSemantic:
      return "semantic";
  }
  return "?";
}

ConfigResult ParseConfig(std::string_view yaml_text) {
  // yaml-cpp reports everything by exception; none may leave this module.
  try {
    return ParseConfigOrThrow(yaml_text);
  } catch (const YAML::DeepRecursion& e) {
    // yaml-cpp gives this one the message "bad file".
    int line = e.mark.line >= 0 ? e.mark.line + 1 : 1;
    return Fail(ConfigErrorKind::kParse,
                FormatError(kDocument, line, "invalid yaml: nesting too deep"));
  } catch (const YAML::Exception& e) {
    int line = e.mark.line >= 0 ? e.mark.line + 1 : 1;
    return Fail(ConfigErrorKind::kParse,
                FormatError(kDocument, line, "invalid yaml: " + Escape(e.msg)));
  } catch (const std::exception& e) {
    return Fail(ConfigErrorKind::kParse,
                FormatError(kDocument, 1, "cannot load: " + Escape(e.what())));
  }
}

ConfigResult LoadConfigFile(const std::string& path) {
  auto fail = [&](int err) {
    std::string reason = std::strerror(err);
    if (!reason.empty()) reason[0] = static_cast<char>(std::tolower(reason[0]));
    return Fail(ConfigErrorKind::kParse, path + ": cannot read: " + reason);
  };
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return fail(errno);
  std::string text;
  char buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) {
    text.append(buf, n);
    if (text.size() > kMaxFileBytes) {
      std::fclose(f);
      return Fail(ConfigErrorKind::kParse,
                  absl::StrCat(path, ": cannot read: file larger than ", kMaxFileBytes, " bytes"));
    }
  }
  int err = std::ferror(f) ? errno : 0;
  std::fclose(f);
  if (err) return fail(err);
  return ParseConfig(text);
}

}  // namespace maglev
