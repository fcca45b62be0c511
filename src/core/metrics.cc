// SPDX-License-Identifier: Apache-2.0
#include "core/metrics.h"

#include <map>

namespace maglev {

namespace {

constexpr BackendState kAllStates[] = {BackendState::kUnknown, BackendState::kUp,
                                       BackendState::kDown, BackendState::kPaused,
                                       BackendState::kDisabled};
constexpr FrontendState kAllFrontendStates[] = {FrontendState::kUnknown, FrontendState::kUp,
                                                FrontendState::kDown};

void Collect(MetricsWriter& w, const Pipeline& pipeline) {
  const Checker& c = pipeline.checker();
  using T = MetricsWriter::Type;
  std::vector<BackendSnapshot> snaps;
  for (const std::string& name : c.BackendNames()) {
    if (auto s = c.GetBackend(name)) snaps.push_back(std::move(*s));
  }

  w.Family("maglev_build_info", T::kGauge, "Build information of maglevd.");
  w.Sample("maglev_build_info", {{"version", MAGLEV_VERSION}}, 1);

  w.Family("maglev_backend_state", T::kGauge,
           "Backend state: 1 for the current state, 0 for the others.");
  for (const auto& s : snaps)
    for (BackendState st : kAllStates)
      w.Sample("maglev_backend_state", {{"backend", s.name}, {"state", BackendStateName(st)}},
               s.state == st ? 1 : 0);

  w.Family("maglev_backend_health", T::kGauge, "Rise/fall health counter (0 .. rise+fall-1).");
  for (const auto& s : snaps) w.Sample("maglev_backend_health", {{"backend", s.name}}, s.counter);

  // Gentle changes: always present for every backend (1 / 0).
  const LbStage& lb = pipeline.lb();
  w.Family("maglev_backend_slow_start_share", T::kGauge,
           "Share of its weight a backend may carry during slow start (1 when not ramping).");
  for (const auto& s : snaps) {
    auto r = lb.ramp_shares().find(s.name);
    w.Sample("maglev_backend_slow_start_share", {{"backend", s.name}},
             r == lb.ramp_shares().end() ? 1.0 : r->second);
  }
  w.Family("maglev_backend_draining", T::kGauge,
           "1 while an operator's drain holds the backend at weight 0 before disabling it.");
  for (const auto& s : snaps)
    w.Sample("maglev_backend_draining", {{"backend", s.name}}, lb.draining().count(s.name));

  w.Family("maglev_backend_enabled", T::kGauge, "1 when the backend is enabled.");
  for (const auto& s : snaps)
    w.Sample("maglev_backend_enabled", {{"backend", s.name}}, s.enabled ? 1 : 0);

  w.Family("maglev_probes_total", T::kCounter,
           "Completed probes by backend, type, result and code.");
  for (const auto& s : snaps)
    for (const auto& [key, n] : s.stats.results) {
      const auto& [type, code] = key;
      w.Sample("maglev_probes_total",
               {{"backend", s.name},
                {"type", CheckTypeName(type)},
                {"result", ProbeCodePasses(code) ? "pass" : "fail"},
                {"code", std::string(ProbeCodeName(code))}},
               static_cast<double>(n));
    }

  // Durations aggregated per check type (per-backend histograms would be
  // thousands of series on a large installation).
  struct Agg {
    std::vector<uint64_t> counts = std::vector<uint64_t>(kProbeDurationBucketCount, 0);
    uint64_t inf = 0;
    double sum = 0;
  };
  std::map<std::string, Agg> by_type;
  for (const auto& s : snaps) {
    if (!s.healthcheck || s.stats.duration_count == 0) continue;
    Agg& a = by_type[CheckTypeName(s.healthcheck->type)];
    for (size_t i = 0; i < kProbeDurationBucketCount; ++i)
      a.counts[i] += s.stats.duration_bucket_counts[i];
    a.inf += s.stats.duration_bucket_counts[kProbeDurationBucketCount];
    a.sum += s.stats.duration_sum_seconds;
  }
  w.Family("maglev_probe_duration_seconds", T::kHistogram, "Probe duration by check type.");
  std::vector<double> bounds(std::begin(kProbeDurationBuckets), std::end(kProbeDurationBuckets));
  for (const auto& [type, a] : by_type)
    w.Histogram("maglev_probe_duration_seconds", {{"type", type}}, bounds, a.counts, a.inf, a.sum);

  w.Family("maglev_backend_transitions_total", T::kCounter, "Backend state transitions.");
  for (const auto& s : snaps)
    for (const auto& [key, n] : s.transition_counts)
      w.Sample("maglev_backend_transitions_total",
               {{"backend", s.name},
                {"from", BackendStateName(key.first)},
                {"to", BackendStateName(key.second)}},
               static_cast<double>(n));

  const auto& views = pipeline.lb().frontends();
  w.Family("maglev_frontend_state", T::kGauge,
           "Frontend state: 1 for the current state, 0 for the others.");
  for (const auto& [name, v] : views)
    for (FrontendState st : kAllFrontendStates)
      w.Sample("maglev_frontend_state", {{"frontend", name}, {"state", FrontendStateName(st)}},
               v.effective.state == st ? 1 : 0);
  w.Family("maglev_frontend_servable", T::kGauge,
           "1 when some backend of the frontend has a non-zero effective weight.");
  for (const auto& [name, v] : views)
    w.Sample("maglev_frontend_servable", {{"frontend", name}}, v.servable ? 1 : 0);
  w.Family("maglev_frontend_active_pool", T::kGauge, "Index of the active (serving) pool.");
  for (const auto& [name, v] : views)
    w.Sample("maglev_frontend_active_pool", {{"frontend", name}}, v.effective.active_pool);
  w.Family("maglev_backend_configured_weight", T::kGauge,
           "Configured (runtime) weight per frontend, pool and backend.");
  for (const auto& [name, v] : views)
    for (const auto& p : v.effective.pools)
      for (const auto& b : p.backends)
        w.Sample("maglev_backend_configured_weight",
                 {{"frontend", name}, {"pool", p.name}, {"backend", b.backend}},
                 b.configured_weight);
  w.Family("maglev_backend_effective_weight", T::kGauge,
           "Effective weight (what VPP should carry) per frontend, pool and backend.");
  for (const auto& [name, v] : views)
    for (const auto& p : v.effective.pools)
      for (const auto& b : p.backends)
        w.Sample("maglev_backend_effective_weight",
                 {{"frontend", name}, {"pool", p.name}, {"backend", b.backend}},
                 b.effective_weight);
}

}  // namespace

void AddPipelineCollectors(MetricsRegistry& registry, const Pipeline& pipeline) {
  registry.AddCollector([&pipeline](MetricsWriter& w) { Collect(w, pipeline); });
}

}  // namespace maglev
