// maglev-vppsim: a VPP lb plugin simulator speaking VPP's binary API on a
// unix socket. Thin main: flags, logging, signals; everything runs on one
// asio thread (see src/vppsim/server.h).
#include <CLI/CLI.hpp>
#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>

#include "common/duration.h"
#include "common/flags.h"
#include "common/log.h"
#include "vppsim/server.h"

int main(int argc, char** argv) {
  using namespace maglev;
  CLI::App app{"maglev-vppsim: VPP lb plugin simulator on VPP's binary API socket"};
  std::string socket_path;
  bool legacy = false;
  std::string gc_interval_text = "60s";
  std::string log_level_text = "info";
  std::string log_format_text = "json";
  uint16_t lb_first_msg_id = vppsim::kDefaultLbFirstMsgId;
  std::string version;
  bool show_version = false;
  std::string stats_socket;
  uint32_t workers = 0;
  std::string stats_interval_text = "10s";
  app.add_option("--socket", socket_path, "unix socket to listen on (like VPP's api.sock)");
  app.add_flag("--legacy-lb-api", legacy,
               "behave as lb API 1.1.0 (VPP <= 26.06): no weights, no lb_conf_get, "
               "lb_add_del_as_v2, lb_as_set_weight, lb_as_v2_dump; no periodic GC");
  app.add_option("--gc-interval", gc_interval_text,
                 "period of the lb garbage-collection process (Go duration, 0 disables)")
      ->capture_default_str();
  app.add_option("--log-level", log_level_text, "debug|info|warn|error")->capture_default_str();
  app.add_option("--log-format", log_format_text, "json|text")->capture_default_str();
  app.add_option("--lb-first-msg-id", lb_first_msg_id,
                 "first message id of the lb block (clients must read ids from the table)")
      ->capture_default_str();
  app.add_option("--vpp-version", version, "version string reported by show_version");
  app.add_option("--stats-socket", stats_socket,
                 "stats segment socket (like VPP's stats.sock); default stats.sock beside "
                 "--socket, empty = no stats segment");
  app.add_option("--workers", workers, "simulated VPP worker threads (0..256; thread 0 is main)")
      ->check(CLI::Range(0, 256))
      ->capture_default_str();
  app.add_option("--stats-update-interval", stats_interval_text,
                 "period of /sys/heartbeat (statseg update-interval, Go duration)")
      ->capture_default_str();
  app.add_flag("--version", show_version, "print the version and exit");
  if (auto rc = ParseFlags(app, argc, argv, "maglev-vppsim")) return *rc;

  if (show_version) {
    std::printf("maglev-vppsim %s\n", MAGLEV_VERSION);
    return 0;
  }
  if (socket_path.empty()) {
    std::cerr << "maglev-vppsim: --socket is required\n";
    return 2;
  }
  LogLevel level;
  if (!ParseLogLevel(log_level_text, &level)) {
    std::cerr << "maglev-vppsim: bad --log-level \"" << log_level_text << "\"\n";
    return 2;
  }
  if (log_format_text != "json" && log_format_text != "text") {
    std::cerr << "maglev-vppsim: bad --log-format \"" << log_format_text << "\"\n";
    return 2;
  }
  std::optional<Duration> gc_interval = ParseDuration(gc_interval_text);
  if (!gc_interval) {
    std::cerr << "maglev-vppsim: bad --gc-interval \"" << gc_interval_text << "\"\n";
    return 2;
  }
  std::optional<Duration> stats_interval = ParseDuration(stats_interval_text);
  if (!stats_interval) {
    std::cerr << "maglev-vppsim: bad --stats-update-interval \"" << stats_interval_text << "\"\n";
    return 2;
  }
  if (app.count("--stats-socket") == 0) {
    // Beside the API socket, as VPP's runtime directory holds both.
    const size_t slash = socket_path.rfind('/');
    stats_socket = (slash == std::string::npos ? std::string() : socket_path.substr(0, slash + 1)) +
                   "stats.sock";
  }
  Logger::Get().SetLevel(level);
  Logger::Get().SetFormat(log_format_text == "text" ? LogFormat::kText : LogFormat::kJson);
  // A client vanishing mid-write must not kill the simulator.
  std::signal(SIGPIPE, SIG_IGN);

  asio::io_context io;
  vppsim::SimServer::Options options;
  options.socket_path = socket_path;
  options.legacy_lb = legacy;
  options.gc_interval = *gc_interval;
  options.lb_first_msg_id = lb_first_msg_id;
  options.version = version;
  options.stats_socket_path = stats_socket;
  options.num_workers = workers;
  options.stats_update_interval = *stats_interval;
  absl::StatusOr<std::unique_ptr<vppsim::SimServer>> server =
      vppsim::SimServer::Create(io, options);
  if (!server.ok()) {
    LogError("vppsim-start-failed", {{"error", server.status().ToString()}});
    return 1;
  }
  if (absl::Status s = (*server)->Start(); !s.ok()) {
    LogError("vppsim-start-failed", {{"error", s.ToString()}});
    return 1;
  }

  asio::signal_set signals(io, SIGTERM, SIGINT);
  signals.async_wait([&](std::error_code ec, int signo) {
    if (ec) return;
    LogInfo("vppsim-signal", {{"signal", signo}});
    (*server)->Stop();
    // Connections with unread output must not keep us alive.
    io.stop();
  });
  io.run();
  (*server)->Stop();
  return 0;
}
