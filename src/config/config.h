// Configuration value types: what maglevd runs from. Produced by the YAML
// loader (config/loader.h), immutable once loaded and shared as
// std::shared_ptr<const Config> by the core loop. Pure data; thread-agnostic.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/duration.h"
#include "common/ip_address.h"

namespace maglev {

enum class CheckType { kIcmp, kTcp, kHttp, kHttps };
const char* CheckTypeName(CheckType t);  // "icmp", "tcp", "http", "https"

struct HttpParams {
  std::string path = "/";
  std::string host;  // empty: the backend's address
  int response_code_min = 200;
  int response_code_max = 399;
  std::string response_regexp;  // empty: body not checked
  std::string server_name;      // SNI for https; empty: host, else the address
  bool insecure_skip_verify = false;
  friend bool operator==(const HttpParams&, const HttpParams&) = default;
};

struct TcpParams {
  bool ssl = false;
  std::string server_name;
  bool insecure_skip_verify = false;
  friend bool operator==(const TcpParams&, const TcpParams&) = default;
};

struct HealthCheck {
  std::string name;
  CheckType type = CheckType::kTcp;
  uint16_t port = 0;  // 0 for icmp
  Duration interval = std::chrono::seconds(2);
  Duration fast_interval = std::chrono::seconds(2);  // defaults to interval
  Duration down_interval = std::chrono::seconds(2);  // defaults to interval
  Duration timeout = std::chrono::seconds(1);
  int rise = 2;
  int fall = 3;
  std::optional<IpAddress> probe_ipv4_src;
  std::optional<IpAddress> probe_ipv6_src;
  HttpParams http;  // meaningful for http/https
  TcpParams tcp;    // meaningful for tcp
  // Slow start of the backends using this check (0: off); a backend's own
  // `slow-start` wins. Not a probe parameter.
  Duration slow_start{};
  int line = 0;  // YAML line of the definition, for messages
  // Two checks are "the same probe" when every probe parameter matches
  // (everything but name, line and slow_start).
  bool SameProbe(const HealthCheck& o) const;
};

struct Backend {
  std::string name;
  IpAddress address;
  std::string healthcheck;  // empty: no probing, assumed up
  bool enabled = true;
  // Ramp from a small share to the full weight after coming (back) up; unset:
  // the health check's `slow-start`.
  std::optional<Duration> slow_start;
  // How long `drain` lets existing flows finish before disabling (flush).
  Duration drain_timeout = std::chrono::minutes(5);
  int line = 0;
};

struct PoolBackend {
  std::string backend;
  int weight = 100;  // 0..100
};

struct Pool {
  std::string name;
  std::vector<PoolBackend> backends;  // in YAML order
};

enum class Protocol { kTcp, kUdp, kAny };
const char* ProtocolName(Protocol p);  // "tcp", "udp", "any"
inline uint8_t ProtocolNumber(Protocol p) {
  return p == Protocol::kTcp ? 6 : p == Protocol::kUdp ? 17 : 255;
}

struct Frontend {
  std::string name;
  std::string description;
  IpAddress address;
  Protocol protocol = Protocol::kTcp;
  uint16_t port = 0;
  bool src_ip_sticky = false;
  bool flush_on_down = true;
  // After a failover, traffic returns to a higher-priority pool only once
  // that pool has had an up backend for this long (0: at once).
  Duration failback_delay{};
  std::vector<Pool> pools;  // ordered: priority failover
  int line = 0;
};

struct HealthCheckerConfig {
  int transition_history = 5;
  std::string netns;
};

struct VppLbConfig {
  std::optional<IpAddress> ipv4_src_address;
  std::optional<IpAddress> ipv6_src_address;
  Duration sync_interval = std::chrono::seconds(30);
  uint32_t sticky_buckets_per_core = 65536;
  Duration flow_timeout = std::chrono::seconds(40);
  uint32_t new_flows_table_length = 1024;
  Duration startup_min_delay = std::chrono::seconds(5);
  Duration startup_max_delay = std::chrono::seconds(30);
  // How often maglevd reads VPP's stats segment (--vpp-stats-addr).
  Duration stats_interval = std::chrono::seconds(5);
};

// The route withdrawal hook (top-level `routes:`): who is told when a
// frontend becomes servable (at least one backend with a non-zero effective
// weight) or stops being so. Empty command / file: off.
struct RoutesConfig {
  // argv of the command run on every change (frontend, VIP and the new state
  // are appended); empty: none.
  std::vector<std::string> notify_command;
  Duration notify_timeout = std::chrono::seconds(10);
  // File listing the servable VIP addresses, rewritten atomically; "": none.
  std::string servable_file;
};

struct Config {
  HealthCheckerConfig healthchecker;
  VppLbConfig vpp_lb;
  RoutesConfig routes;
  std::map<std::string, HealthCheck> healthchecks;
  std::map<std::string, Backend> backends;
  std::map<std::string, Frontend> frontends;

  // Names of backends referenced by at least one frontend pool, sorted.
  std::vector<std::string> ReferencedBackends() const;
  // A backend's slow start: its own, else its health check's, else 0.
  Duration SlowStartOf(const Backend& b) const;
  // The pool entry `backend` of `frontend`'s pool `pool`, or nullptr.
  const PoolBackend* FindPoolBackend(const std::string& frontend, const std::string& pool,
                                     const std::string& backend) const;
};

}  // namespace maglev
