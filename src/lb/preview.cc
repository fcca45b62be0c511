// SPDX-License-Identifier: Apache-2.0
#include "lb/preview.h"

#include <algorithm>

#include "maglev/maglev.h"

namespace maglev {
namespace {

// VPP re-creates a VIP (every AS deleted with flush) when one of these
// differs: the reconciler's NeedsRecreate on the desired side.
bool Recreated(const DesiredVip& a, const DesiredVip& b) {
  return a.spec.encap != b.spec.encap ||
         a.spec.new_flows_table_length != b.spec.new_flows_table_length ||
         a.spec.src_ip_sticky != b.spec.src_ip_sticky;
}

// The owner (backend name, or the address for a foreign AS) of each bucket.
std::vector<std::string> Owners(const DesiredVip* vip, PreviewTableMode mode, uint32_t length) {
  std::vector<std::string> out(length);
  if (!vip) return out;
  std::vector<uint32_t> table = VppNewFlowTable(*vip, mode);
  for (size_t b = 0; b < table.size() && b < out.size(); ++b) {
    if (table[b] == kMaglevNoServer) continue;
    const DesiredAs& as = vip->ases[table[b]];
    out[b] = as.backend.empty() ? as.address.ToString() : as.backend;
  }
  return out;
}

std::map<IpAddress, const DesiredAs*> ByAddress(const DesiredVip* vip) {
  std::map<IpAddress, const DesiredAs*> out;
  if (vip)
    for (const DesiredAs& as : vip->ases) out[as.address] = &as;
  return out;
}

}  // namespace

const char* PreviewTableModeName(PreviewTableMode m) {
  switch (m) {
    case PreviewTableMode::kWeights:
      return "weights";
    case PreviewTableMode::kNoWeights:
      return "no-weights";
    case PreviewTableMode::kLegacy:
      return "legacy";
  }
  return "weights";
}

const char* CandidateChangeKindName(CandidateChange::Kind k) {
  switch (k) {
    case CandidateChange::Kind::kDisable:
      return "disable";
    case CandidateChange::Kind::kEnable:
      return "enable";
    case CandidateChange::Kind::kPause:
      return "pause";
    case CandidateChange::Kind::kResume:
      return "resume";
    case CandidateChange::Kind::kDrain:
      return "drain";
    case CandidateChange::Kind::kSetWeight:
      return "set-weight";
    case CandidateChange::Kind::kConfig:
      return "config";
  }
  return "unknown";
}

PreviewInputs SnapshotStage(const LbStage& stage, BackendStateLookup state_of) {
  PreviewInputs in;
  in.config = stage.config_ptr();
  in.state_of = std::move(state_of);
  in.overrides = stage.weight_overrides();
  in.ramp = stage.ramp_shares();
  in.draining = stage.draining();
  in.views = stage.frontends();
  return in;
}

std::vector<uint32_t> VppNewFlowTable(const DesiredVip& vip, PreviewTableMode mode) {
  // VPP's table holds the active ASes; maglevd keeps an AS active at weight
  // 0 only with weights (below that, weight 0 means the AS is deleted), and
  // the weighted builder leaves weight 0 out. Either way: weight > 0.
  std::vector<MaglevEntry> entries;
  std::vector<uint32_t> index_of;
  for (size_t i = 0; i < vip.ases.size(); ++i) {
    const DesiredAs& as = vip.ases[i];
    if (as.weight == 0) continue;
    // Without weights maglevd adds every AS at 100 (LbAddAs ignores it).
    uint32_t w = mode == PreviewTableMode::kWeights ? as.weight : 100;
    entries.push_back(MaglevEntry{as.address.ip46(), w});
    index_of.push_back(static_cast<uint32_t>(i));
  }
  std::vector<uint32_t> table = BuildNewFlowTable(
      entries, vip.spec.new_flows_table_length,
      mode == PreviewTableMode::kLegacy ? MaglevMode::kLegacy : MaglevMode::kWeighted);
  for (uint32_t& v : table)
    if (v != kMaglevNoServer) v = index_of[v];
  return table;
}

VipPreview PreviewVipChange(const DesiredVip* before, const DesiredVip* after,
                            const std::set<IpAddress>& flush_now, PreviewTableMode mode) {
  VipPreview out;
  const DesiredVip* any = after ? after : before;
  if (!any) return out;
  out.frontend = any->frontend;
  out.key = any->spec.key;
  out.table_length = any->spec.new_flows_table_length;
  out.vip_added = !before && after;
  out.vip_removed = before && !after;
  out.vip_recreated = before && after && Recreated(*before, *after);
  const bool all_flushed = out.vip_removed || out.vip_recreated;

  std::map<IpAddress, const DesiredAs*> b = ByAddress(before), a = ByAddress(after);
  std::set<IpAddress> addresses;
  for (const auto& [addr, _] : b) addresses.insert(addr);
  for (const auto& [addr, _] : a) addresses.insert(addr);

  // Buckets: compare the two tables bucket by bucket when they have the same
  // length; a re-created VIP with another length moves everything.
  std::vector<std::string> owners_after = Owners(after, mode, out.table_length);
  const uint32_t before_length = before ? before->spec.new_flows_table_length : out.table_length;
  std::vector<std::string> owners_before = Owners(before, mode, before_length);
  std::map<std::string, uint32_t> count_before, count_after;
  for (const std::string& o : owners_before)
    if (!o.empty()) ++count_before[o];
  for (const std::string& o : owners_after)
    if (!o.empty()) ++count_after[o];
  std::map<std::pair<std::string, std::string>, uint32_t> moves;
  if (before_length == out.table_length) {
    for (size_t i = 0; i < owners_after.size(); ++i) {
      if (owners_before[i] == owners_after[i]) continue;
      ++out.moved_buckets;
      ++moves[{owners_before[i], owners_after[i]}];
    }
  } else {
    out.moved_buckets = out.table_length;
  }
  for (const auto& [k, n] : moves) out.moves.push_back(BucketMove{k.first, k.second, n});
  out.moved_share =
      out.table_length ? static_cast<double>(out.moved_buckets) / out.table_length : 0;

  for (const IpAddress& addr : addresses) {
    AsPreview pb;
    pb.address = addr;
    auto bi = b.find(addr);
    auto ai = a.find(addr);
    const DesiredAs* was = bi == b.end() ? nullptr : bi->second;
    const DesiredAs* will = ai == a.end() ? nullptr : ai->second;
    pb.backend = will ? will->backend : was->backend;
    if (was) pb.weight_before = was->weight;
    if (will) pb.weight_after = will->weight;
    std::string owner = pb.backend.empty() ? addr.ToString() : pb.backend;
    pb.buckets_before = count_before[owner];
    pb.buckets_after = count_after[owner];
    if (was && all_flushed) {
      pb.flushed = true;
    } else if (was && !will) {
      pb.flushed = true;  // an AS the VIP no longer has is deleted with flush
    } else if (was && will) {
      // The reconciler's rule (DiffVip): a way to weight 0 that the §5.1
      // table marks `flush`, or a transition that asked for one while the
      // weight already was 0.
      pb.flushed = will->weight == 0 && will->flush && (was->weight != 0 || flush_now.count(addr));
    }
    if (pb.flushed) out.flushed.push_back(owner);
    out.backends.push_back(std::move(pb));
  }
  return out;
}

absl::StatusOr<PreviewResult> PreviewChangeEffect(const PreviewInputs& in,
                                                  const CandidateChange& change,
                                                  PreviewTableMode mode) {
  using Kind = CandidateChange::Kind;
  if (!in.config) return absl::FailedPreconditionError("no configuration loaded");
  PreviewResult result;
  std::shared_ptr<const Config> cfg = in.config;
  WeightOverrides overrides = in.overrides;
  std::set<std::string> draining = in.draining;
  std::map<std::string, BackendState> states;  // the backends the change moves
  const Config& now = *in.config;

  auto referenced = [&](const std::string& backend) {
    for (const auto& [_, fe] : now.frontends)
      for (const Pool& p : fe.pools)
        for (const PoolBackend& pb : p.backends)
          if (pb.backend == backend) return true;
    return false;
  };
  auto not_found = [](const std::string& name) {
    return absl::NotFoundError("backend \"" + name + "\" not found");
  };

  if (change.kind != Kind::kConfig && change.kind != Kind::kSetWeight) {
    if (change.backend.empty()) return absl::InvalidArgumentError("backend name is empty");
    if (!now.backends.count(change.backend)) return not_found(change.backend);
  }
  const BackendState current = change.kind == Kind::kConfig || change.kind == Kind::kSetWeight
                                   ? BackendState::kUnknown
                                   : in.state_of(change.backend);
  switch (change.kind) {
    case Kind::kDisable:
      if (current != BackendState::kDisabled && current != BackendState::kRemoved)
        states[change.backend] = BackendState::kDisabled;
      draining.erase(change.backend);
      break;
    case Kind::kEnable:
      // Enable moves a disabled backend to unknown; it takes traffic once
      // its probes pass. The preview shows that outcome.
      if (current == BackendState::kDisabled) {
        states[change.backend] = BackendState::kUp;
        result.assumptions.push_back("backend " + change.backend +
                                     " is up once enabled (its probes pass)");
      }
      draining.erase(change.backend);  // an enable ends a drain
      break;
    case Kind::kPause:
      if (current == BackendState::kDisabled)
        return absl::FailedPreconditionError("backend is disabled; enable it first");
      if (current == BackendState::kRemoved)
        return absl::FailedPreconditionError("backend is removed");
      if (current != BackendState::kPaused) states[change.backend] = BackendState::kPaused;
      break;
    case Kind::kResume:
      if (current == BackendState::kDisabled)
        return absl::FailedPreconditionError("backend is disabled; enable it first");
      if (current == BackendState::kRemoved)
        return absl::FailedPreconditionError("backend is removed");
      if (current == BackendState::kPaused) {
        states[change.backend] = BackendState::kUp;
        result.assumptions.push_back("backend " + change.backend +
                                     " is up once resumed (its probes pass)");
      }
      break;
    case Kind::kDrain:
      if (!referenced(change.backend)) return not_found(change.backend);
      if (current == BackendState::kDisabled)
        return absl::FailedPreconditionError("backend is disabled; enable it first");
      draining.insert(change.backend);
      break;
    case Kind::kSetWeight: {
      auto fit = now.frontends.find(change.frontend);
      if (change.frontend.empty()) return absl::InvalidArgumentError("frontend name is empty");
      if (fit == now.frontends.end())
        return absl::NotFoundError("frontend \"" + change.frontend + "\" not found");
      const Pool* pool = nullptr;
      for (const Pool& p : fit->second.pools)
        if (p.name == change.pool) pool = &p;
      if (!pool)
        return absl::NotFoundError("pool \"" + change.pool + "\" not found in frontend \"" +
                                   change.frontend + "\"");
      bool member = false;
      for (const PoolBackend& pb : pool->backends) member |= pb.backend == change.backend;
      if (!member)
        return absl::NotFoundError("backend \"" + change.backend + "\" not found in pool \"" +
                                   change.pool + "\"");
      if (change.weight < 0 || change.weight > 100)
        return absl::InvalidArgumentError("weight " + std::to_string(change.weight) +
                                          " out of range 0..100");
      overrides[{change.frontend, change.pool, change.backend}] = change.weight;
      break;
    }
    case Kind::kConfig: {
      if (!change.config) return absl::InvalidArgumentError("no configuration to preview");
      cfg = change.config;
      overrides = SurvivingOverrides(now, *cfg, overrides);
      for (auto it = draining.begin(); it != draining.end();)
        it = cfg->backends.count(*it) ? std::next(it) : draining.erase(it);
      // Backends the candidate adds are assumed up (disabled when the file
      // says `enabled: false`); backends it keeps keep their state.
      bool added = false;
      for (const auto& [name, be] : cfg->backends) {
        if (now.backends.count(name)) continue;
        states[name] = be.enabled ? BackendState::kUp : BackendState::kDisabled;
        added |= be.enabled;
      }
      for (const auto& [name, _] : now.backends)
        if (!cfg->backends.count(name)) states[name] = BackendState::kRemoved;
      if (added) result.assumptions.push_back("backends new in the file are up (probes pass)");
      break;
    }
  }

  BackendStateLookup state_of = [&](const std::string& b) {
    auto it = states.find(b);
    return it != states.end() ? it->second : in.state_of(b);
  };

  std::set<std::string> names;
  for (const auto& [n, _] : in.views) names.insert(n);
  for (const auto& [n, _] : cfg->frontends) names.insert(n);
  for (const std::string& name : names) {
    auto view = in.views.find(name);
    const FrontendView* before = view == in.views.end() ? nullptr : &view->second;
    auto fit = cfg->frontends.find(name);
    std::optional<FrontendView> after;
    std::set<IpAddress> flush_now;
    if (fit != cfg->frontends.end()) {
      const Frontend& fe = fit->second;
      EffectiveInputs ein;
      ein.state_of = state_of;
      ein.overrides = &overrides;
      ein.ramp = &in.ramp;
      ein.draining = &draining;
      if (fe.failback_delay > Duration::zero() && before) {
        // Fail-back hold-down: a move back up to a higher pool waits for
        // `failback-delay` (failing over never does). Right after the
        // change the stage keeps the pool it has while that pool is still
        // eligible.
        std::string held = before->active_pool;
        ein.choose_pool = [&fe, held](const std::vector<bool>& eligible) {
          int natural = -1, current = -1;
          for (size_t p = 0; p < eligible.size(); ++p) {
            if (eligible[p] && natural < 0) natural = static_cast<int>(p);
            if (fe.pools[p].name == held) current = static_cast<int>(p);
          }
          if (natural >= 0 && current > natural && eligible[current]) return current;
          return natural;
        };
      }
      FrontendView v;
      v.effective = ComputeEffective(fe, ein);
      v.desired = BuildDesiredVip(*cfg, fe, v.effective);
      v.active_pool = v.effective.has_active_pool ? fe.pools[v.effective.active_pool].name : "";
      after = std::move(v);
      // The lb stage's flush rule: a backend whose transition ends in a
      // state the §5.1 table flushes is flushed now, also at weight 0.
      for (const auto& [backend, to] : states) {
        if (!EffectiveWeightRule(to, /*in_active_pool=*/false, 0, fe.flush_on_down).second)
          continue;
        auto be = cfg->backends.find(backend);
        if (be != cfg->backends.end()) flush_now.insert(be->second.address);
      }
    }
    if (before && after && before->desired == after->desired && flush_now.empty()) continue;
    VipPreview vp = PreviewVipChange(before ? &before->desired : nullptr,
                                     after ? &after->desired : nullptr, flush_now, mode);
    vp.frontend = name;
    vp.active_pool_before = before ? before->active_pool : "";
    vp.active_pool_after = after ? after->active_pool : "";
    bool weights_changed = !before || !after || !(before->desired == after->desired);
    if (!weights_changed && vp.flushed.empty()) continue;
    result.vips.push_back(std::move(vp));
  }
  return result;
}

}  // namespace maglev
