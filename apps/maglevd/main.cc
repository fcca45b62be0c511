// maglevd: the daemon. Thin main: flags (with MAGLEV_* environment
// fallbacks), logging set-up, wiring of the core loop (checker + probers),
// the gRPC API, metrics and the VPP reconciler, and signal handling.
// The core loop runs on the main thread; gRPC and VPP have their own threads.
#include <CLI/CLI.hpp>
#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>

#include "app.h"
#include "common/flags.h"
#include "common/log.h"
#include "config/loader.h"

namespace {

int CheckOnly(const std::string& path) {
  maglev::ConfigResult r = maglev::LoadConfigFile(path);
  if (r.ok()) {
    std::printf("%s: configuration ok (%zu frontends, %zu backends, %zu health checks)\n",
                path.c_str(), r.config->frontends.size(), r.config->backends.size(),
                r.config->healthchecks.size());
    return 0;
  }
  std::fprintf(stderr, "%s: %s error:\n%s\n", path.c_str(),
               r.kind == maglev::ConfigErrorKind::kParse ? "parse" : "semantic", r.error.c_str());
  return r.kind == maglev::ConfigErrorKind::kParse ? 1 : 2;
}

}  // namespace

int main(int argc, char** argv) {
  maglev::DaemonOptions opts;
  std::string log_level = "info";
  std::string log_format = "json";
  bool check = false;
  bool version = false;

  CLI::App app{"maglevd: health checker and VPP Maglev load-balancer control plane"};
  app.option_defaults()->always_capture_default();
  // Address and path options: an empty value (flag or environment) turns
  // the feature off, so their environment fallback honours "" too.
  maglev::EnvFallbacks env;
  env.Add(app, "--config", opts.config_path, "YAML configuration file", "MAGLEV_CONFIG");
  env.Add(app, "--grpc-addr", opts.grpc_addr,
          "gRPC listen address: IPv4:PORT, [IPv6]:PORT, localhost:PORT or :PORT (every address)",
          "MAGLEV_GRPC_ADDR");
  env.Add(app, "--grpc-tls-cert", opts.grpc_tls_cert,
          "PEM certificate chain: serve gRPC over TLS (with --grpc-tls-key)",
          "MAGLEV_GRPC_TLS_CERT");
  env.Add(app, "--grpc-tls-key", opts.grpc_tls_key, "PEM private key of --grpc-tls-cert",
          "MAGLEV_GRPC_TLS_KEY");
  env.Add(app, "--grpc-client-ca", opts.grpc_client_ca,
          "PEM CA bundle: require and verify client certificates (mutual TLS)",
          "MAGLEV_GRPC_CLIENT_CA");
  env.Add(app, "--metrics-addr", opts.metrics_addr,
          "Prometheus /metrics listen address (same forms as --grpc-addr); empty disables",
          "MAGLEV_METRICS_ADDR");
  env.Add(app, "--vpp-api-addr", opts.vpp_api_addr,
          "VPP binary API socket; empty disables the dataplane", "MAGLEV_VPP_API_ADDR");
  env.Add(app, "--vpp-stats-addr", opts.vpp_stats_addr,
          "VPP stats socket (traffic counters, boot time); empty disables reading it",
          "MAGLEV_VPP_STATS_ADDR");
  env.Add(app, "--state-file", opts.state_file,
          "JSON file keeping operator decisions and last known health across restarts; empty "
          "disables",
          "MAGLEV_STATE_FILE");
  app.add_option("--log-level", log_level, "debug|info|warn|error")
      ->envname("MAGLEV_LOG_LEVEL")
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}));
  app.add_option("--log-format", log_format, "json|text")
      ->envname("MAGLEV_LOG_FORMAT")
      ->check(CLI::IsMember({"json", "text"}));
  app.add_flag("--check", check,
               "check the configuration file and exit (0 ok, 1 parse, 2 semantic)")
      ->envname("MAGLEV_CHECK");
  app.add_option("--reflection", opts.reflection, "enable gRPC server reflection")
      ->envname("MAGLEV_REFLECTION");
  app.add_flag("--version", version, "print the version and exit");
  if (auto rc = maglev::ParseFlags(app, argc, argv, "maglevd")) return *rc;
  env.Apply();
  if (version) {
    std::printf("maglevd %s\n", MAGLEV_VERSION);
    return 0;
  }
  if (check) return CheckOnly(opts.config_path);
  if (auto st = maglev::ValidateDaemonOptions(opts); !st.ok())
    return maglev::UsageError("maglevd", std::string(st.message()));

  maglev::LogLevel level;
  maglev::ParseLogLevel(log_level, &level);
  maglev::Logger::Get().SetLevel(level);
  maglev::Logger::Get().SetFormat(log_format == "text" ? maglev::LogFormat::kText
                                                       : maglev::LogFormat::kJson);
  return maglev::RunDaemon(opts);
}
