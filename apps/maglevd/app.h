// maglevd's wiring: builds the core loop (checker + probers), the gRPC
// server, the metrics server and the VPP reconciler, and runs until SIGTERM
// or SIGINT. Called from main() on the main thread, which becomes the core
// loop thread.
#pragma once

#include <string>

namespace maglev {

struct DaemonOptions {
  std::string config_path = "/etc/vpp-maglev/maglev.yaml";
  std::string grpc_addr = "127.0.0.1:9090";
  std::string metrics_addr = "127.0.0.1:9091";
  std::string vpp_api_addr = "/run/vpp/api.sock";
  bool reflection = true;
};

// Returns the process exit code: 0 after a clean shutdown, 1/2 when the
// configuration cannot be loaded (parse/semantic), 3 when a listener fails.
int RunDaemon(const DaemonOptions& options);

}  // namespace maglev
