// SPDX-License-Identifier: Apache-2.0
// The API side of the stats scrape: what keys each VIP's counters in VPP's
// stats segment. The binary API does not expose a VIP's pool index, so it is
// read from `show lb vips verbose` (cli_inband) on a VPP API connection of
// its own (client name "vpp-maglev-stats"), separate from the reconciler's:
// the scrape never waits behind a sync, and a sync never behind a scrape.
// Resolve() is called before every stats read, so a VIP that was deleted,
// re-created or added is keyed right from the next sample on.
//
// Route stats_index: /net/route/to is keyed by the load-balance index of the
// VIP's FIB entry (ip_route_lookup, table 0, exact). A route is looked up
// again when its VIP's pool index changes (a re-created VIP may get another
// load-balance) and every `route_refresh` resolves anyway; a VPP without
// ip_route_lookup leaves route_stats_index unset (route counters unknown).
//
// Threading: blocking; owned and called by the scrape thread only.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "vpp/lb_client.h"
#include "vpp/stats_scraper.h"

namespace maglev {

class StatsIndexResolver {
 public:
  StatsIndexResolver(std::string api_socket, std::chrono::milliseconds timeout,
                     int route_refresh = 12);
  ~StatsIndexResolver();

  // Connects when needed; a failure closes the connection (the next call
  // reconnects) and is returned as Unavailable naming the socket.
  absl::StatusOr<std::vector<StatsVipIndex>> Resolve();

 private:
  std::string api_socket_;
  std::chrono::milliseconds timeout_;
  int route_refresh_;
  int resolves_ = 0;
  std::unique_ptr<LbClient> client_;
  // (address, plen) -> (pool index of the VIP when looked up, stats_index).
  std::map<std::pair<IpAddress, uint8_t>, std::pair<uint32_t, std::optional<uint32_t>>> routes_;
};

}  // namespace maglev
