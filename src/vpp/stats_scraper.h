// SPDX-License-Identifier: Apache-2.0
// maglevd's stats scrape loop: on its own thread (never the core loop),
// every `interval` it (re)connects to VPP's stats socket when needed, reads
// /sys/boottime, /sys/heartbeat, the lb plugin's four per-VIP counters and
// /net/route/to in one consistent read, and keeps the sums over threads as
// the latest sample. A heartbeat that stops moving for `heartbeat_stall`
// (a VPP that exited leaves a frozen mapping) or a failed read drops the
// mapping; the next scrape reconnects. The VIP pool indices and route
// stats_indexes that key the sample come from the API (show lb vips verbose,
// ip_route_lookup), not from here.
//
// Threading: Start/Stop from one thread; Latest() from any thread (a small
// mutex-guarded copy). ScrapeOnce() is for tests, without Start().
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "common/mutex.h"
#include "lb/vip.h"
#include "vpp/stats_segment.h"

namespace maglev {

// What the API side says keys a VIP's counters: its pool index (show lb vips
// verbose) and its route's stats_index (ip_route_lookup), by VIP key.
struct StatsVipIndex {
  VipKey key;  // normalized
  uint32_t pool_index = 0;
  bool removed = false;  // deleted, awaiting GC (its counters are stale)
  std::optional<uint32_t> route_stats_index;
};

// One VIP's values in a sample.
struct StatsVipCounters {
  bool in_vpp = false;  // a live VIP of that key is in the index
  uint32_t pool_index = 0;
  std::optional<uint32_t> route_stats_index;
  std::array<uint64_t, 4> lb{};  // VPP's order
  StatsCombined route;
};

struct StatsSample {
  std::chrono::system_clock::time_point time;  // when the read was made
  uint64_t epoch = 0;
  uint64_t boottime_s = 0;  // /sys/boottime: Unix seconds of VPP's start (0: unknown)
  uint64_t heartbeat = 0;
  // [VIP pool index][counter], summed over threads; counters in VPP's order:
  // existing sessions, first session packet, untracked, no server.
  std::vector<std::array<uint64_t, 4>> vip;
  // /net/route/to by load-balance (stats_index), summed over threads.
  std::vector<StatsCombined> route_to;

  std::array<uint64_t, 4> Vip(uint32_t index) const {
    return index < vip.size() ? vip[index] : std::array<uint64_t, 4>{};
  }
  StatsCombined Route(uint32_t stats_index) const {
    return stats_index < route_to.size() ? route_to[stats_index] : StatsCombined{};
  }
  // The API-side index in force when this sample was read (empty when no
  // resolver is set or it failed; see index_error).
  std::vector<StatsVipIndex> index;
  std::string index_error;
  // The counters of the live VIP with `key` (normalized by the callee).
  StatsVipCounters ForVip(const VipKey& key) const;
};

// Turns a `show lb vips verbose` listing and route lookups into the index.
// Pure.
std::vector<StatsVipIndex> StatsIndexFromCli(std::string_view show_lb_vips_verbose);

class StatsScraper {
 public:
  struct Options {
    std::string socket_path;  // empty: the scraper is off
    std::chrono::milliseconds interval{5000};
    std::chrono::milliseconds heartbeat_stall{35000};
    StatsSegmentOptions segment;
    // Called on the scrape thread before every read: the VIP index from the
    // API side (its failure is kept in StatsSample::index_error and does
    // not fail the sample). Unset: no index.
    std::function<absl::StatusOr<std::vector<StatsVipIndex>>()> resolve_index;
  };
  explicit StatsScraper(Options options);
  ~StatsScraper();

  void Start();
  void Stop();
  // The latest sample, or Unavailable saying why there is none (off,
  // unreachable, refused segment).
  absl::StatusOr<StatsSample> Latest() const;
  // The successful sample before the latest one (nullopt: none yet, or the
  // latest read failed).
  std::optional<StatsSample> Previous() const;
  // The latest and the previous sample taken under one lock.
  std::pair<absl::StatusOr<StatsSample>, std::optional<StatsSample>> LatestTwo() const;
  const Options& options() const { return options_; }
  // One scrape on the caller's thread.
  void ScrapeOnce();

 private:
  void Run();

  Options options_;
  std::unique_ptr<StatsSegment> segment_;  // scrape thread only
  uint64_t last_heartbeat_ = 0;
  std::chrono::steady_clock::time_point heartbeat_moved_{};
  std::string last_error_, last_index_error_;  // scrape thread only (logging)
  bool logged_ok_ = false;
  mutable Mutex mu_;
  absl::StatusOr<StatsSample> latest_ ABSL_GUARDED_BY(mu_);
  std::optional<StatsSample> previous_ ABSL_GUARDED_BY(mu_);
  CondVar cv_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace maglev
