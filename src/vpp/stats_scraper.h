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
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "common/mutex.h"
#include "vpp/stats_segment.h"

namespace maglev {

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
};

class StatsScraper {
 public:
  struct Options {
    std::string socket_path;  // empty: the scraper is off
    std::chrono::milliseconds interval{5000};
    std::chrono::milliseconds heartbeat_stall{35000};
    StatsSegmentOptions segment;
  };
  explicit StatsScraper(Options options);
  ~StatsScraper();

  void Start();
  void Stop();
  // The latest sample, or Unavailable saying why there is none (off,
  // unreachable, refused segment).
  absl::StatusOr<StatsSample> Latest() const;
  // One scrape on the caller's thread.
  void ScrapeOnce();

 private:
  void Run();

  Options options_;
  std::unique_ptr<StatsSegment> segment_;  // scrape thread only
  uint64_t last_heartbeat_ = 0;
  std::chrono::steady_clock::time_point heartbeat_moved_{};
  mutable Mutex mu_;
  absl::StatusOr<StatsSample> latest_ ABSL_GUARDED_BY(mu_);
  CondVar cv_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace maglev
