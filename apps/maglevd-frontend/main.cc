// SPDX-License-Identifier: Apache-2.0
// maglevd-frontend: the live web dashboard over one or many maglevds.
// Thin main: flags (with MAGLEV_FRONTEND_* environment fallbacks), logging,
// one Link per maglevd, the HTTP server on the main thread, signals on a
// thread of their own. Exit codes: 0 clean shutdown, 2 bad usage, 3 the
// listen address cannot be opened.
#include <pthread.h>
#include <signal.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "api/tls.h"
#include "channel.h"
#include "common/flags.h"
#include "common/listen_address.h"
#include "common/log.h"
#include "event_ring.h"
#include "http_server.h"
#include "link.h"
#include "servers.h"
#include "store.h"

namespace {

constexpr char kProgram[] = "maglevd-frontend";
constexpr char kDefaultListen[] = "127.0.0.1:8080";

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

}  // namespace

int main(int argc, char** argv) {
  // Signals go to one thread (below); every other thread blocks them. First
  // of all: gRPC starts threads of its own as soon as a channel exists, and
  // they inherit this mask.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  signal(SIGPIPE, SIG_IGN);

  std::string servers_text;
  std::string listen_text = kDefaultListen;
  std::string log_level = "info";
  std::string log_format = "json";
  maglev::ClientTlsOptions tls;
  bool version = false;

  CLI::App app{
      "maglevd-frontend: live web dashboard over one or many maglevds.\n"
      "Read-only view at /view/; admin actions at /admin/ when MAGLEV_FRONTEND_USER and\n"
      "MAGLEV_FRONTEND_PASSWORD are set."};
  app.option_defaults()->always_capture_default();
  maglev::EnvFallbacks env;
  env.Add(app, "--server", servers_text,
          "maglevds to watch: [NAME=]HOST:PORT[,...] (NAME defaults to the address)",
          "MAGLEV_FRONTEND_SERVER");
  env.Add(app, "--listen", listen_text,
          "HTTP listen address: HOST:PORT, [IPv6]:PORT, localhost:PORT or :PORT (all)",
          "MAGLEV_FRONTEND_LISTEN");
  env.Add(app, "--log-level", log_level, "debug|info|warn|error", "MAGLEV_FRONTEND_LOG_LEVEL");
  env.Add(app, "--log-format", log_format, "json|text", "MAGLEV_FRONTEND_LOG_FORMAT");
  env.Add(app, "--tls-ca", tls.ca_file,
          "PEM CA that signed the maglevds' certificates: talk TLS (maglevd --grpc-tls-cert)",
          "MAGLEV_FRONTEND_TLS_CA");
  env.Add(app, "--tls-cert", tls.cert_file,
          "PEM client certificate, for maglevds that require one (--grpc-client-ca)",
          "MAGLEV_FRONTEND_TLS_CERT");
  env.Add(app, "--tls-key", tls.key_file, "PEM private key of --tls-cert",
          "MAGLEV_FRONTEND_TLS_KEY");
  env.Add(app, "--tls-server-name", tls.server_name,
          "name to verify in the maglevds' certificates instead of the address's host",
          "MAGLEV_FRONTEND_TLS_SERVER_NAME");
  app.add_flag("--version", version, "print the version and exit");
  if (auto rc = maglev::ParseFlags(app, argc, argv, kProgram)) return *rc;
  env.Apply();
  if (version) {
    std::printf("maglevd-frontend %s\n", MAGLEV_VERSION);
    return maglev::kExitOk;
  }
  maglev::LogLevel level;
  if (!maglev::ParseLogLevel(log_level, &level)) {
    return maglev::UsageError(
        kProgram, "--log-level: want debug, info, warn or error, not \"" + log_level + "\"");
  }
  if (log_format != "json" && log_format != "text") {
    return maglev::UsageError(kProgram,
                              "--log-format: want json or text, not \"" + log_format + "\"");
  }
  auto servers = maglev::frontend::ParseServers(servers_text);
  if (!servers.ok()) return maglev::UsageError(kProgram, std::string(servers.status().message()));
  auto listen = maglev::ParseListenAddress(listen_text);
  if (!listen.ok())
    return maglev::UsageError(kProgram, "--listen: " + std::string(listen.status().message()));
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (const auto& s : *servers) {
    auto ch = maglev::frontend::MakeMaglevdChannel(s.address, tls);
    if (!ch.ok()) return maglev::UsageError(kProgram, std::string(ch.status().message()));
    channels.push_back(*ch);
  }

  maglev::Logger::Get().SetLevel(level);
  maglev::Logger::Get().SetFormat(log_format == "text" ? maglev::LogFormat::kText
                                                       : maglev::LogFormat::kJson);

  uint64_t epoch = static_cast<uint64_t>(maglev::UnixNowNs() / 1000000);
  maglev::frontend::EventRing ring(epoch, 2000, std::chrono::seconds(30));
  std::atomic<maglev::frontend::HttpServer*> server_ptr{nullptr};
  maglev::frontend::Store store(ring, [&server_ptr] {
    if (auto* s = server_ptr.load()) s->Notify();
  });

  std::vector<std::unique_ptr<maglev::frontend::Link>> links;
  std::map<std::string, maglev::frontend::Link*> by_name;
  for (size_t i = 0; i < servers->size(); ++i) {
    const auto& s = (*servers)[i];
    store.AddMaglevd(s.name, s.address);
    links.push_back(std::make_unique<maglev::frontend::Link>(s.name, s.address, channels[i], store,
                                                             maglev::frontend::LinkOptions()));
    by_name[s.name] = links.back().get();
  }

  maglev::frontend::HttpOptions hopt;
  hopt.listen = *listen;
  hopt.admin_user = Env("MAGLEV_FRONTEND_USER");
  hopt.admin_password = Env("MAGLEV_FRONTEND_PASSWORD");
  auto server = std::make_unique<maglev::frontend::HttpServer>(hopt, store, ring, by_name);
  if (auto s = server->Listen(); !s.ok()) {
    maglev::LogError("http-listen-failed",
                     {{"address", listen->ToString()}, {"error", std::string(s.message())}});
    std::fprintf(stderr, "maglevd-frontend: cannot listen on %s\n",
                 std::string(s.message()).c_str());
    return maglev::kExitListen;
  }
  server_ptr = server.get();
  bool admin = !hopt.admin_user.empty() || !hopt.admin_password.empty();
  maglev::LogInfo("frontend-start", {{"version", MAGLEV_VERSION},
                                     {"listen", listen->ToString()},
                                     {"maglevds", static_cast<int64_t>(servers->size())},
                                     {"admin", admin},
                                     {"grpc_tls", tls.enabled()}});
  maglev::LogInfo("http-listen", {{"address", listen->ToString()},
                                  {"port", static_cast<int64_t>(server->port())}});
  for (auto& l : links) l->Start();

  std::thread signals([&] {
    int sig = 0;
    sigwait(&sigs, &sig);
    maglev::LogInfo("frontend-shutdown", {{"signal", sig == SIGINT ? "SIGINT" : "SIGTERM"}});
    if (auto* s = server_ptr.load()) s->Shutdown();
  });
  server->Run();
  for (auto& l : links) l->Stop();
  server_ptr = nullptr;
  server.reset();
  // The signal thread is still in sigwait when Run() ended on its own.
  if (signals.joinable()) {
    pthread_kill(signals.native_handle(), SIGTERM);
    signals.join();
  }
  maglev::LogInfo("frontend-stopped");
  return maglev::kExitOk;
}
