// SPDX-License-Identifier: Apache-2.0
//
// Prometheus collectors for the pipeline: the checker's backends (state,
// health counter, enabled flag, probe results and durations, transitions)
// and the lb stage's frontends (state, active pool, configured and effective
// weights). Collected at scrape time on the core loop thread, from the
// checker's snapshots and the lb stage's views.
#pragma once

#include "core/pipeline.h"
#include "metrics/metrics.h"

namespace maglev {

void AddPipelineCollectors(MetricsRegistry& registry, const Pipeline& pipeline);

}  // namespace maglev
