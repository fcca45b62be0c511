#include "render.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <sstream>
#include <utility>

#include "common/duration.h"

namespace maglev::cli {
namespace {

// Aligned `key  value` lines under an optional title.
class Details {
 public:
  void Add(std::string key, std::string value, std::string color = "") {
    rows_.push_back({std::move(key), std::move(value), std::move(color)});
  }
  std::string Render(const Style& style, const std::string& indent = "  ") const {
    size_t width = 0;
    for (const auto& r : rows_) width = std::max(width, r.key.size());
    std::string out;
    for (const auto& r : rows_) {
      out += indent + r.key + std::string(width - r.key.size() + 2, ' ') +
             Colorize(r.value, r.color, style) + "\n";
    }
    return out;
  }

 private:
  struct Row {
    std::string key, value, color;
  };
  std::vector<Row> rows_;
};

std::string OrDash(const std::string& s) { return s.empty() ? "-" : s; }
std::string Bool(bool b) { return b ? "true" : "false"; }

std::string ProtocolName(uint32_t p) {
  switch (p) {
    case 6:
      return "tcp";
    case 17:
      return "udp";
    case 255:
      return "any";
    default:
      return std::to_string(p);
  }
}

std::string AsFlags(uint32_t flags) {
  std::string out;
  if (flags & 1) out = "used";
  if (flags & 2) out += out.empty() ? "flushed" : ",flushed";
  return out.empty() ? "-" : out;
}

std::string LevelColor(const std::string& level) {
  if (level == "error") return "31";
  if (level == "warn") return "33";
  if (level == "debug") return "2";
  return "";
}

// Quotes a value when it would not survive whitespace splitting.
std::string Quote(const std::string& v) {
  bool plain = !v.empty() && v.find_first_of(" \t\"=\n") == std::string::npos;
  if (plain) return v;
  std::string out = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

std::string Age(int64_t since_ns, const Style& style) {
  if (since_ns <= 0 || style.now_unix_ns <= since_ns) return "";
  int64_t secs = (style.now_unix_ns - since_ns) / 1'000'000'000;
  return FormatDuration(std::chrono::seconds(secs));
}

// The time from now to `at_ns`, or "" when it has passed.
std::string Until(int64_t at_ns, const Style& style) {
  if (at_ns <= style.now_unix_ns) return "";
  return FormatDuration(std::chrono::seconds((at_ns - style.now_unix_ns) / 1'000'000'000));
}

}  // namespace

Table::Table(std::vector<std::string> header) {
  std::vector<Cell> row;
  for (auto& h : header) row.push_back({std::move(h), ""});
  rows_.push_back(std::move(row));
}

void Table::AddRow(std::vector<Cell> row) { rows_.push_back(std::move(row)); }

std::string Table::Render(const Style& style) const {
  std::vector<size_t> width;
  for (const auto& row : rows_) {
    if (width.size() < row.size()) width.resize(row.size(), 0);
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].text.size());
  }
  std::string out;
  for (const auto& row : rows_) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += Colorize(row[i].text, row[i].color, style);
      // Padding from the visible width.
      if (i + 1 < row.size()) line += std::string(width[i] - row[i].text.size() + 2, ' ');
    }
    // No trailing blanks when the last columns are empty.
    line.erase(line.find_last_not_of(' ') + 1);
    out += line + "\n";
  }
  return out;
}

std::string StateColor(const std::string& state) {
  if (state == "up") return "32";
  if (state == "down") return "31";
  if (state == "paused" || state == "disabled") return "33";
  if (state == "removed") return "35";
  if (state == "unknown") return "2";
  return "";
}

std::string DataplaneColor(const std::string& status) {
  if (status == "in-sync") return "32";
  if (status == "out-of-sync") return "31";
  if (status == "warmup" || status == "unknown") return "33";
  return "";
}

std::string Colorize(const std::string& text, const std::string& color, const Style& style) {
  if (!style.color || color.empty() || text.empty()) return text;
  return "\033[" + color + "m" + text + "\033[0m";
}

std::string FormatTime(int64_t unix_ns) {
  if (unix_ns <= 0) return "-";
  time_t secs = static_cast<time_t>(unix_ns / 1'000'000'000);
  int millis = static_cast<int>((unix_ns / 1'000'000) % 1000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
  return buf;
}

std::string FormatNs(int64_t ns) { return FormatDuration(std::chrono::nanoseconds(ns)); }

std::string RenderVersion(const std::string& client_version, const std::string& server,
                          const VersionInfo& v, const Style& style) {
  Details d;
  d.Add("maglevc", client_version);
  d.Add("maglevd", v.version());
  std::string started = FormatTime(v.start_time_unix_ns());
  std::string age = Age(v.start_time_unix_ns(), style);
  d.Add("started", age.empty() ? started : started + " (up " + age + ")");
  d.Add("config", OrDash(v.config_path()));
  d.Add("server", server);
  return d.Render(style, "");
}

std::string RenderFrontendList(const std::vector<FrontendInfo>& fes, const Style& style) {
  Table t({"NAME", "ADDRESS", "PROTOCOL", "PORT", "STATE", "ACTIVE-POOL", "DESCRIPTION"});
  for (const FrontendInfo& fe : fes) {
    t.AddRow({{fe.name(), ""},
              {fe.address(), ""},
              {fe.protocol(), ""},
              {std::to_string(fe.port()), ""},
              {fe.state(), StateColor(fe.state())},
              {OrDash(fe.active_pool()), ""},
              {fe.description(), ""}});
  }
  return t.Render(style);
}

std::string RenderFrontend(const FrontendInfo& fe, const Style& style) {
  Details d;
  d.Add("description", OrDash(fe.description()));
  d.Add("address", fe.address());
  d.Add("protocol", fe.protocol());
  d.Add("port", std::to_string(fe.port()));
  d.Add("src-ip-sticky", Bool(fe.src_ip_sticky()));
  d.Add("flush-on-down", Bool(fe.flush_on_down()));
  d.Add("state", fe.state(), StateColor(fe.state()));
  d.Add("active-pool", OrDash(fe.active_pool()));
  d.Add("servable", Bool(fe.servable()), fe.servable() ? "" : "31");
  if (!fe.dataplane().empty()) {  // empty: maglevd runs without a dataplane
    std::string text = fe.dataplane();
    if (!fe.dataplane_detail().empty()) text += " (" + fe.dataplane_detail() + ")";
    d.Add("dataplane", text, DataplaneColor(fe.dataplane()));
  }
  std::string out = "frontend " + fe.name() + "\n" + d.Render(style);
  std::string differs;
  for (const PoolInfo& p : fe.pools()) {
    out += "  pool " + p.name() + "\n";
    for (const PoolBackendInfo& b : p.backends()) {
      // Kept free of colour and padding: scripts match this line.
      // A runtime weight says so: "weight 20 (runtime; config 100)".
      std::string weight = std::to_string(b.weight());
      if (b.weight_runtime())
        weight += " (runtime; config " + std::to_string(b.config_weight()) + ")";
      out += "    " + b.name() + " weight " + weight + " effective " +
             std::to_string(b.effective_weight()) + (b.enabled() ? "" : " [disabled]") +
             (b.draining() ? " [draining]" : "") +
             (b.slow_start_percent() > 0 && b.slow_start_percent() < 100
                  ? " [slow start " + std::to_string(b.slow_start_percent()) + "%]"
                  : "") +
             "\n";
      if (b.vpp_differs()) {
        differs += "    " + b.name() + " vpp " +
                   (b.vpp_weight() < 0 ? "absent" : std::to_string(b.vpp_weight())) +
                   " effective " + std::to_string(b.effective_weight()) + "\n";
      }
    }
  }
  // Where VPP disagrees: per backend, then the exact calls a sync would send
  // (these include ASes no backend accounts for).
  if (!differs.empty()) out += "  vpp differs\n" + differs;
  if (fe.dataplane_pending_size() > 0) {
    out += "  pending sync\n";
    for (const std::string& call : fe.dataplane_pending()) out += "    " + call + "\n";
  }
  return out;
}

std::string RenderBackendList(const std::vector<BackendInfo>& bes, const Style& style) {
  Table t({"NAME", "ADDRESS", "STATE", "ENABLED", "HEALTHCHECK", "LAST-PROBE"});
  for (const BackendInfo& b : bes) {
    std::string last = b.last_code().empty() ? "-" : b.last_code();
    if (!b.last_detail().empty()) last += " " + b.last_detail();
    t.AddRow({{b.name(), ""},
              {b.address(), ""},
              {b.state(), StateColor(b.state())},
              {Bool(b.enabled()), ""},
              {OrDash(b.healthcheck()), ""},
              {last, ""}});
  }
  return t.Render(style);
}

std::string RenderBackend(const BackendInfo& b, const Style& style) {
  Details d;
  d.Add("address", b.address());
  // An operator's decision that outlives restarts (the state file) says so:
  // "disabled (runtime)", "enabled: yes (runtime; config no)".
  d.Add("state", b.state() + (b.admin_runtime() ? " (runtime)" : ""), StateColor(b.state()));
  d.Add("enabled", b.admin_runtime() && b.enabled() != b.config_enabled()
                       ? Bool(b.enabled()) + " (runtime; config " + Bool(b.config_enabled()) + ")"
                       : Bool(b.enabled()));
  d.Add("healthcheck", OrDash(b.healthcheck()));
  d.Add("health", std::to_string(b.counter()) + "/" + std::to_string(b.rise() + b.fall() - 1) +
                      " (rise " + std::to_string(b.rise()) + ", fall " + std::to_string(b.fall()) +
                      ")");
  std::string last = OrDash(b.last_code());
  if (!b.last_detail().empty()) last += " (" + b.last_detail() + ")";
  d.Add("last-probe", last);
  std::string fes;
  for (const std::string& f : b.frontends()) fes += (fes.empty() ? "" : ", ") + f;
  d.Add("frontends", OrDash(fes));
  if (b.draining()) {
    std::string left = Until(b.drain_deadline_unix_ns(), style);
    d.Add("draining",
          "disabled at " + FormatTime(b.drain_deadline_unix_ns()) +
              (left.empty() ? "" : " (" + left + " left)"),
          "33");
  }
  if (b.slow_start_percent() > 0 && b.slow_start_percent() < 100) {
    d.Add("slow-start", std::to_string(b.slow_start_percent()) + "% of its weight, all of it at " +
                            FormatTime(b.slow_start_full_unix_ns()));
  }
  std::string out = "backend " + b.name() + "\n" + d.Render(style);
  if (b.transitions_size() > 0) {
    out += "  transitions\n";
    Table t({"TIME", "FROM", "TO", "CODE", "DETAIL"});
    for (const TransitionRecord& tr : b.transitions()) {
      t.AddRow({{FormatTime(tr.at_unix_ns()), ""},
                {tr.from(), StateColor(tr.from())},
                {tr.to(), StateColor(tr.to())},
                {OrDash(tr.code()), ""},
                {tr.detail(), ""}});
    }
    std::istringstream lines(t.Render(style));
    for (std::string line; std::getline(lines, line);) out += "    " + line + "\n";
  }
  return out;
}

std::string RenderHealthCheckList(const std::vector<HealthCheckInfo>& hcs, const Style& style) {
  Table t({"NAME", "TYPE", "PORT", "INTERVAL", "FAST", "DOWN", "TIMEOUT", "RISE", "FALL"});
  for (const HealthCheckInfo& h : hcs) {
    t.AddRow({{h.name(), ""},
              {h.type(), ""},
              {h.port() ? std::to_string(h.port()) : "-", ""},
              {FormatNs(h.interval_ns()), ""},
              {FormatNs(h.fast_interval_ns()), ""},
              {FormatNs(h.down_interval_ns()), ""},
              {FormatNs(h.timeout_ns()), ""},
              {std::to_string(h.rise()), ""},
              {std::to_string(h.fall()), ""}});
  }
  return t.Render(style);
}

std::string RenderHealthCheck(const HealthCheckInfo& h, const Style& style) {
  Details d;
  d.Add("type", h.type());
  d.Add("port", h.port() ? std::to_string(h.port()) : "-");
  d.Add("interval", FormatNs(h.interval_ns()));
  d.Add("fast-interval", FormatNs(h.fast_interval_ns()));
  d.Add("down-interval", FormatNs(h.down_interval_ns()));
  d.Add("timeout", FormatNs(h.timeout_ns()));
  d.Add("rise", std::to_string(h.rise()));
  d.Add("fall", std::to_string(h.fall()));
  d.Add("probe-ipv4-src", OrDash(h.probe_ipv4_src()));
  d.Add("probe-ipv6-src", OrDash(h.probe_ipv6_src()));
  if (h.has_http()) {
    const HTTPCheckParams& p = h.http();
    d.Add("http.path", p.path());
    d.Add("http.host", OrDash(p.host()));
    d.Add("http.response-code", p.response_code_min() == p.response_code_max()
                                    ? std::to_string(p.response_code_min())
                                    : std::to_string(p.response_code_min()) + "-" +
                                          std::to_string(p.response_code_max()));
    d.Add("http.response-regexp", OrDash(p.response_regexp()));
    d.Add("http.server-name", OrDash(p.server_name()));
    d.Add("http.insecure-skip-verify", Bool(p.insecure_skip_verify()));
  }
  if (h.has_tcp()) {
    const TCPCheckParams& p = h.tcp();
    d.Add("tcp.ssl", Bool(p.ssl()));
    d.Add("tcp.server-name", OrDash(p.server_name()));
    d.Add("tcp.insecure-skip-verify", Bool(p.insecure_skip_verify()));
  }
  return "healthcheck " + h.name() + "\n" + d.Render(style);
}

std::string RenderVppInfo(const VPPInfo& info, const Style& style) {
  Details d;
  d.Add("connected", Bool(info.connected()), info.connected() ? "32" : "31");
  d.Add("version", OrDash(info.version()));
  d.Add("build-date", OrDash(info.build_date()));
  d.Add("build-directory", OrDash(info.build_directory()));
  d.Add("pid", info.pid() ? std::to_string(info.pid()) : "-");
  if (info.boottime_ns() > 0) {
    d.Add("boot-time",
          FormatTime(info.boottime_ns()) + " (up " + Age(info.boottime_ns(), style) + ")");
  } else {
    // Boot time comes from VPP's stats segment, which this maglevd does not read.
    d.Add("boot-time", "unknown (not read from VPP's stats segment)");
  }
  std::string conn = FormatTime(info.connecttime_ns());
  std::string since = Age(info.connecttime_ns(), style);
  d.Add("connect-time", since.empty() ? conn : conn + " (" + since + " ago)");
  d.Add("lb-api", OrDash(info.lb_api()));
  return d.Render(style, "");
}

std::string RenderVppLbState(const VPPLBState& state, const Style& style) {
  Details d;
  d.Add("ip4-src-address", OrDash(state.conf().ip4_src_address()));
  d.Add("ip6-src-address", OrDash(state.conf().ip6_src_address()));
  d.Add("sticky-buckets-per-core", std::to_string(state.conf().sticky_buckets_per_core()));
  d.Add("flow-timeout", std::to_string(state.conf().flow_timeout()) + "s");
  std::string out = "lb conf\n" + d.Render(style);
  for (const VPPLBVIP& v : state.vips()) {
    out += "vip " + v.prefix() + " protocol " + ProtocolName(v.protocol()) + " port " +
           std::to_string(v.port()) + " encap " + v.encap() + " flow-table-length " +
           std::to_string(v.flow_table_length()) + "\n";
    for (const VPPLBAS& as : v.application_servers()) {
      out += "  " + as.address() + " weight " + std::to_string(as.weight()) + " buckets " +
             std::to_string(as.num_buckets()) + " flags " + AsFlags(as.flags()) + " in-use-since " +
             FormatTime(as.in_use_since_ns()) + "\n";
    }
  }
  if (state.vips_size() == 0) out += "no VIPs\n";
  return out;
}

std::string FormatRate(uint64_t before, uint64_t now, int64_t dt_ns) {
  if (dt_ns <= 0 || now < before) return "-";
  double rate = static_cast<double>(now - before) * 1e9 / static_cast<double>(dt_ns);
  char buf[32];
  std::snprintf(buf, sizeof buf, rate >= 100 || rate == 0 ? "%.0f" : "%.1f", rate);
  return buf;
}

std::string RenderVppLbCounters(const VPPLBCounters& c, const Style& style) {
  Table t({"FRONTEND", "VIP", "EXISTING", "FIRST", "UNTRACKED", "NO-SERVER", "PKT/S", "ROUTE-PKTS",
           "ROUTE-BYTES", "ROUTE-PKT/S"});
  const int64_t dt =
      c.previous_sample_time_ns() > 0 ? c.sample_time_ns() - c.previous_sample_time_ns() : 0;
  auto lb_sum = [](const VPPLBCounterValues& v) {
    return v.existing_session_packets() + v.first_session_packets() + v.untracked_packets() +
           v.no_server_packets();
  };
  for (const VPPLBFrontendCounters& f : c.frontends()) {
    const VPPLBCounterValues& v = f.counters();
    if (!f.vip_in_vpp()) {
      t.AddRow({{f.frontend(), ""},
                {f.vip(), ""},
                {"-", ""},
                {"-", ""},
                {"-", ""},
                {"-", ""},
                {"-", ""},
                {"-", ""},
                {"-", ""},
                {"not in VPP", "33"}});
      continue;
    }
    std::string rate = "-", route_rate = "-";
    if (f.has_previous()) {
      rate = FormatRate(lb_sum(f.previous()), lb_sum(v), dt);
      if (f.route_known())
        route_rate = FormatRate(f.previous().route_packets(), v.route_packets(), dt);
    }
    std::string rp = f.route_known() ? std::to_string(v.route_packets()) : "-";
    std::string rb = f.route_known() ? std::to_string(v.route_bytes()) : "-";
    t.AddRow({{f.frontend(), ""},
              {f.vip(), ""},
              {std::to_string(v.existing_session_packets()), ""},
              {std::to_string(v.first_session_packets()), ""},
              {std::to_string(v.untracked_packets()), ""},
              {std::to_string(v.no_server_packets()), v.no_server_packets() ? "31" : ""},
              {rate, ""},
              {rp, ""},
              {rb, ""},
              {route_rate, ""}});
  }
  std::string out = "sample " + FormatTime(c.sample_time_ns());
  if (dt > 0) {
    // Whole milliseconds: the samples are stats-interval apart, give or take.
    out += ", rates over the " + FormatNs(dt / 1'000'000 * 1'000'000) + " since the sample before";
  } else {
    out += ", no earlier sample yet: rates unknown";
  }
  out += "\n";
  if (c.frontends_size() == 0) return out + "no frontends\n";
  return out + t.Render(style);
}

std::string RenderVppLbLookup(const VPPLBFlowLookup& l, const Style& style) {
  Details d;
  d.Add("frontend", l.frontend());
  d.Add("vip", l.vip());
  d.Add("flow", ProtocolName(l.protocol()) + " " + l.src_address() + ":" +
                    std::to_string(l.src_port()) + " -> port " + std::to_string(l.dst_port()));
  char hash[16];
  std::snprintf(hash, sizeof hash, "0x%08x", l.flow_hash());
  d.Add("flow-hash", hash);
  d.Add("bucket", std::to_string(l.bucket()) + " of " + std::to_string(l.flow_table_length()));
  if (l.as_address().empty()) {
    d.Add("application-server", "none (no AS takes new flows: dropped)", "31");
  } else {
    d.Add("application-server", l.as_address(), "32");
    d.Add("backend", OrDash(l.backend()));
  }
  return d.Render(style, "");
}

std::string RenderPreview(const PreviewResponse& r, const Style& style) {
  std::string out;
  auto pct = [](double share) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f %%", share * 100);
    return std::string(buf);
  };
  for (const PreviewVip& v : r.vips()) {
    out += "frontend " + v.frontend() + " vip " + v.vip() + ": moves " +
           std::to_string(v.moved_buckets()) + " of " + std::to_string(v.table_length()) +
           " buckets (" + pct(v.moved_share()) + ")\n";
    if (v.vip_added()) out += "  the VIP is created\n";
    if (v.vip_removed()) out += "  the VIP is removed: every flow is flushed\n";
    if (v.vip_recreated())
      out +=
          "  the VIP is re-created (encap, table length or src-ip-sticky): every flow is "
          "flushed\n";
    if (v.active_pool_before() != v.active_pool_after())
      out += "  active pool " + OrDash(v.active_pool_before()) + " -> " +
             OrDash(v.active_pool_after()) + "\n";
    Table t({"  BACKEND", "ADDRESS", "WEIGHT", "BUCKETS", "FLUSH"});
    for (const PreviewBackend& b : v.backends()) {
      auto w = [](bool in, int32_t weight) { return in ? std::to_string(weight) : "-"; };
      t.AddRow(
          {{"  " + OrDash(b.backend()), ""},
           {b.address(), ""},
           {w(b.in_vip_before(), b.weight_before()) + " -> " +
                w(b.in_vip_after(), b.weight_after()),
            ""},
           {std::to_string(b.buckets_before()) + " -> " + std::to_string(b.buckets_after()), ""},
           {b.flushed() ? "flushed" : "-", b.flushed() ? "31" : ""}});
    }
    out += t.Render(style);
    for (const PreviewMove& m : v.moves()) {
      out += "  " + std::to_string(m.buckets()) + " buckets " +
             (m.from().empty() ? std::string("(none)") : m.from()) + " -> " +
             (m.to().empty() ? std::string("(none)") : m.to()) + "\n";
    }
    if (v.flushed_size() > 0) {
      std::string names;
      for (const std::string& f : v.flushed()) names += (names.empty() ? "" : ", ") + f;
      out += "  " + Colorize("flushed", "31", style) + ": " + names + "\n";
    } else {
      out += "  flushed: none\n";
    }
  }
  if (r.vips_size() == 0) out += "no VIP would change\n";
  for (const std::string& a : r.assumptions()) out += "assuming " + a + "\n";
  out += "table mode " + OrDash(r.table_mode()) + "; preview only, nothing was changed\n";
  return out;
}

std::string RenderEvent(const Event& e, const Style& style) {
  switch (e.event_case()) {
    case Event::kLog: {
      const LogEvent& l = e.log();
      std::string out = FormatTime(l.at_unix_ns()) + " log " +
                        Colorize(l.level(), LevelColor(l.level()), style) + " " + l.msg();
      for (const LogAttr& a : l.attrs()) out += " " + a.key() + "=" + Quote(a.value());
      return out + "\n";
    }
    case Event::kBackend: {
      const BackendEvent& b = e.backend();
      const TransitionRecord& t = b.transition();
      std::string out = FormatTime(t.at_unix_ns()) + " backend " + b.backend_name() + " " +
                        Colorize(t.from(), StateColor(t.from()), style) + " -> " +
                        Colorize(t.to(), StateColor(t.to()), style);
      if (!t.code().empty()) out += " code=" + Quote(t.code());
      if (!t.detail().empty()) out += " detail=" + Quote(t.detail());
      return out + "\n";
    }
    case Event::kFrontend: {
      const FrontendEvent& f = e.frontend();
      std::string out = FormatTime(f.at_unix_ns()) + " frontend " + f.frontend_name() + " " +
                        Colorize(f.from(), StateColor(f.from()), style) + " -> " +
                        Colorize(f.to(), StateColor(f.to()), style);
      if (f.from_pool() != f.to_pool()) {
        auto name = [](const std::string& p) { return p.empty() ? std::string("none") : p; };
        out += " pool " + name(f.from_pool()) + " -> " + name(f.to_pool());
        if (!f.reason().empty()) out += " reason=" + Quote(f.reason());
      }
      if (f.from_servable() != f.servable()) out += f.servable() ? " servable" : " not-servable";
      return out + "\n";
    }
    default:
      return "";
  }
}

}  // namespace maglev::cli
