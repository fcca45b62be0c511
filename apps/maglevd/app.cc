#include "app.h"

#include <malloc.h>
#include <systemd/sd-daemon.h>

#include <algorithm>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/signal_set.hpp>
#include <csignal>
#include <cstring>
#include <memory>
#include <thread>

#include "api/server.h"
#include "common/dispatcher.h"
#include "common/flags.h"
#include "common/listen_address.h"
#include "common/log.h"
#include "config/loader.h"
#include "core/metrics.h"
#include "core/pipeline.h"
#include "core/route_notifier.h"
#include "core/state_file.h"
#include "dataplane/controller.h"
#include "dataplane/vpp_dataplane.h"
#include "metrics/metrics.h"
#include "prober/prober.h"
#include "vpp/lb_session.h"
#include "vpp/reconciler.h"
#include "vpp/stats_resolver.h"
#include "vpp/stats_scraper.h"
#include "vpp_stats.h"

namespace maglev {

namespace {

// Prometheus collectors for the WatchEvents hub (subscribers, drops).
void AddWatchCollectors(MetricsRegistry& registry, const WatchHub& hub) {
  registry.AddCollector([&hub](MetricsWriter& w) {
    using T = MetricsWriter::Type;
    w.Family("maglev_watch_subscribers", T::kGauge, "WatchEvents streams open now.");
    w.Sample("maglev_watch_subscribers", {}, static_cast<double>(hub.Stats().size()));
    w.Family("maglev_events_dropped_total", T::kCounter,
             "Events not delivered to WatchEvents subscribers that could not keep up.");
    w.Sample("maglev_events_dropped_total", {}, static_cast<double>(hub.dropped_total()));
    w.Family("maglev_log_dropped_total", T::kCounter,
             "Log records not written because the log output could not keep up.");
    w.Sample("maglev_log_dropped_total", {}, static_cast<double>(Logger::Get().dropped()));
  });
}

}  // namespace

absl::Status ValidateDaemonOptions(const DaemonOptions& opts) {
  if (opts.grpc_addr.empty())
    return absl::InvalidArgumentError("--grpc-addr: must not be empty (the API cannot be off)");
  if (auto a = ParseListenAddress(opts.grpc_addr, /*allow_port_zero=*/true); !a.ok())
    return absl::InvalidArgumentError("--grpc-addr " + std::string(a.status().message()));
  if (!opts.metrics_addr.empty()) {
    if (auto a = ParseListenAddress(opts.metrics_addr, /*allow_port_zero=*/true); !a.ok())
      return absl::InvalidArgumentError("--metrics-addr " + std::string(a.status().message()));
  }
  if (opts.grpc_tls_cert.empty() != opts.grpc_tls_key.empty())
    return absl::InvalidArgumentError("--grpc-tls-cert and --grpc-tls-key go together");
  if (!opts.grpc_client_ca.empty() && opts.grpc_tls_cert.empty())
    return absl::InvalidArgumentError(
        "--grpc-client-ca needs --grpc-tls-cert and --grpc-tls-key (client certificates are "
        "only asked for over TLS)");
  return absl::OkStatus();
}

int RunDaemon(const DaemonOptions& opts) {
  ConfigResult loaded = LoadConfigFile(opts.config_path);
  if (!loaded.ok()) {
    LogError("config-invalid", {{"path", opts.config_path},
                                {"kind", ConfigErrorKindName(loaded.kind)},
                                {"error", loaded.error}});
    return loaded.kind == ConfigErrorKind::kParse ? 1 : 2;
  }
  LogInfo("maglevd-start", {{"version", MAGLEV_VERSION},
                            {"config", opts.config_path},
                            {"grpc_addr", opts.grpc_addr},
                            {"metrics_addr", opts.metrics_addr},
                            {"vpp_api_addr", opts.vpp_api_addr},
                            {"vpp_stats_addr", opts.vpp_stats_addr},
                            {"state_file", opts.state_file}});

  // The core loop (this thread): the pipeline, probe -> checker -> lb stage.
  asio::io_context io(1);
  AsioDispatcher dispatcher(io);
  Prober prober(io);
  Pipeline pipeline(dispatcher, prober);

  // Listeners first, before any probe or VPP connection: a taken port or an
  // address of another host ends the start at once (exit 3), changing
  // nothing. The gRPC server answers once the loop runs.
  MetricsRegistry registry;
  AddPipelineCollectors(registry, pipeline);
  std::unique_ptr<MetricsServer> metrics;
  if (!opts.metrics_addr.empty()) {
    metrics = std::make_unique<MetricsServer>(io, registry);
    absl::Status st = metrics->Listen(opts.metrics_addr);
    if (!st.ok()) {
      LogError("metrics-listen-failed",
               {{"address", opts.metrics_addr}, {"error", std::string(st.message())}});
      return kExitListen;
    }
    LogInfo("metrics-listen", {{"address", opts.metrics_addr}, {"port", metrics->port()}});
  }
  // The rest of the walk, lb stage -> controller -> reconciler -> VPP; the
  // reconciler runs on a thread of its own (blocking VPP I/O). They exist
  // before the API so that the service can answer VPP calls, and start after
  // it.
  std::unique_ptr<DispatcherThread> vpp_thread;
  std::unique_ptr<SocketLbConnector> connector;
  std::unique_ptr<Reconciler> reconciler;
  std::unique_ptr<DataplaneController> controller;
  std::unique_ptr<VppDataplane> dataplane;
  if (!opts.vpp_api_addr.empty()) {
    ReconcilerOptions ro;
    vpp_thread = std::make_unique<DispatcherThread>();
    connector = std::make_unique<SocketLbConnector>(
        opts.vpp_api_addr, std::chrono::duration_cast<std::chrono::milliseconds>(ro.call_timeout));
    reconciler = std::make_unique<Reconciler>(vpp_thread->dispatcher(), *connector, ro);
    controller = std::make_unique<DataplaneController>(dispatcher, pipeline.lb(), *reconciler);
    dataplane = std::make_unique<VppDataplane>(*reconciler, *controller);
  }
  AddVppCollectors(registry, reconciler.get());

  // VPP's stats segment, read on a thread of its own (never the core loop)
  // every stats-interval; the VIP index comes over an API connection of its
  // own. Independent of the dataplane: either works without the other.
  std::unique_ptr<StatsIndexResolver> stats_resolver;
  std::unique_ptr<StatsScraper> scraper;
  std::unique_ptr<ScraperVppStats> vpp_stats;
  if (!opts.vpp_stats_addr.empty()) {
    StatsScraper::Options so;
    so.socket_path = opts.vpp_stats_addr;
    so.interval =
        std::chrono::duration_cast<std::chrono::milliseconds>(loaded.config->vpp_lb.stats_interval);
    // A frozen heartbeat is only noticed after a few intervals.
    so.heartbeat_stall = std::max(so.heartbeat_stall, 3 * so.interval);
    stats_resolver =
        std::make_unique<StatsIndexResolver>(opts.vpp_api_addr, std::chrono::milliseconds(5000));
    so.resolve_index = [r = stats_resolver.get()] { return r->Resolve(); };
    scraper = std::make_unique<StatsScraper>(std::move(so));
    vpp_stats = std::make_unique<ScraperVppStats>(*scraper);
  }
  AddVppStatsCollectors(registry, pipeline, vpp_stats.get());

  ApiServerOptions api_opts;
  api_opts.address = opts.grpc_addr;
  api_opts.tls = {opts.grpc_tls_cert, opts.grpc_tls_key, opts.grpc_client_ca};
  api_opts.reflection = opts.reflection;
  api_opts.service.config_path = opts.config_path;
  api_opts.service.vpp_stats = vpp_stats.get();
  auto api = StartGrpcServer(api_opts, io, pipeline, dataplane.get());
  if (!api.ok()) {
    LogError("grpc-listen-failed",
             {{"address", opts.grpc_addr}, {"error", std::string(api.status().message())}});
    return kExitListen;
  }
  std::unique_ptr<ApiServer> api_server = std::move(*api);
  AddWatchCollectors(registry, api_server->hub());

  // Operator state from the state file: read before the first probe and
  // the first VPP sync, and written back from now on.
  std::unique_ptr<StatePersister> persister;
  RestorePlan restore;
  if (!opts.state_file.empty()) {
    persister = std::make_unique<StatePersister>(dispatcher, pipeline, opts.state_file);
    restore = persister->Load(*loaded.config);
    persister->Start();
  }
  pipeline.Start(loaded.config, restore.pipeline);
  loaded = {};
  // The route withdrawal hook: reports a frontend only once the controller
  // has released it.
  DataplaneController* ctl = controller.get();
  RouteNotifier notifier(
      pipeline.lb(), [ctl](const std::string& fe) { return ctl == nullptr || ctl->Released(fe); });
  if (controller) {
    controller->SetPersistedHealth(restore.health);
    controller->SetOnRelease([&notifier](const std::string& fe) { notifier.OnReleased(fe); });
  }
  notifier.Start();
  // Parsing a large YAML file leaves many freed blocks behind; hand them back
  // so that the resident size reflects what the daemon really keeps.
  malloc_trim(0);

  if (reconciler) {
    controller->Start();
    vpp_thread->Start();
    reconciler->Start();
  } else {
    LogInfo("vpp-disabled", {{"detail", "--vpp-api-addr is empty: no dataplane"}});
  }
  if (scraper) {
    scraper->Start();
  } else {
    LogInfo("vpp-stats-disabled", {{"detail", "--vpp-stats-addr is empty: no traffic counters"}});
  }

  asio::signal_set signals(io, SIGHUP, SIGTERM, SIGINT);
  bool stopping = false;
  std::function<void(const std::error_code&, int)> on_signal = [&](const std::error_code& ec,
                                                                   int sig) {
    if (ec) return;
    if (sig == SIGHUP) {
      LogInfo("config-reload-signal", {{"path", opts.config_path}});
      pipeline.ReloadFromFile(opts.config_path);
      malloc_trim(0);
      signals.async_wait(on_signal);
      return;
    }
    if (stopping) return;
    stopping = true;
    LogInfo("maglevd-shutdown", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
    sd_notify(0, "STOPPING=1");
    if (metrics) metrics->Close();
    signals.cancel();
    // Streams are closed and calls in flight drained while the loop keeps
    // running (they complete on it); then the loop stops.
    api_server->ShutdownAsync([&io] { asio::post(io, [&io] { io.stop(); }); });
  };
  signals.async_wait(on_signal);
  std::signal(SIGPIPE, SIG_IGN);

  sd_notify(0, "READY=1");
  io.run();
  // Shutdown order (docs/dataplane.md): probes stop, the state file gets its
  // last write, routes stay announced (VPP keeps forwarding without us; the
  // notify commands already queued finish, bounded), then VPP is left as is.
  if (scraper) scraper->Stop();
  pipeline.Stop();
  if (persister) persister->Stop();
  if (controller) controller->Stop();
  notifier.Stop();
  if (reconciler) {
    vpp_thread->Run([&] { reconciler->Stop(); });  // leaves the dataplane as it is
    vpp_thread->Stop();
  }
  api_server.reset();
  scraper.reset();
  LogInfo("maglevd-stopped", {});
  return 0;
}

}  // namespace maglev
