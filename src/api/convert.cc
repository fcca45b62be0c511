#include "api/convert.h"

#include <algorithm>
#include <cmath>
#include <set>

namespace maglev {

void FillTransitionRecord(const Transition& t, TransitionRecord* out) {
  out->set_from(BackendStateName(t.from));
  out->set_to(BackendStateName(t.to));
  out->set_at_unix_ns(t.at_unix_ns);
  out->set_code(std::string(t.code()));
  out->set_detail(t.detail);
}

void FillFrontendInfo(const Frontend& fe, const FrontendEffective& eff, FrontendInfo* out) {
  out->set_name(fe.name);
  out->set_address(fe.address.ToString());
  out->set_protocol(ProtocolName(fe.protocol));
  out->set_port(fe.port);
  out->set_description(fe.description);
  out->set_src_ip_sticky(fe.src_ip_sticky);
  out->set_flush_on_down(fe.flush_on_down);
  out->set_failback_delay_ns(fe.failback_delay.count());
  out->set_state(FrontendStateName(eff.state));
  if (eff.active_pool >= 0 && static_cast<size_t>(eff.active_pool) < fe.pools.size()) {
    out->set_active_pool(fe.pools[eff.active_pool].name);
  }
  out->set_servable(IsServable(eff));
  for (size_t pidx = 0; pidx < eff.pools.size(); ++pidx) {
    const EffectivePool& p = eff.pools[pidx];
    PoolInfo* pi = out->add_pools();
    pi->set_name(p.name);
    for (const EffectiveBackend& b : p.backends) {
      PoolBackendInfo* bi = pi->add_backends();
      bi->set_name(b.backend);
      bi->set_weight(b.configured_weight);
      bi->set_effective_weight(b.effective_weight);
      bi->set_state(BackendStateName(b.state));
      bi->set_enabled(b.state != BackendState::kDisabled);
      bi->set_vpp_weight(-1);
      bi->set_draining(b.draining);
      bi->set_slow_start_percent(static_cast<int32_t>(std::lround(b.ramp * 100)));
      if (pidx < fe.pools.size())
        for (const PoolBackend& pb : fe.pools[pidx].backends)
          if (pb.backend == b.backend) {
            bi->set_config_weight(pb.weight);
            bi->set_weight_runtime(pb.weight != b.configured_weight);
          }
    }
  }
}

void FillFrontendDataplane(const absl::StatusOr<FrontendDataplaneData>& data,
                           const std::map<std::string, IpAddress>& addresses, FrontendInfo* out) {
  if (!data.ok()) {
    out->set_dataplane("unknown");
    out->set_dataplane_detail(std::string(data.status().message()));
    return;
  }
  out->set_dataplane(data->status);
  if (!data->vip_present) out->set_dataplane_detail("VIP not in VPP");
  for (const std::string& call : data->pending) out->add_dataplane_pending(call);
  for (PoolInfo& pool : *out->mutable_pools()) {
    for (PoolBackendInfo& b : *pool.mutable_backends()) {
      auto addr = addresses.find(b.name());
      if (addr == addresses.end()) continue;
      auto w = data->as_weights.find(addr->second);
      b.set_vpp_weight(w == data->as_weights.end() ? -1 : static_cast<int32_t>(w->second));
      b.set_vpp_differs(data->differing.count(addr->second) > 0);
    }
  }
}

void FillBackendInfo(const BackendSnapshot& snap, const std::vector<std::string>& frontends,
                     const LbStage& lb, BackendInfo* out) {
  if (auto deadline = lb.DrainDeadline(snap.name)) {
    out->set_draining(true);
    out->set_drain_deadline_unix_ns(*deadline);
  }
  auto ramp = lb.Ramp(snap.name);
  out->set_slow_start_percent(ramp ? static_cast<int32_t>(std::lround(ramp->share * 100)) : 100);
  if (ramp) out->set_slow_start_full_unix_ns(ramp->full_at_unix_ns);
  out->set_name(snap.name);
  out->set_address(snap.config.address.ToString());
  out->set_state(BackendStateName(snap.state));
  for (const Transition& t : snap.transitions) FillTransitionRecord(t, out->add_transitions());
  out->set_enabled(snap.enabled);
  out->set_config_enabled(snap.config.enabled);
  // Paused is always the operator's; disabled or enabled against the YAML too.
  out->set_admin_runtime(snap.state == BackendState::kPaused ||
                         (snap.state == BackendState::kDisabled) == snap.config.enabled);
  out->set_healthcheck(snap.config.healthcheck);
  out->set_counter(snap.counter);
  // A backend without health check runs a 1/1 state machine.
  out->set_rise(snap.healthcheck ? snap.healthcheck->rise : 1);
  out->set_fall(snap.healthcheck ? snap.healthcheck->fall : 1);
  if (snap.last_result) {
    out->set_last_code(std::string(ProbeCodeName(snap.last_result->code)));
    out->set_last_detail(snap.last_result->detail);
  }
  for (const std::string& f : frontends) out->add_frontends(f);
}

void FillHealthCheckInfo(const HealthCheck& hc, HealthCheckInfo* out) {
  out->set_name(hc.name);
  out->set_type(CheckTypeName(hc.type));
  out->set_port(hc.port);
  if (hc.probe_ipv4_src) out->set_probe_ipv4_src(hc.probe_ipv4_src->ToString());
  if (hc.probe_ipv6_src) out->set_probe_ipv6_src(hc.probe_ipv6_src->ToString());
  out->set_interval_ns(hc.interval.count());
  out->set_fast_interval_ns(hc.fast_interval.count());
  out->set_down_interval_ns(hc.down_interval.count());
  out->set_timeout_ns(hc.timeout.count());
  out->set_rise(hc.rise);
  out->set_fall(hc.fall);
  if (hc.type == CheckType::kHttp || hc.type == CheckType::kHttps) {
    HTTPCheckParams* h = out->mutable_http();
    h->set_path(hc.http.path);
    h->set_host(hc.http.host);
    h->set_response_code_min(hc.http.response_code_min);
    h->set_response_code_max(hc.http.response_code_max);
    h->set_response_regexp(hc.http.response_regexp);
    h->set_server_name(hc.http.server_name);
    h->set_insecure_skip_verify(hc.http.insecure_skip_verify);
  }
  if (hc.type == CheckType::kTcp) {
    TCPCheckParams* t = out->mutable_tcp();
    t->set_ssl(hc.tcp.ssl);
    t->set_server_name(hc.tcp.server_name);
    t->set_insecure_skip_verify(hc.tcp.insecure_skip_verify);
  }
}

void FillVppInfo(const VppInfoData& in, VPPInfo* out) {
  out->set_version(in.version);
  out->set_build_date(in.build_date);
  out->set_build_directory(in.build_directory);
  out->set_pid(in.pid);
  out->set_boottime_ns(in.boottime_ns);
  out->set_connecttime_ns(in.connecttime_ns);
  out->set_lb_api(in.lb_api);
  out->set_connected(in.connected);
}

std::vector<VppAsData> DedupeVipAses(const std::vector<VppAsData>& ases) {
  // A VIP deleted and re-created before VPP's GC collected it leaves the old
  // VIP's removed ASes behind, dumped under the same key: one entry per
  // address, the active one when there is one.
  std::vector<VppAsData> out;
  for (const VppAsData& a : ases) {
    auto it = std::find_if(out.begin(), out.end(),
                           [&](const VppAsData& o) { return o.address == a.address; });
    if (it == out.end()) {
      out.push_back(a);
    } else if ((it->flags & 1) == 0 && (a.flags & 1) != 0) {
      *it = a;
    }
  }
  return out;
}

void FillVppLbState(const VppLbStateData& in, VPPLBState* out, int64_t vpp_boottime_ns) {
  VPPLBConf* c = out->mutable_conf();
  c->set_ip4_src_address(in.ip4_src);
  c->set_ip6_src_address(in.ip6_src);
  c->set_sticky_buckets_per_core(in.sticky_buckets_per_core);
  c->set_flow_timeout(in.flow_timeout);
  for (const VppVipData& v : in.vips) {
    VPPLBVIP* pv = out->add_vips();
    pv->set_prefix(v.prefix);
    pv->set_protocol(v.protocol);
    pv->set_port(v.port);
    pv->set_encap(v.encap);
    pv->set_flow_table_length(v.flow_table_length);
    for (const VppAsData& as : DedupeVipAses(v.ases)) {
      VPPLBAS* pa = pv->add_application_servers();
      pa->set_address(as.address.ToString());
      pa->set_weight(as.weight);
      pa->set_flags(as.flags);
      pa->set_num_buckets(as.num_buckets);
      pa->set_in_use_since_ns(as.in_use_since_ns != 0
                                  ? as.in_use_since_ns
                                  : InUseSinceNs(as.in_use_since_s, as.flags, vpp_boottime_ns));
    }
  }
}

int64_t InUseSinceNs(uint32_t in_use_since_s, uint32_t flags, int64_t vpp_boottime_ns) {
  // VPP sets it when it removes an AS; for an AS never removed the value is
  // stale memory, so only removed ASes get a time.
  // 0 is a removal within VPP's first second, not "never".
  if ((flags & 1) != 0 || vpp_boottime_ns <= 0) return 0;
  return vpp_boottime_ns + static_cast<int64_t>(in_use_since_s) * 1000000000;
}

void FillVppLbCounters(const std::vector<std::pair<std::string, VipKey>>& frontends,
                       const VppCountersReading& r, VPPLBCounters* out) {
  out->set_sample_time_ns(r.time_ns);
  out->set_previous_sample_time_ns(r.previous_time_ns);
  out->set_interval_ns(r.interval_ns);
  auto fill = [](const VppVipCounterValues& v, VPPLBCounterValues* o) {
    o->set_existing_session_packets(v.lb[0]);
    o->set_first_session_packets(v.lb[1]);
    o->set_untracked_packets(v.lb[2]);
    o->set_no_server_packets(v.lb[3]);
    o->set_route_packets(v.route_packets);
    o->set_route_bytes(v.route_bytes);
  };
  for (size_t i = 0; i < frontends.size(); ++i) {
    VPPLBFrontendCounters* f = out->add_frontends();
    f->set_frontend(frontends[i].first);
    f->set_vip(frontends[i].second.ToString());
    if (i >= r.vips.size()) {
      fill({}, f->mutable_counters());
      continue;
    }
    const VppVipCounters& c = r.vips[i];
    f->set_vip_in_vpp(c.in_vpp);
    f->set_vip_index(c.vip_index);
    f->set_route_known(c.route_stats_index.has_value());
    f->set_route_stats_index(c.route_stats_index.value_or(0));
    fill(c.now, f->mutable_counters());
    if (c.previous) fill(*c.previous, f->mutable_previous());
  }
}

std::vector<std::string> FrontendsReferencing(const Config& cfg, const std::string& backend) {
  std::vector<std::string> out;  // cfg.frontends is a sorted map: output stays sorted
  for (const auto& [name, fe] : cfg.frontends) {
    bool found = false;
    for (const Pool& p : fe.pools) {
      for (const PoolBackend& pb : p.backends) found = found || pb.backend == backend;
    }
    if (found) out.push_back(name);
  }
  return out;
}

}  // namespace maglev
