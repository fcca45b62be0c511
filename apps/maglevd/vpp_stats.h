// SPDX-License-Identifier: Apache-2.0
// maglevd's VPP stats side: the API's VppStats over the StatsScraper
// (latest and previous sample, keyed by VIP), and the Prometheus collectors
// of the per-frontend traffic counters.
//
// Threading: Counters() and BoottimeNs() from any thread; the collectors run
// where the metrics server runs them (the core loop, which owns `pipeline`).
#pragma once

#include <chrono>

#include "api/vpp_stats.h"
#include "core/pipeline.h"
#include "metrics/metrics.h"
#include "vpp/stats_scraper.h"

namespace maglev {

class ScraperVppStats : public VppStats {
 public:
  explicit ScraperVppStats(const StatsScraper& scraper) : scraper_(scraper) {}
  absl::StatusOr<VppCountersReading> Counters(const std::vector<VipKey>& keys) const override;
  int64_t BoottimeNs() const override;

 private:
  const StatsScraper& scraper_;
};

// The counters of `keys` in `latest` (and `previous`, for the same VIP pool
// index only). Pure.
VppCountersReading ReadingFromSamples(const StatsSample& latest,
                                      const std::optional<StatsSample>& previous,
                                      std::chrono::milliseconds interval,
                                      const std::vector<VipKey>& keys);

// maglev_vpp_stats_up, maglev_vpp_vip_packets_total{frontend,kind},
// maglev_vpp_vip_route_{packets,bytes}_total{frontend}: every configured
// frontend, 0 until traffic flowed (or while the stats segment is off or
// unreachable). `stats` may be null (off).
void AddVppStatsCollectors(MetricsRegistry& registry, const Pipeline& pipeline,
                           const VppStats* stats);

}  // namespace maglev
