#include "config/config.h"

#include <set>

namespace maglev {

const char* CheckTypeName(CheckType t) {
  switch (t) {
    case CheckType::kIcmp:
      return "icmp";
    case CheckType::kTcp:
      return "tcp";
    case CheckType::kHttp:
      return "http";
    case CheckType::kHttps:
      return "https";
  }
  return "?";
}

const char* ProtocolName(Protocol p) {
  switch (p) {
    case Protocol::kTcp:
      return "tcp";
    case Protocol::kUdp:
      return "udp";
    case Protocol::kAny:
      return "any";
  }
  return "?";
}

bool HealthCheck::SameProbe(const HealthCheck& o) const {
  return type == o.type && port == o.port && interval == o.interval &&
         fast_interval == o.fast_interval && down_interval == o.down_interval &&
         timeout == o.timeout && rise == o.rise && fall == o.fall &&
         probe_ipv4_src == o.probe_ipv4_src && probe_ipv6_src == o.probe_ipv6_src &&
         http == o.http && tcp == o.tcp;
}

Duration Config::SlowStartOf(const Backend& b) const {
  if (b.slow_start) return *b.slow_start;
  auto hc = healthchecks.find(b.healthcheck);
  return hc == healthchecks.end() ? Duration::zero() : hc->second.slow_start;
}

std::vector<std::string> Config::ReferencedBackends() const {
  std::set<std::string> names;
  for (const auto& [_, fe] : frontends)
    for (const auto& pool : fe.pools)
      for (const auto& pb : pool.backends) names.insert(pb.backend);
  return {names.begin(), names.end()};
}

const PoolBackend* Config::FindPoolBackend(const std::string& frontend, const std::string& pool,
                                           const std::string& backend) const {
  auto it = frontends.find(frontend);
  if (it == frontends.end()) return nullptr;
  for (const Pool& p : it->second.pools) {
    if (p.name != pool) continue;
    for (const PoolBackend& pb : p.backends)
      if (pb.backend == backend) return &pb;
  }
  return nullptr;
}

}  // namespace maglev
