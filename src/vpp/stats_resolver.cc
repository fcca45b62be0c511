// SPDX-License-Identifier: Apache-2.0
#include "vpp/stats_resolver.h"

#include "absl/strings/str_cat.h"

namespace maglev {

StatsIndexResolver::StatsIndexResolver(std::string api_socket, std::chrono::milliseconds timeout,
                                       int route_refresh)
    : api_socket_(std::move(api_socket)), timeout_(timeout), route_refresh_(route_refresh) {}

StatsIndexResolver::~StatsIndexResolver() = default;

absl::StatusOr<std::vector<StatsVipIndex>> StatsIndexResolver::Resolve() {
  auto fail = [&](const absl::Status& st) -> absl::Status {
    client_.reset();
    routes_.clear();
    return absl::UnavailableError(
        absl::StrCat("VIP index from VPP's API at ", api_socket_, ": ", st.message()));
  };
  if (api_socket_.empty()) {
    return absl::UnavailableError("no VPP API socket (--vpp-api-addr \"\"): VIPs are not known");
  }
  if (!client_ || !client_->connected()) {
    client_ = std::make_unique<LbClient>("vpp-maglev-stats");
    if (absl::Status st = client_->Connect(api_socket_, timeout_); !st.ok()) return fail(st);
  }
  absl::StatusOr<std::string> text = client_->CliInband("show lb vips verbose");
  if (!text.ok()) return fail(text.status());
  std::vector<StatsVipIndex> index = StatsIndexFromCli(*text);
  if (route_refresh_ > 0 && ++resolves_ % route_refresh_ == 0) routes_.clear();
  std::map<std::pair<IpAddress, uint8_t>, std::pair<uint32_t, std::optional<uint32_t>>> routes;
  for (StatsVipIndex& e : index) {
    if (e.removed) continue;
    const auto key = std::make_pair(e.key.address, e.key.prefix_len);
    if (auto done = routes.find(key); done != routes.end()) {
      e.route_stats_index = done->second.second;  // per-port VIPs share the route
      continue;
    }
    auto old = routes_.find(key);
    if (old != routes_.end() && old->second.first == e.pool_index) {
      e.route_stats_index = old->second.second;
    } else {
      absl::StatusOr<uint32_t> si = client_->RouteStatsIndex(e.key.address, e.key.prefix_len);
      if (si.ok()) {
        e.route_stats_index = *si;
      } else if (!absl::IsNotFound(si.status()) && !absl::IsUnimplemented(si.status())) {
        return fail(si.status());
      }
    }
    routes.emplace(key, std::make_pair(e.pool_index, e.route_stats_index));
  }
  routes_ = std::move(routes);
  return index;
}

}  // namespace maglev
