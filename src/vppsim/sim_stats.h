// SPDX-License-Identifier: Apache-2.0
// What the simulated VPP publishes in its stats segment (STATS.md §4, §6):
// /sys/heartbeat, /sys/last_stats_clear and /sys/boottime at indices 0..2,
// /net/route/to and /net/route/via (combined, [thread][load-balance index]),
// and the lb plugin's four per-VIP counters (simple, [thread][VIP index]),
// created at the first VIP add under their verbatim names. It is the
// LbModel's counter sink: every count the model makes is mirrored here.
// Threading: the simulator's loop thread only.
#pragma once

#include <array>
#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "vppsim/lb_model.h"
#include "vppsim/stats_writer.h"

namespace maglev::vppsim {

class SimStats : public LbStatsSink {
 public:
  // `boottime`: Unix seconds of the simulated VPP's start.
  static absl::StatusOr<std::unique_ptr<SimStats>> Create(StatsWriter::Options options,
                                                          uint64_t boottime);

  StatsWriter& writer() { return *writer_; }
  // One stats-collector pass: /sys/heartbeat + 1.
  void Heartbeat();
  uint64_t heartbeat() const { return heartbeat_value_; }

  void ResetVipCounters(uint32_t vip_index) override;
  void CountVip(LbVipCounter counter, uint32_t thread, uint32_t vip_index) override;
  void ResetRoute(uint32_t lb_index) override;
  void CountRoute(uint32_t thread, uint32_t lb_index, uint64_t bytes) override;

 private:
  explicit SimStats(std::unique_ptr<StatsWriter> writer) : writer_(std::move(writer)) {}

  std::unique_ptr<StatsWriter> writer_;
  uint32_t heartbeat_ = 0;
  uint64_t heartbeat_value_ = 0;
  uint32_t route_to_ = ~0u;
  uint32_t route_via_ = ~0u;
  std::array<uint32_t, kNumVipCounters> lb_{~0u, ~0u, ~0u, ~0u};
};

}  // namespace maglev::vppsim
