// Prometheus collectors for the checker's state: backend state, health
// counter, enabled flag, configured/effective weights, probe results and
// durations, transitions, frontend state. Runs on the core loop thread
// (collectors read the Checker directly).
#pragma once

#include "checker/checker.h"
#include "metrics/metrics.h"

namespace maglev {

void AddCheckerCollectors(MetricsRegistry& registry, const Checker& checker);

}  // namespace maglev
