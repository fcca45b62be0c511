#include "commands.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include "absl/base/thread_annotations.h"
#include "common/duration.h"
#include "common/log.h"
#include "common/mutex.h"

namespace maglev::cli {
namespace {

Mutex g_watch_mu;
grpc::ClientContext* g_watch_ctx ABSL_GUARDED_BY(g_watch_mu) = nullptr;  // the watch in progress

Style StyleFor(const Output& io) { return Style{io.color, UnixNowNs()}; }

int Fail(const Output& io, const absl::Status& st) {
  io.err << "error: " << st.message() << "\n";
  return kExitError;
}

template <typename T>
std::vector<T> Sorted(std::vector<T> v) {
  std::sort(v.begin(), v.end(), [](const T& a, const T& b) { return a.name() < b.name(); });
  return v;
}

int ShowVersion(Client& c, const Output& io) {
  auto v = c.Call(&Maglev::Stub::GetVersion, GetVersionRequest{});
  if (!v.ok()) return Fail(io, v.status());
  io.out << RenderVersion(MAGLEV_VERSION, c.address(), *v, StyleFor(io));
  return kExitOk;
}

absl::StatusOr<FrontendInfo> GetFrontend(Client& c, const std::string& name) {
  GetFrontendRequest req;
  req.set_name(name);
  return c.Call(&Maglev::Stub::GetFrontend, req);
}

int ShowFrontends(Client& c, const Parsed& p, const Output& io) {
  if (p.Has("frontend")) {
    auto fe = GetFrontend(c, p.Get("frontend"));
    if (!fe.ok()) return Fail(io, fe.status());
    io.out << RenderFrontend(*fe, StyleFor(io));
    return kExitOk;
  }
  auto list = c.Call(&Maglev::Stub::ListFrontends, ListFrontendsRequest{});
  if (!list.ok()) return Fail(io, list.status());
  std::vector<FrontendInfo> fes;
  for (const std::string& name : list->frontend_names()) {
    auto fe = GetFrontend(c, name);
    if (fe.ok()) {
      fes.push_back(*fe);
    } else if (fe.status().code() != absl::StatusCode::kNotFound) {  // gone meanwhile: skip
      return Fail(io, fe.status());
    }
  }
  io.out << RenderFrontendList(Sorted(fes), StyleFor(io));
  return kExitOk;
}

absl::StatusOr<BackendInfo> GetBackend(Client& c, const std::string& name) {
  GetBackendRequest req;
  req.set_name(name);
  return c.Call(&Maglev::Stub::GetBackend, req);
}

int ShowBackends(Client& c, const Parsed& p, const Output& io) {
  if (p.Has("backend")) {
    auto be = GetBackend(c, p.Get("backend"));
    if (!be.ok()) return Fail(io, be.status());
    io.out << RenderBackend(*be, StyleFor(io));
    return kExitOk;
  }
  auto list = c.Call(&Maglev::Stub::ListBackends, ListBackendsRequest{});
  if (!list.ok()) return Fail(io, list.status());
  std::vector<BackendInfo> bes;
  for (const std::string& name : list->backend_names()) {
    auto be = GetBackend(c, name);
    if (be.ok()) {
      bes.push_back(*be);
    } else if (be.status().code() != absl::StatusCode::kNotFound) {
      return Fail(io, be.status());
    }
  }
  io.out << RenderBackendList(Sorted(bes), StyleFor(io));
  return kExitOk;
}

absl::StatusOr<HealthCheckInfo> GetHealthCheck(Client& c, const std::string& name) {
  GetHealthCheckRequest req;
  req.set_name(name);
  return c.Call(&Maglev::Stub::GetHealthCheck, req);
}

int ShowHealthChecks(Client& c, const Parsed& p, const Output& io) {
  if (p.Has("healthcheck")) {
    auto hc = GetHealthCheck(c, p.Get("healthcheck"));
    if (!hc.ok()) return Fail(io, hc.status());
    io.out << RenderHealthCheck(*hc, StyleFor(io));
    return kExitOk;
  }
  auto list = c.Call(&Maglev::Stub::ListHealthChecks, ListHealthChecksRequest{});
  if (!list.ok()) return Fail(io, list.status());
  std::vector<HealthCheckInfo> hcs;
  for (const std::string& name : list->names()) {
    auto hc = GetHealthCheck(c, name);
    if (hc.ok()) {
      hcs.push_back(*hc);
    } else if (hc.status().code() != absl::StatusCode::kNotFound) {
      return Fail(io, hc.status());
    }
  }
  io.out << RenderHealthCheckList(Sorted(hcs), StyleFor(io));
  return kExitOk;
}

int SetBackend(Client& c, const Parsed& p, const Output& io) {
  const std::string action = p.Get("action");
  if (action == "drain") {
    DrainBackendRequest req;
    req.set_name(p.Get("backend"));
    if (p.Has("timeout")) req.set_timeout_ns(maglev::ParseDuration(p.Get("timeout"))->count());
    auto be = c.Call(&Maglev::Stub::DrainBackend, req);
    if (!be.ok()) return Fail(io, be.status());
    io.out << "backend " << be->name() << " " << Colorize("draining", "33", StyleFor(io))
           << " (disabled at " << FormatTime(be->drain_deadline_unix_ns()) << ")\n";
    return kExitOk;
  }
  BackendRequest req;
  req.set_name(p.Get("backend"));
  auto method = action == "pause"    ? &Maglev::Stub::PauseBackend
                : action == "resume" ? &Maglev::Stub::ResumeBackend
                : action == "enable" ? &Maglev::Stub::EnableBackend
                                     : &Maglev::Stub::DisableBackend;
  auto be = c.Call(method, req);
  if (!be.ok()) return Fail(io, be.status());
  io.out << "backend " << be->name() << " "
         << Colorize(be->state(), StateColor(be->state()), StyleFor(io)) << "\n";
  return kExitOk;
}

int SetWeight(Client& c, const Parsed& p, const Output& io) {
  SetWeightRequest req;
  req.set_frontend(p.Get("frontend"));
  req.set_pool(p.Get("pool"));
  req.set_backend(p.Get("backend"));
  req.set_weight(std::stoi(p.Get("weight")));  // validated 0..100 by the grammar
  auto fe = c.Call(&Maglev::Stub::SetFrontendPoolBackendWeight, req);
  if (!fe.ok()) return Fail(io, fe.status());
  io.out << RenderFrontend(*fe, StyleFor(io));
  return kExitOk;
}

// Prints a config verdict; exit status like `maglevd --check`.
int ConfigVerdict(bool ok, const std::string& parse, const std::string& semantic,
                  const std::string& reload, const std::string& ok_text, const Output& io) {
  if (ok) {
    io.out << ok_text << "\n";
    return kExitOk;
  }
  if (!parse.empty()) {
    io.err << "parse error: " << parse << "\n";
    return kExitError;
  }
  if (!semantic.empty()) {
    io.err << "semantic errors:\n" << semantic << (semantic.back() == '\n' ? "" : "\n");
    return kExitSemantic;
  }
  io.err << "error: " << (reload.empty() ? "configuration rejected" : reload) << "\n";
  return kExitError;
}

int ConfigCheck(Client& c, const Output& io) {
  auto r = c.Call(&Maglev::Stub::CheckConfig, CheckConfigRequest{});
  if (!r.ok()) return Fail(io, r.status());
  return ConfigVerdict(r->ok(), r->parse_error(), r->semantic_error(), "", "config ok", io);
}

int ConfigReload(Client& c, const Output& io) {
  auto r = c.Call(&Maglev::Stub::ReloadConfig, ReloadConfigRequest{});
  if (!r.ok()) return Fail(io, r.status());
  return ConfigVerdict(r->ok(), r->parse_error(), r->semantic_error(), r->reload_error(),
                       "config reloaded", io);
}

int ShowVppInfo(Client& c, const Output& io) {
  auto r = c.Call(&Maglev::Stub::GetVPPInfo, GetVPPInfoRequest{});
  if (!r.ok()) return Fail(io, r.status());
  io.out << RenderVppInfo(*r, StyleFor(io));
  return kExitOk;
}

int ShowVppLbState(Client& c, const Output& io) {
  auto r = c.Call(&Maglev::Stub::GetVPPLBState, GetVPPLBStateRequest{});
  if (!r.ok()) return Fail(io, r.status());
  io.out << RenderVppLbState(*r, StyleFor(io));
  return kExitOk;
}

int ShowVppLbCounters(Client& c, const Parsed& p, const Output& io) {
  GetVPPLBCountersRequest req;
  if (p.Has("frontend")) req.set_frontend_name(p.Get("frontend"));
  auto r = c.Call(&Maglev::Stub::GetVPPLBCounters, req);
  if (!r.ok()) return Fail(io, r.status());
  io.out << RenderVppLbCounters(*r, StyleFor(io));
  return kExitOk;
}

int ShowVppLbLookup(Client& c, const Parsed& p, const Output& io) {
  LookupVPPLBFlowRequest req;
  req.set_frontend_name(p.Get("frontend"));
  req.set_src_address(p.Get("src"));
  req.set_src_port(static_cast<uint32_t>(std::stoul(p.Get("sport"))));
  if (p.Has("dport")) req.set_dst_port(static_cast<uint32_t>(std::stoul(p.Get("dport"))));
  auto r = c.Call(&Maglev::Stub::LookupVPPLBFlow, req);
  if (!r.ok()) return Fail(io, r.status());
  io.out << RenderVppLbLookup(*r, StyleFor(io));
  return kExitOk;
}

int SyncVpp(Client& c, const Parsed& p, const Output& io) {
  SyncVPPLBStateRequest req;
  if (p.Has("frontend")) req.set_frontend_name(p.Get("frontend"));
  auto r = c.Call(&Maglev::Stub::SyncVPPLBState, req, std::chrono::minutes(2));
  if (!r.ok()) return Fail(io, r.status());
  io.out << (p.Has("frontend") ? "synced frontend " + p.Get("frontend") : "synced all frontends")
         << "\n";
  return kExitOk;
}

// `... preview`: the PreviewChange RPC for the action typed; nothing is
// changed (issue #10).
int Preview(Client& c, const Parsed& p, const Output& io) {
  PreviewRequest req;
  const std::string& cmd = p.command;
  if (cmd == "preview backend") {
    const std::string action = p.Get("action");
    req.set_action(action == "pause"    ? PreviewRequest::PAUSE
                   : action == "resume" ? PreviewRequest::RESUME
                   : action == "enable" ? PreviewRequest::ENABLE
                   : action == "drain"  ? PreviewRequest::DRAIN
                                        : PreviewRequest::DISABLE);
    req.set_backend(p.Get("backend"));
  } else if (cmd == "preview weight") {
    req.set_action(PreviewRequest::SET_WEIGHT);
    req.set_frontend(p.Get("frontend"));
    req.set_pool(p.Get("pool"));
    req.set_backend(p.Get("backend"));
    req.set_weight(std::stoi(p.Get("weight")));  // validated 0..100 by the grammar
  } else if (cmd == "preview config") {
    req.set_action(PreviewRequest::CONFIG);
    req.set_config_path(p.Get("path"));
  } else {
    req.set_action(PreviewRequest::SYNC);
    req.set_frontend(p.Get("frontend"));
  }
  auto r = c.Call(&Maglev::Stub::PreviewChange, req, std::chrono::minutes(1));
  if (!r.ok()) return Fail(io, r.status());
  io.out << RenderPreview(*r, StyleFor(io));
  return kExitOk;
}

int Watch(Client& c, const Parsed& p, const Output& io) {
  WatchRequest req;
  // Naming any of log/backend/frontend selects just those; none means all.
  bool any = p.Has("log") || p.Has("backend") || p.Has("frontend");
  if (any) {
    req.set_log(p.Has("log"));
    req.set_backend(p.Has("backend"));
    req.set_frontend(p.Has("frontend"));
  }
  if (p.Has("level")) req.set_log_level(p.Get("level"));
  long limit = p.Has("num") ? std::stol(p.Get("num")) : 0;

  grpc::ClientContext ctx;
  {
    MutexLock lock(g_watch_mu);
    g_watch_ctx = &ctx;
  }
  auto reader = c.stub().WatchEvents(&ctx, req);
  Event e;
  long n = 0;
  while ((limit == 0 || n < limit) && reader->Read(&e)) {
    io.out << RenderEvent(e, StyleFor(io)) << std::flush;
    ++n;
  }
  bool reached = limit != 0 && n >= limit;
  if (reached) ctx.TryCancel();
  grpc::Status st = reader->Finish();
  {
    MutexLock lock(g_watch_mu);
    g_watch_ctx = nullptr;
  }
  if (st.ok()) return kExitOk;
  if (st.error_code() == grpc::StatusCode::CANCELLED) {
    if (!reached) io.out << "\n";  // Ctrl-C: end the line the terminal echoed ^C on
    return kExitOk;
  }
  return Fail(io, c.Clean(st));
}

int Help(const Grammar& g, const Output& io) {
  // Long usage lines get their help on the next line rather than pushing
  // every help far to the right.
  constexpr size_t kMaxWidth = 40;
  size_t width = 0;
  auto usage = g.Usage();
  for (const Choice& c : usage) {
    if (c.word.size() <= kMaxWidth) width = std::max(width, c.word.size());
  }
  for (const Choice& c : usage) {
    if (c.word.size() > width) {
      io.out << "  " << c.word << "\n  " << std::string(width + 2, ' ') << c.help << "\n";
    } else {
      io.out << "  " << c.word << std::string(width - c.word.size() + 2, ' ') << c.help << "\n";
    }
  }
  io.out << "Words may be abbreviated to any unambiguous prefix (sh fr = show frontends).\n";
  return kExitOk;
}

}  // namespace

Client::Client(std::string address)
    : Client(address, grpc::CreateChannel(address, grpc::InsecureChannelCredentials())) {}

Client::Client(std::string address, std::shared_ptr<grpc::Channel> channel)
    : address_(std::move(address)), channel_(std::move(channel)) {
  stub_ = Maglev::NewStub(channel_);
}

absl::Status Client::Clean(const grpc::Status& st) {
  if (st.error_code() == grpc::StatusCode::UNAVAILABLE &&
      channel_->GetState(false) != GRPC_CHANNEL_READY) {
    // gRPC's reason says refused, or which TLS check failed; keep it
    // without gRPC's decoration ("failed to connect to all addresses; last
    // error: UNKNOWN: ipv4:127.0.0.1:9090: ...").
    std::string why = st.error_message();
    if (size_t at = why.rfind("last error: "); at != std::string::npos) why = why.substr(at + 12);
    if (size_t at = why.find(address_ + ": "); at != std::string::npos)
      why = why.substr(at + address_.size() + 2);
    return absl::UnavailableError("cannot reach maglevd at " + address_ +
                                  (why.empty() ? "" : " (" + why + ")"));
  }
  if (st.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    return absl::DeadlineExceededError("maglevd at " + address_ + " did not answer in time");
  }
  std::string msg = st.error_message();
  if (msg.empty()) msg = "request failed (gRPC status " + std::to_string(st.error_code()) + ")";
  return absl::Status(static_cast<absl::StatusCode>(st.error_code()), msg);
}

bool Client::WaitConnected(std::chrono::milliseconds timeout) {
  return channel_->WaitForConnected(std::chrono::system_clock::now() + timeout);
}

std::vector<std::string> LiveNames::Names(ArgKind kind, const Parsed& so_far) {
  constexpr auto kTimeout = std::chrono::seconds(2);
  std::vector<std::string> out;
  switch (kind) {
    case ArgKind::kFrontend: {
      auto r = client_.Call(&Maglev::Stub::ListFrontends, ListFrontendsRequest{}, kTimeout);
      if (r.ok()) out.assign(r->frontend_names().begin(), r->frontend_names().end());
      break;
    }
    case ArgKind::kBackend: {
      auto r = client_.Call(&Maglev::Stub::ListBackends, ListBackendsRequest{}, kTimeout);
      if (r.ok()) out.assign(r->backend_names().begin(), r->backend_names().end());
      break;
    }
    case ArgKind::kHealthCheck: {
      auto r = client_.Call(&Maglev::Stub::ListHealthChecks, ListHealthChecksRequest{}, kTimeout);
      if (r.ok()) out.assign(r->names().begin(), r->names().end());
      break;
    }
    case ArgKind::kPool:
    case ArgKind::kPoolBackend: {
      GetFrontendRequest req;
      req.set_name(so_far.Get("frontend"));
      auto r = client_.Call(&Maglev::Stub::GetFrontend, req, kTimeout);
      if (!r.ok()) break;
      for (const PoolInfo& p : r->pools()) {
        if (kind == ArgKind::kPool) {
          out.push_back(p.name());
        } else if (p.name() == so_far.Get("pool")) {
          for (const PoolBackendInfo& b : p.backends()) out.push_back(b.name());
        }
      }
      break;
    }
    default:
      break;
  }
  return out;
}

bool CancelActiveWatch() {
  MutexLock lock(g_watch_mu);
  if (!g_watch_ctx) return false;
  g_watch_ctx->TryCancel();
  return true;
}

int RunCommand(const Grammar& grammar, const Parsed& cmd, Client& client, const Output& io) {
  const std::string& c = cmd.command;
  if (c == "quit") return kExitQuit;
  if (c == "help") return Help(grammar, io);
  if (c == "show version") return ShowVersion(client, io);
  if (c == "show frontends") return ShowFrontends(client, cmd, io);
  if (c == "show backends") return ShowBackends(client, cmd, io);
  if (c == "show healthchecks") return ShowHealthChecks(client, cmd, io);
  if (c == "show vpp info") return ShowVppInfo(client, io);
  if (c == "show vpp lb state") return ShowVppLbState(client, io);
  if (c == "show vpp lb counters") return ShowVppLbCounters(client, cmd, io);
  if (c == "show vpp lb lookup") return ShowVppLbLookup(client, cmd, io);
  if (c == "sync vpp lb state") return SyncVpp(client, cmd, io);
  if (c == "set backend") return SetBackend(client, cmd, io);
  if (c == "set frontend weight") return SetWeight(client, cmd, io);
  if (c == "config check") return ConfigCheck(client, io);
  if (c == "config reload") return ConfigReload(client, io);
  if (c == "watch events") return Watch(client, cmd, io);
  if (c.rfind("preview ", 0) == 0) return Preview(client, cmd, io);
  io.err << "error: command \"" << c << "\" is not implemented\n";
  return kExitError;
}

}  // namespace maglev::cli
