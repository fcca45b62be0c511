// SPDX-License-Identifier: Apache-2.0
#include "vppsim/sim_stats.h"

namespace maglev::vppsim {

absl::StatusOr<std::unique_ptr<SimStats>> SimStats::Create(StatsWriter::Options options,
                                                           uint64_t boottime) {
  absl::StatusOr<std::unique_ptr<StatsWriter>> w = StatsWriter::Create(options);
  if (!w.ok()) return w.status();
  std::unique_ptr<SimStats> s(new SimStats(std::move(*w)));
  StatsWriter& wr = *s->writer_;
  // Fixed indices 0, 1, 2 (22.06+), then what vnet creates at start.
  s->heartbeat_ = wr.AddScalar("/sys/heartbeat", 0);
  wr.AddScalar("/sys/last_stats_clear", 0);
  wr.AddScalar("/sys/boottime", boottime);
  s->route_to_ = wr.AddCombinedCounter("/net/route/to");
  s->route_via_ = wr.AddCombinedCounter("/net/route/via");
  if (s->heartbeat_ != 0 || s->route_via_ == ~0u) {
    return absl::ResourceExhaustedError("stats segment too small");
  }
  // The collector's first pass.
  s->Heartbeat();
  return s;
}

void SimStats::Heartbeat() { writer_->SetScalar(heartbeat_, ++heartbeat_value_); }

void SimStats::ResetVipCounters(uint32_t vip_index) {
  for (uint32_t c = 0; c < kNumVipCounters; ++c) {
    if (lb_[c] == ~0u) lb_[c] = writer_->AddSimpleCounter(kLbVipCounterNames[c]);
    writer_->Validate(lb_[c], vip_index);
    writer_->Zero(lb_[c], vip_index);
  }
}

void SimStats::CountVip(LbVipCounter counter, uint32_t thread, uint32_t vip_index) {
  if (lb_[counter] == ~0u) return;
  // The placeholder's index 0 is covered by the first VIP's validation.
  writer_->Validate(lb_[counter], vip_index);
  writer_->AddSimple(lb_[counter], thread, vip_index, 1);
}

void SimStats::ResetRoute(uint32_t lb_index) {
  for (uint32_t e : {route_to_, route_via_}) {
    writer_->Validate(e, lb_index);
    writer_->Zero(e, lb_index);
  }
}

void SimStats::CountRoute(uint32_t thread, uint32_t lb_index, uint64_t bytes) {
  writer_->AddCombined(route_to_, thread, lb_index, 1, bytes);
}

}  // namespace maglev::vppsim
