// SPDX-License-Identifier: Apache-2.0
#include "store.h"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <tuple>

#include "common/log.h"

namespace maglev::frontend {
namespace {

using nlohmann::json;

constexpr int64_t kHourNs = 3600LL * 1000 * 1000 * 1000;
constexpr size_t kMaxHistory = 100;

// Never throws on bytes that are not UTF-8 (a probe detail may quote a
// backend's garbage): they are replaced.
std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

std::string Quote(const std::string& s) { return Dump(json(s)); }

uint32_t ProtocolNumber(const std::string& p) {
  if (p == "tcp") return 6;
  if (p == "udp") return 17;
  return 255;
}

json TransitionJson(const maglev::TransitionRecord& t) {
  return {{"from", t.from()},
          {"to", t.to()},
          {"at_ns", t.at_unix_ns()},
          {"code", t.code()},
          {"detail", t.detail()}};
}

std::string LogAttr(const maglev::LogEvent& log, std::string_view key) {
  for (const auto& a : log.attrs()) {
    if (a.key() == key) return a.value();
  }
  return "";
}

}  // namespace

void Dirty::Merge(const Dirty& o) {
  frontends.insert(o.frontends.begin(), o.frontends.end());
  backends.insert(o.backends.begin(), o.backends.end());
  vpp_info |= o.vpp_info;
  lb_state |= o.lb_state;
  full |= o.full;
}

std::string VipKey(const std::string& prefix, uint32_t protocol, uint32_t port) {
  return prefix + "|" + std::to_string(protocol) + "|" + std::to_string(port);
}

std::string FrontendVipKey(const maglev::FrontendInfo& fe) {
  bool v6 = fe.address().find(':') != std::string::npos;
  uint32_t proto = ProtocolNumber(fe.protocol());
  return VipKey(fe.address() + (v6 ? "/128" : "/32"), proto, proto == 255 ? 0 : fe.port());
}

VipView MakeVipView(const maglev::VPPLBVIP& vip) {
  VipView v;
  v.encap = vip.encap();
  v.flow_table_length = vip.flow_table_length();
  for (const auto& as : vip.application_servers()) {
    v.ases.push_back({as.address(), as.weight(), as.num_buckets(), as.flags()});
  }
  std::sort(v.ases.begin(), v.ases.end(),
            [](const VipView::As& a, const VipView::As& b) { return a.address < b.address; });
  // Only ASes that can receive new flows decide the hash; a weight-0 AS
  // left behind for its sticky flows does not.
  std::string canon = v.encap + "|" + std::to_string(v.flow_table_length);
  for (const auto& as : v.ases) {
    if (as.weight == 0 && as.buckets == 0) continue;
    canon += "|" + as.address + "=" + std::to_string(as.weight) + "/" + std::to_string(as.buckets);
  }
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : canon) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  v.fingerprint = buf;
  return v;
}

Store::Store(EventRing& ring, std::function<void()> notify)
    : ring_(ring), notify_(std::move(notify)), now_ns_([] { return maglev::UnixNowNs(); }) {}

void Store::AddMaglevd(const std::string& name, const std::string& address) {
  MutexLock lock(mu_);
  M& m = maglevds_[name];
  m.name = name;
  m.address = address;
  m.since_ns = now_ns_();
  order_.push_back(name);
  RebuildStatus(m);
  RebuildVpp(m);
}

std::vector<std::string> Store::MaglevdNames() const {
  MutexLock lock(mu_);
  return order_;
}

bool Store::HasMaglevd(const std::string& m) const {
  MutexLock lock(mu_);
  return Find(m) != nullptr;
}

Store::M* Store::Find(const std::string& m) {
  auto it = maglevds_.find(m);
  return it == maglevds_.end() ? nullptr : &it->second;
}

const Store::M* Store::Find(const std::string& m) const {
  auto it = maglevds_.find(m);
  return it == maglevds_.end() ? nullptr : &it->second;
}

void Store::Publish(std::string_view type, const std::string& data) {
  ring_.Append(type, data, EventRing::Clock::now());
  if (notify_) notify_();
}

// ---------------------------------------------------------------- status

void Store::RebuildStatus(M& m) {
  json j = {{"name", m.name},
            {"address", m.address},
            {"connected", m.connected},
            {"error", m.error},
            {"since_ns", m.since_ns},
            {"last_refresh_ns", m.last_refresh_ns},
            {"version", m.version.version()},
            {"start_time_ns", m.version.start_time_unix_ns()},
            {"config_path", m.version.config_path()}};
  std::string s = Dump(j);
  if (s == m.status_json) return;
  m.status_json = std::move(s);
  Publish("maglevd", "{\"maglevd\":" + Quote(m.name) + ",\"status\":" + m.status_json + "}");
}

void Store::SetConnected(const std::string& name, bool connected, const std::string& error) {
  MutexLock lock(mu_);
  M* m = Find(name);
  if (!m) return;
  if (m->connected != connected) m->since_ns = now_ns_();
  m->connected = connected;
  m->error = connected ? "" : error;
  if (!connected) {
    // Nothing in flight can be trusted any more.
    for (auto& [_, live] : m->live) live.in_flight = false;
  }
  RebuildStatus(*m);
}

void Store::SetVersion(const std::string& name, const maglev::VersionInfo& v) {
  MutexLock lock(mu_);
  M* m = Find(name);
  if (!m) return;
  m->version = v;
  RebuildStatus(*m);
}

void Store::MarkRefreshed(const std::string& name) {
  MutexLock lock(mu_);
  M* m = Find(name);
  if (!m) return;
  m->last_refresh_ns = now_ns_();
  RebuildStatus(*m);
}

// ---------------------------------------------------------------- vpp

void Store::RebuildVpp(M& m) {
  json j = {{"ok", m.vpp_ok},
            {"error", m.vpp_error},
            {"connected", m.vpp_ok && m.vpp.connected()},
            {"version", m.vpp.version()},
            {"build_date", m.vpp.build_date()},
            {"pid", m.vpp.pid()},
            {"boottime_ns", m.vpp.boottime_ns()},
            {"connecttime_ns", m.vpp.connecttime_ns()},
            {"lb_api", m.vpp.lb_api()},
            {"vips", m.vips.size()},
            {"last_sync",
             {{"at_ns", m.last_sync.at_ns},
              {"kind", m.last_sync.kind},
              {"calls", m.last_sync.calls},
              {"failed", m.last_sync.failed}}}};
  if (m.lb_ok) {
    j["lb_conf"] = {{"ip4_src_address", m.lb_conf.ip4_src_address()},
                    {"ip6_src_address", m.lb_conf.ip6_src_address()},
                    {"sticky_buckets_per_core", m.lb_conf.sticky_buckets_per_core()},
                    {"flow_timeout", m.lb_conf.flow_timeout()}};
  }
  std::string s = Dump(j);
  if (s == m.vpp_json) return;
  m.vpp_json = std::move(s);
  Publish("vpp", "{\"maglevd\":" + Quote(m.name) + ",\"vpp\":" + m.vpp_json + "}");
}

void Store::PutVppInfo(const std::string& name, const maglev::VPPInfo* info,
                       const std::string& error) {
  MutexLock lock(mu_);
  M* m = Find(name);
  if (!m) return;
  m->vpp_ok = info != nullptr;
  m->vpp_error = info ? "" : error;
  m->vpp = info ? *info : maglev::VPPInfo();
  RebuildVpp(*m);
}

std::set<std::string> Store::PutLbState(const std::string& name, const maglev::VPPLBState* state) {
  MutexLock lock(mu_);
  std::set<std::string> changed;
  M* m = Find(name);
  if (!m) return changed;
  std::map<std::string, VipView> vips;
  if (state) {
    for (const auto& vip : state->vips()) {
      vips[VipKey(vip.prefix(), vip.protocol(), vip.port())] = MakeVipView(vip);
    }
    m->lb_conf = state->conf();
  }
  m->lb_ok = state != nullptr;
  auto same = [](const VipView& a, const VipView& b) {
    if (a.fingerprint != b.fingerprint || a.ases.size() != b.ases.size()) return false;
    for (size_t i = 0; i < a.ases.size(); ++i) {
      if (a.ases[i].address != b.ases[i].address || a.ases[i].weight != b.ases[i].weight ||
          a.ases[i].buckets != b.ases[i].buckets || a.ases[i].flags != b.ases[i].flags) {
        return false;
      }
    }
    return true;
  };
  std::set<std::string> changed_keys;
  for (const auto& [k, v] : vips) {
    auto it = m->vips.find(k);
    if (it == m->vips.end() || !same(it->second, v)) changed_keys.insert(k);
  }
  for (const auto& [k, v] : m->vips) {
    if (!vips.count(k)) changed_keys.insert(k);
  }
  m->vips = std::move(vips);
  for (const auto& [fe_name, fe] : m->frontends) {
    if (changed_keys.count(FrontendVipKey(fe))) {
      changed.insert(fe_name);
      RebuildFrontend(*m, fe_name);
    }
  }
  RebuildVpp(*m);
  return changed;
}

// ---------------------------------------------------------------- frontends

void Store::RebuildFrontend(M& m, const std::string& name) {
  auto it = m.frontends.find(name);
  if (it == m.frontends.end()) return;
  const maglev::FrontendInfo& fe = it->second;
  const VipView* vip = nullptr;
  if (auto v = m.vips.find(FrontendVipKey(fe)); v != m.vips.end()) vip = &v->second;

  json pools = json::array();
  for (const auto& pool : fe.pools()) {
    json backends = json::array();
    for (const auto& pb : pool.backends()) {
      json b = {{"name", pb.name()},
                {"weight", pb.weight()},
                {"effective_weight", pb.effective_weight()},
                {"state", pb.state()},
                {"enabled", pb.enabled()},
                {"vpp_weight", pb.vpp_weight()},
                {"vpp_differs", pb.vpp_differs()},
                {"vpp_buckets", nullptr}};
      if (vip) {
        auto be = m.backends.find(pb.name());
        if (be != m.backends.end()) {
          for (const auto& as : vip->ases) {
            if (as.address == be->second.address()) b["vpp_buckets"] = as.buckets;
          }
        }
      }
      backends.push_back(std::move(b));
    }
    pools.push_back({{"name", pool.name()}, {"backends", std::move(backends)}});
  }
  json j = {{"name", fe.name()},
            {"address", fe.address()},
            {"protocol", fe.protocol()},
            {"port", fe.port()},
            {"description", fe.description()},
            {"src_ip_sticky", fe.src_ip_sticky()},
            {"flush_on_down", fe.flush_on_down()},
            {"state", fe.state()},
            {"active_pool", fe.active_pool()},
            {"dataplane", fe.dataplane()},
            {"dataplane_detail", fe.dataplane_detail()},
            {"dataplane_pending", fe.dataplane_pending()},
            {"pools", std::move(pools)},
            {"vip", nullptr}};
  if (vip) {
    json ases = json::array();
    for (const auto& as : vip->ases) {
      ases.push_back({{"address", as.address},
                      {"weight", as.weight},
                      {"buckets", as.buckets},
                      {"flags", as.flags}});
    }
    j["vip"] = {{"encap", vip->encap},
                {"flow_table_length", vip->flow_table_length},
                {"fingerprint", vip->fingerprint},
                {"ases", std::move(ases)}};
  } else if (!m.lb_ok) {
    j["vip"] = {{"unknown", true}};  // VPP's state could not be read
  }
  std::string s = Dump(j);
  std::string& cached = m.frontend_json[name];
  if (s == cached) return;
  cached = std::move(s);
  Publish("frontend", "{\"maglevd\":" + Quote(m.name) + ",\"name\":" + Quote(name) +
                          ",\"frontend\":" + cached + "}");
}

void Store::PutFrontend(const std::string& name, const maglev::FrontendInfo& fe) {
  MutexLock lock(mu_);
  M* m = Find(name);
  if (!m) return;
  m->frontends[fe.name()] = fe;
  RebuildFrontend(*m, fe.name());
}

void Store::RemoveFrontend(const std::string& name, const std::string& fe) {
  MutexLock lock(mu_);
  M* m = Find(name);
  if (!m || !m->frontends.erase(fe)) return;
  m->frontend_json.erase(fe);
  Publish("frontend-removed", "{\"maglevd\":" + Quote(m->name) + ",\"name\":" + Quote(fe) + "}");
}

void Store::RetainFrontends(const std::string& name, const std::vector<std::string>& names) {
  std::set<std::string> keep(names.begin(), names.end());
  std::vector<std::string> gone;
  {
    MutexLock lock(mu_);
    M* m = Find(name);
    if (!m) return;
    for (const auto& [fe, _] : m->frontends) {
      if (!keep.count(fe)) gone.push_back(fe);
    }
  }
  for (const auto& fe : gone) RemoveFrontend(name, fe);
}

// ---------------------------------------------------------------- backends

void Store::MergeTransitions(maglev::BackendInfo* into, const maglev::BackendInfo& from) const {
  // Union of what maglevd keeps (its bounded history) and what this process
  // has seen live, newest first; the last hour is kept, plus the newest
  // record before it (where the timeline starts).
  std::vector<maglev::TransitionRecord> all(into->transitions().begin(), into->transitions().end());
  all.insert(all.end(), from.transitions().begin(), from.transitions().end());
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) {
    return std::make_tuple(b.at_unix_ns(), b.to(), b.from()) <
           std::make_tuple(a.at_unix_ns(), a.to(), a.from());
  });
  all.erase(std::unique(all.begin(), all.end(),
                        [](const auto& a, const auto& b) {
                          return a.at_unix_ns() == b.at_unix_ns() && a.to() == b.to() &&
                                 a.from() == b.from();
                        }),
            all.end());
  int64_t horizon = now_ns_() - kHourNs;
  size_t keep = 0;
  while (keep < all.size() && keep < kMaxHistory && all[keep].at_unix_ns() >= horizon) ++keep;
  if (keep < all.size() && keep < kMaxHistory) ++keep;  // the one before the window
  keep = std::max(keep, std::min<size_t>(all.size(), 5));
  all.resize(keep);
  into->clear_transitions();
  for (auto& t : all) *into->add_transitions() = std::move(t);
}

void Store::RebuildBackend(M& m, const std::string& name) {
  auto it = m.backends.find(name);
  if (it == m.backends.end()) return;
  const maglev::BackendInfo& be = it->second;
  json transitions = json::array();
  for (const auto& t : be.transitions()) transitions.push_back(TransitionJson(t));
  json j = {{"name", be.name()},
            {"address", be.address()},
            {"state", be.state()},
            {"enabled", be.enabled()},
            {"healthcheck", be.healthcheck()},
            {"counter", be.counter()},
            {"rise", be.rise()},
            {"fall", be.fall()},
            {"last_code", be.last_code()},
            {"last_detail", be.last_detail()},
            {"frontends", be.frontends()},
            {"transitions", std::move(transitions)}};
  std::string s = Dump(j);
  std::string& cached = m.backend_json[name];
  if (s == cached) return;
  cached = std::move(s);
  Publish("backend", "{\"maglevd\":" + Quote(m.name) + ",\"name\":" + Quote(name) +
                         ",\"backend\":" + cached + "}");
}

void Store::PutBackend(const std::string& name, const maglev::BackendInfo& be) {
  MutexLock lock(mu_);
  M* m = Find(name);
  if (!m) return;
  maglev::BackendInfo merged = be;
  std::string old_address;
  if (auto it = m->backends.find(be.name()); it != m->backends.end()) {
    old_address = it->second.address();
    merged.clear_transitions();
    *merged.mutable_transitions() = it->second.transitions();
    MergeTransitions(&merged, be);
  } else {
    MergeTransitions(&merged, maglev::BackendInfo());
  }
  m->backends[be.name()] = std::move(merged);
  RebuildBackend(*m, be.name());
  if (old_address != be.address()) {
    // Bucket counts are joined by address.
    for (const auto& fe : be.frontends()) RebuildFrontend(*m, fe);
  }
}

void Store::RemoveBackend(const std::string& name, const std::string& be) {
  MutexLock lock(mu_);
  M* m = Find(name);
  if (!m || !m->backends.erase(be)) return;
  m->backend_json.erase(be);
  m->live.erase(be);
  Publish("backend-removed", "{\"maglevd\":" + Quote(m->name) + ",\"name\":" + Quote(be) + "}");
}

void Store::RetainBackends(const std::string& name, const std::vector<std::string>& names) {
  std::set<std::string> keep(names.begin(), names.end());
  std::vector<std::string> gone;
  {
    MutexLock lock(mu_);
    M* m = Find(name);
    if (!m) return;
    for (const auto& [be, _] : m->backends) {
      if (!keep.count(be)) gone.push_back(be);
    }
  }
  for (const auto& be : gone) RemoveBackend(name, be);
}

// ---------------------------------------------------------------- health checks

void Store::PutHealthCheck(const std::string& name, const maglev::HealthCheckInfo& hc) {
  MutexLock lock(mu_);
  M* m = Find(name);
  if (!m) return;
  json j = {{"name", hc.name()},
            {"type", hc.type()},
            {"port", hc.port()},
            {"interval_ns", hc.interval_ns()},
            {"fast_interval_ns", hc.fast_interval_ns()},
            {"down_interval_ns", hc.down_interval_ns()},
            {"timeout_ns", hc.timeout_ns()},
            {"rise", hc.rise()},
            {"fall", hc.fall()}};
  if (hc.has_http()) {
    j["http"] = {{"path", hc.http().path()},
                 {"host", hc.http().host()},
                 {"response_code_min", hc.http().response_code_min()},
                 {"response_code_max", hc.http().response_code_max()},
                 {"response_regexp", hc.http().response_regexp()}};
  }
  std::string s = Dump(j);
  std::string& cached = m->healthcheck_json[hc.name()];
  if (s == cached) return;
  cached = std::move(s);
  Publish("healthcheck", "{\"maglevd\":" + Quote(m->name) + ",\"name\":" + Quote(hc.name()) +
                             ",\"healthcheck\":" + cached + "}");
}

void Store::RetainHealthChecks(const std::string& name, const std::vector<std::string>& names) {
  MutexLock lock(mu_);
  M* m = Find(name);
  if (!m) return;
  std::set<std::string> keep(names.begin(), names.end());
  for (auto it = m->healthcheck_json.begin(); it != m->healthcheck_json.end();) {
    if (keep.count(it->first)) {
      ++it;
      continue;
    }
    Publish("healthcheck-removed",
            "{\"maglevd\":" + Quote(m->name) + ",\"name\":" + Quote(it->first) + "}");
    it = m->healthcheck_json.erase(it);
  }
}

// ---------------------------------------------------------------- events

Dirty Store::OnEvent(const std::string& name, const maglev::Event& ev) {
  MutexLock lock(mu_);
  Dirty dirty;
  M* m = Find(name);
  if (!m) return dirty;
  switch (ev.event_case()) {
    case maglev::Event::kLog:
      OnLog(*m, ev.log(), &dirty);
      break;
    case maglev::Event::kBackend:
      OnBackendEvent(*m, ev.backend(), &dirty);
      break;
    case maglev::Event::kFrontend: {
      const auto& fe = ev.frontend();
      auto it = m->frontends.find(fe.frontend_name());
      if (it != m->frontends.end()) {
        it->second.set_state(fe.to());
        RebuildFrontend(*m, fe.frontend_name());
      }
      dirty.frontends.insert(fe.frontend_name());
      break;
    }
    default:
      break;
  }
  return dirty;
}

void Store::OnBackendEvent(M& m, const maglev::BackendEvent& ev, Dirty* dirty) {
  const std::string& be_name = ev.backend_name();
  dirty->backends.insert(be_name);
  auto it = m.backends.find(be_name);
  if (it == m.backends.end()) {
    dirty->full = true;  // a backend we do not know yet (a reload)
    return;
  }
  maglev::BackendInfo& be = it->second;
  const std::string& to = ev.transition().to();
  be.set_state(to);
  if (to == "disabled") be.set_enabled(false);
  if (ev.transition().from() == "disabled") be.set_enabled(true);
  maglev::BackendInfo one;
  *one.add_transitions() = ev.transition();
  MergeTransitions(&be, one);
  RebuildBackend(m, be_name);
  // The frontends' copies of the state change at once; their effective
  // weights follow with the GetFrontend the link makes next.
  for (const auto& fe_name : be.frontends()) {
    dirty->frontends.insert(fe_name);
    auto fe = m.frontends.find(fe_name);
    if (fe == m.frontends.end()) continue;
    for (auto& pool : *fe->second.mutable_pools()) {
      for (auto& pb : *pool.mutable_backends()) {
        if (pb.name() != be_name) continue;
        pb.set_state(to);
        pb.set_enabled(be.enabled());
      }
    }
    RebuildFrontend(m, fe_name);
  }
  if (to == "removed") dirty->full = true;
}

void Store::OnLog(M& m, const maglev::LogEvent& log, Dirty* dirty) {
  const std::string& msg = log.msg();
  if (msg == "probe-start" || msg == "probe-done") {
    std::string be = LogAttr(log, "backend");
    Live& live = m.live[be];
    json j = {{"maglevd", m.name}, {"backend", be}, {"at_ns", log.at_unix_ns()}};
    if (msg == "probe-start") {
      live.in_flight = true;
      live.started_ns = log.at_unix_ns();
      j["phase"] = "start";
    } else {
      live.in_flight = false;
      live.has_result = true;
      live.ok = LogAttr(log, "ok") == "true";
      live.code = LogAttr(log, "code");
      live.detail = LogAttr(log, "detail");
      live.elapsed = LogAttr(log, "elapsed");
      live.at_ns = log.at_unix_ns();
      if (live.ok) {
        live.streak = live.streak > 0 ? live.streak + 1 : 1;
      } else {
        live.streak = live.streak < 0 ? live.streak - 1 : -1;
      }
      j["phase"] = "done";
      j["ok"] = live.ok;
      j["code"] = live.code;
      j["detail"] = live.detail;
      j["elapsed"] = live.elapsed;
      j["streak"] = live.streak;
    }
    Publish("probe", Dump(j));
    return;
  }
  json attrs = json::object();
  for (const auto& a : log.attrs()) attrs[a.key()] = a.value();
  Publish("log", Dump({{"maglevd", m.name},
                       {"at_ns", log.at_unix_ns()},
                       {"level", log.level()},
                       {"msg", msg},
                       {"attrs", std::move(attrs)}}));
  if (msg == "lb-sync") {
    m.last_sync = {log.at_unix_ns(), LogAttr(log, "sync"), LogAttr(log, "calls"),
                   LogAttr(log, "failed")};
    RebuildVpp(m);
    dirty->lb_state = true;
  } else if (msg == "lb-sync-failed" || msg == "lb-call-failed" || msg == "lb-stale-vip") {
    dirty->lb_state = true;
  } else if (msg == "vpp-connect" || msg == "vpp-disconnect") {
    dirty->vpp_info = true;
    dirty->lb_state = true;
  } else if (msg == "frontend-pool-weight") {
    dirty->frontends.insert(LogAttr(log, "frontend"));
  } else if (msg == "config-reload" || msg == "warmup-done") {
    dirty->full = true;
  } else if (msg == "warmup-release") {
    dirty->frontends.insert(LogAttr(log, "frontend"));
    dirty->lb_state = true;
  }
}

// ---------------------------------------------------------------- snapshots

std::string Store::MaglevdJsonLocked(const M& m) const {
  std::string out;
  out.reserve(256 + m.frontend_json.size() * 1024 + m.backend_json.size() * 512);
  out += "{\"name\":" + Quote(m.name) + ",\"status\":" + m.status_json + ",\"vpp\":" + m.vpp_json;
  auto map = [&out](const char* key, const std::map<std::string, std::string>& items) {
    out += ",\"";
    out += key;
    out += "\":{";
    bool first = true;
    for (const auto& [k, v] : items) {
      if (!first) out += ',';
      first = false;
      out += Quote(k);
      out += ':';
      out += v;
    }
    out += '}';
  };
  map("frontends", m.frontend_json);
  map("backends", m.backend_json);
  map("healthchecks", m.healthcheck_json);
  json probes = json::object();
  for (const auto& [be, live] : m.live) {
    json p = {{"in_flight", live.in_flight}, {"streak", live.streak}};
    if (live.has_result) {
      p["ok"] = live.ok;
      p["code"] = live.code;
      p["detail"] = live.detail;
      p["elapsed"] = live.elapsed;
      p["at_ns"] = live.at_ns;
    }
    probes[be] = std::move(p);
  }
  out += ",\"probes\":" + Dump(probes) + "}";
  return out;
}

std::string Store::StateJson() const {
  MutexLock lock(mu_);
  std::string out = "{\"event_id\":" + Quote(ring_.IdOf(ring_.last_seq())) + ",\"maglevds\":[";
  bool first = true;
  for (const auto& name : order_) {
    if (!first) out += ',';
    first = false;
    out += MaglevdJsonLocked(maglevds_.at(name));
  }
  out += "]}";
  return out;
}

std::optional<std::string> Store::MaglevdStateJson(const std::string& name) const {
  MutexLock lock(mu_);
  const M* m = Find(name);
  if (!m) return std::nullopt;
  return "{\"event_id\":" + Quote(ring_.IdOf(ring_.last_seq())) +
         ",\"maglevd\":" + MaglevdJsonLocked(*m) + "}";
}

std::string Store::MaglevdsJson() const {
  MutexLock lock(mu_);
  std::string out = "{\"maglevds\":[";
  bool first = true;
  for (const auto& name : order_) {
    if (!first) out += ',';
    first = false;
    out += maglevds_.at(name).status_json;
  }
  return out + "]}";
}

std::string Store::VersionJson() const {
  MutexLock lock(mu_);
  json ms = json::array();
  for (const auto& name : order_) {
    const M& m = maglevds_.at(name);
    ms.push_back({{"name", m.name}, {"version", m.version.version()}});
  }
  return Dump({{"version", MAGLEV_VERSION},
               {"epoch", ring_.epoch()},
               {"event_id", ring_.IdOf(ring_.last_seq())},
               {"maglevds", std::move(ms)}});
}

}  // namespace maglev::frontend
