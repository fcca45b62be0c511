// SPDX-License-Identifier: Apache-2.0
#include "dataplane/vpp_dataplane.h"

#include "vpp/lb_client.h"

namespace maglev {

std::string DescribeLbApiLevel(LbApiLevel level) {
  switch (level) {
    case LbApiLevel::kWeights:
      return "lb 1.2.0 (weights)";
    case LbApiLevel::kNoWeights:
      return "lb 1.2.0 without weights (membership fallback)";
    case LbApiLevel::kLegacy:
      return "legacy lb (membership fallback)";
    case LbApiLevel::kNone:
      return "none";
  }
  return "none";
}

void VppDataplane::GetInfo(std::function<void(absl::StatusOr<VppInfoData>)> done) {
  reconciler_.GetStatus([done = std::move(done)](VppStatusInfo s) {
    if (!s.connected) {
      done(absl::UnavailableError("not connected to VPP"));
      return;
    }
    VppInfoData d;
    d.connected = true;
    d.version = s.version.version;
    d.build_date = s.version.build_date;
    d.build_directory = s.version.build_directory;
    d.pid = s.version.vpe_pid;
    d.connecttime_ns = s.connect_time_ns;
    d.lb_api = DescribeLbApiLevel(s.level);
    done(d);
  });
}

void VppDataplane::GetLbState(std::function<void(absl::StatusOr<VppLbStateData>)> done) {
  reconciler_.GetLbState([this, done = std::move(done)](absl::StatusOr<LbStateSnapshot> snap) {
    if (!snap.ok()) {
      done(snap.status());
      return;
    }
    VppLbStateData d;
    d.legacy_lb = reconciler_.level() == LbApiLevel::kLegacy;
    if (snap->conf) {
      d.ip4_src = snap->conf->ip4_src_address.ToString();
      d.ip6_src = snap->conf->ip6_src_address.ToString();
      d.sticky_buckets_per_core = snap->conf->sticky_buckets_per_core;
      d.flow_timeout = snap->conf->flow_timeout;
    }
    for (const VipInfo& v : snap->vips) {
      VppVipData vd;
      vd.prefix = v.key.address.ToString() + "/" + std::to_string(v.key.prefix_len);
      vd.protocol = v.key.protocol;
      vd.port = v.key.port;
      vd.encap = std::string(LbEncapName(v.encap));
      vd.flow_table_length = v.flow_table_length_low16 == 0 ? 65536u : v.flow_table_length_low16;
      VipKey key = v.key.Normalized();
      for (const AsInfo& a : snap->ases) {
        if (!(a.vip.Normalized() == key)) continue;
        VppAsData ad;
        ad.address = a.address;
        ad.weight = a.weight.value_or(a.active() ? 100 : 0);
        ad.flags = a.flags;
        ad.num_buckets = a.num_buckets.value_or(0);
        ad.in_use_since_s = a.in_use_since;
        vd.ases.push_back(ad);
      }
      std::sort(vd.ases.begin(), vd.ases.end(),
                [](const VppAsData& x, const VppAsData& y) { return x.address < y.address; });
      d.vips.push_back(std::move(vd));
    }
    std::sort(d.vips.begin(), d.vips.end(), [](const VppVipData& x, const VppVipData& y) {
      return std::tie(x.prefix, x.protocol, x.port) < std::tie(y.prefix, y.protocol, y.port);
    });
    done(std::move(d));
  });
}

void VppDataplane::Sync(std::optional<std::string> frontend,
                        std::function<void(absl::Status)> done) {
  if (!reconciler_.connected()) {
    done(absl::UnavailableError("not connected to VPP"));
    return;
  }
  auto shared = std::make_shared<std::function<void(absl::Status)>>(std::move(done));
  absl::Status st = controller_.Sync(frontend, [shared](absl::Status s) { (*shared)(s); });
  if (!st.ok()) (*shared)(st);
}

void VppDataplane::InspectFrontend(
    const std::string& frontend, std::function<void(absl::StatusOr<FrontendDataplaneData>)> done) {
  auto want = controller_.Desired(frontend);
  if (!want.ok()) {
    done(want.status());
    return;
  }
  bool released = controller_.Released(frontend);
  VipKey key = want->spec.key;
  reconciler_.InspectVip(key, [want = std::move(*want), released, done = std::move(done)](
                                  absl::StatusOr<Reconciler::VipInspection> have) {
    if (!have.ok()) {
      done(have.status());
      return;
    }
    VipComparison c = CompareVip(want, have->vip ? &*have->vip : nullptr, have->level);
    FrontendDataplaneData d;
    // Before warmup releases a frontend, maglevd has not programmed it yet:
    // a difference then is expected, not drift.
    d.status = c.in_sync() ? "in-sync" : released ? "out-of-sync" : "warmup";
    d.vip_present = c.vip_present;
    d.as_weights = std::move(c.vpp_weights);
    d.differing = std::move(c.differing);
    for (const LbCall& call : c.pending) d.pending.push_back(DescribeLbCall(call));
    done(std::move(d));
  });
}

void AddVppCollectors(MetricsRegistry& registry, const Reconciler* maybe_reconciler) {
  registry.AddCollector([maybe_reconciler](MetricsWriter& w) {
    using T = MetricsWriter::Type;
    // Always exported, so that an alert on a disconnected VPP also fires
    // when the dataplane was turned off by mistake.
    w.Family("maglev_vpp_dataplane_enabled", T::kGauge,
             "1 when maglevd programs VPP (--vpp-api-addr set), 0 when the dataplane is off.");
    w.Sample("maglev_vpp_dataplane_enabled", {}, maybe_reconciler ? 1 : 0);
    w.Family("maglev_vpp_connected", T::kGauge,
             "1 while connected to VPP's API socket; 0 when disconnected or the dataplane is off.");
    w.Sample("maglev_vpp_connected", {}, maybe_reconciler && maybe_reconciler->connected() ? 1 : 0);
    if (!maybe_reconciler) return;
    const Reconciler& reconciler = *maybe_reconciler;
    w.Family("maglev_vpp_lb_weights", T::kGauge,
             "1 when the connected lb plugin supports weights (0: membership fallback).");
    w.Sample("maglev_vpp_lb_weights", {}, reconciler.level() == LbApiLevel::kWeights ? 1 : 0);
    std::map<std::string, VppApiCounters::Entry> counters;
    if (const VppApiCounters* c = reconciler.api_counters()) counters = c->Snapshot();
    w.Family("maglev_vpp_api_calls_total", T::kCounter, "VPP API requests sent, by message.");
    for (const auto& [msg, e] : counters)
      w.Sample("maglev_vpp_api_calls_total", {{"message", msg}}, static_cast<double>(e.calls));
    w.Family("maglev_vpp_api_errors_total", T::kCounter,
             "VPP API requests that failed (retval or transport), by message.");
    for (const auto& [msg, e] : counters)
      w.Sample("maglev_vpp_api_errors_total", {{"message", msg}}, static_cast<double>(e.errors));
    ReconcilerStats st = reconciler.stats();
    static const char* kKinds[] = {"event", "frontend", "full"};
    w.Family("maglev_vpp_sync_runs_total", T::kCounter, "Reconciliation runs, by kind.");
    for (int k = 0; k < 3; ++k)
      w.Sample("maglev_vpp_sync_runs_total", {{"kind", kKinds[k]}},
               static_cast<double>(st.sync_runs[k]));
    w.Family("maglev_vpp_sync_duration_seconds_total", T::kCounter,
             "Time spent in reconciliation runs, by kind.");
    for (int k = 0; k < 3; ++k)
      w.Sample("maglev_vpp_sync_duration_seconds_total", {{"kind", kKinds[k]}},
               st.sync_seconds_sum[k]);
    w.Family("maglev_vpp_sync_failures_total", T::kCounter, "Reconciliation runs that failed.");
    w.Sample("maglev_vpp_sync_failures_total", {}, static_cast<double>(st.sync_failures));
    w.Family("maglev_vpp_mutating_calls_total", T::kCounter,
             "lb calls that change VPP's state, sent by the reconciler.");
    w.Sample("maglev_vpp_mutating_calls_total", {}, static_cast<double>(st.mutating_calls));
    w.Family("maglev_vpp_connects_total", T::kCounter, "Successful connections to VPP.");
    w.Sample("maglev_vpp_connects_total", {}, static_cast<double>(st.connects));
  });
}

}  // namespace maglev
