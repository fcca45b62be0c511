// SPDX-License-Identifier: Apache-2.0
#include "vpp_stats.h"

#include "lb/desired_vip.h"

namespace maglev {
namespace {

int64_t UnixNs(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

VppVipCounterValues Values(const StatsVipCounters& c) {
  VppVipCounterValues v;
  v.lb = c.lb;
  v.route_packets = c.route.packets;
  v.route_bytes = c.route.bytes;
  return v;
}

}  // namespace

VppCountersReading ReadingFromSamples(const StatsSample& latest,
                                      const std::optional<StatsSample>& previous,
                                      std::chrono::milliseconds interval,
                                      const std::vector<VipKey>& keys) {
  VppCountersReading r;
  r.time_ns = UnixNs(latest.time);
  r.previous_time_ns = previous ? UnixNs(previous->time) : 0;
  r.interval_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(interval).count();
  for (const VipKey& k : keys) {
    StatsVipCounters now = latest.ForVip(k);
    VppVipCounters c;
    c.in_vpp = now.in_vpp;
    c.vip_index = now.pool_index;
    c.route_stats_index = now.route_stats_index;
    if (now.in_vpp) c.now = Values(now);
    if (previous && now.in_vpp) {
      StatsVipCounters before = previous->ForVip(k);
      if (before.in_vpp && before.pool_index == now.pool_index) c.previous = Values(before);
    }
    r.vips.push_back(c);
  }
  return r;
}

absl::StatusOr<VppCountersReading> ScraperVppStats::Counters(
    const std::vector<VipKey>& keys) const {
  auto [latest, previous] = scraper_.LatestTwo();
  if (!latest.ok()) return latest.status();
  if (!latest->index_error.empty()) {
    return absl::UnavailableError("VPP stats segment read, but " + latest->index_error);
  }
  return ReadingFromSamples(*latest, previous, scraper_.options().interval, keys);
}

int64_t ScraperVppStats::BoottimeNs() const {
  absl::StatusOr<StatsSample> s = scraper_.Latest();
  if (!s.ok() || s->boottime_s == 0) return 0;
  return static_cast<int64_t>(s->boottime_s) * 1000000000;
}

void AddVppStatsCollectors(MetricsRegistry& registry, const Pipeline& pipeline,
                           const VppStats* stats) {
  registry.AddCollector([&pipeline, stats](MetricsWriter& w) {
    using T = MetricsWriter::Type;
    std::vector<std::string> names;
    std::vector<VipKey> keys;
    for (const auto& [name, fe] : pipeline.config().frontends) {
      names.push_back(name);
      keys.push_back(FrontendVipKey(fe));
    }
    absl::StatusOr<VppCountersReading> r =
        stats ? stats->Counters(keys) : absl::UnavailableError("off");
    w.Family("maglev_vpp_stats_up", T::kGauge,
             "1 when the latest read of VPP's stats segment (and of the VIP index) succeeded.");
    w.Sample("maglev_vpp_stats_up", {}, r.ok() ? 1 : 0);
    static const char* kKinds[4] = {"existing_session", "first_session", "untracked", "no_server"};
    auto value = [&](size_t i) -> VppVipCounterValues {
      if (!r.ok() || i >= r->vips.size()) return {};
      return r->vips[i].now;
    };
    w.Family("maglev_vpp_vip_packets_total", T::kCounter,
             "Packets VPP's lb plugin handled at the frontend's VIP, by kind (summed over "
             "threads; restarts from 0 when the VIP is re-created).");
    for (size_t i = 0; i < names.size(); ++i) {
      VppVipCounterValues v = value(i);
      for (int k = 0; k < 4; ++k) {
        w.Sample("maglev_vpp_vip_packets_total", {{"frontend", names[i]}, {"kind", kKinds[k]}},
                 static_cast<double>(v.lb[k]));
      }
    }
    w.Family("maglev_vpp_vip_route_packets_total", T::kCounter,
             "Packets the FIB forwarded on the frontend VIP's route (/net/route/to).");
    for (size_t i = 0; i < names.size(); ++i) {
      w.Sample("maglev_vpp_vip_route_packets_total", {{"frontend", names[i]}},
               static_cast<double>(value(i).route_packets));
    }
    w.Family("maglev_vpp_vip_route_bytes_total", T::kCounter,
             "Bytes the FIB forwarded on the frontend VIP's route (/net/route/to).");
    for (size_t i = 0; i < names.size(); ++i) {
      w.Sample("maglev_vpp_vip_route_bytes_total", {{"frontend", names[i]}},
               static_cast<double>(value(i).route_bytes));
    }
  });
}

}  // namespace maglev
