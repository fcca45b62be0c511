// SPDX-License-Identifier: Apache-2.0
//
// The API's Dataplane interface implemented over the reconciler (its own
// loop) and the dataplane controller (core loop), and the Prometheus
// collectors of the VPP side. Methods are called on the core loop; callbacks
// run on the reconciler's loop.
#pragma once

#include "api/dataplane.h"
#include "dataplane/controller.h"
#include "metrics/metrics.h"
#include "vpp/reconciler.h"

namespace maglev {

class VppDataplane : public Dataplane {
 public:
  VppDataplane(Reconciler& reconciler, DataplaneController& controller)
      : reconciler_(reconciler), controller_(controller) {}

  void GetInfo(std::function<void(absl::StatusOr<VppInfoData>)> done) override;
  void GetLbState(std::function<void(absl::StatusOr<VppLbStateData>)> done) override;
  void Sync(std::optional<std::string> frontend, std::function<void(absl::Status)> done) override;
  void InspectFrontend(const std::string& frontend,
                       std::function<void(absl::StatusOr<FrontendDataplaneData>)> done) override;

 private:
  Reconciler& reconciler_;
  DataplaneController& controller_;
};

// "lb 1.2.0 (weights)", "legacy (membership fallback)", ...
std::string DescribeLbApiLevel(LbApiLevel level);

// Prometheus collectors for the VPP connection, API calls and syncs.
// `reconciler` is null when the dataplane is off: the connection state is
// exported anyway (0).
void AddVppCollectors(MetricsRegistry& registry, const Reconciler* reconciler);

}  // namespace maglev
