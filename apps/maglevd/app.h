// maglevd's wiring: builds the core loop (checker + probers), the gRPC
// server, the metrics server and the VPP reconciler, and runs until SIGTERM
// or SIGINT. Called from main() on the main thread, which becomes the core
// loop thread.
#pragma once

#include <string>

#include "absl/status/status.h"

namespace maglev {

struct DaemonOptions {
  std::string config_path = "/etc/vpp-maglev/maglev.yaml";
  std::string grpc_addr = "127.0.0.1:9090";
  std::string metrics_addr = "127.0.0.1:9091";
  std::string vpp_api_addr = "/run/vpp/api.sock";
  // VPP's stats socket (traffic counters, boot time); empty: not read.
  std::string vpp_stats_addr = "/run/vpp/stats.sock";
  // gRPC over TLS when both are set; client certificates required and
  // verified against grpc_client_ca when that is set too.
  std::string grpc_tls_cert, grpc_tls_key, grpc_client_ca;
  bool reflection = true;
  // The state file (docs/state-file.md); "": runtime state is not kept.
  std::string state_file;
};

// Usage errors in the options that flag parsing cannot see (InvalidArgument,
// one line naming the flag and the value): an unparsable --grpc-addr or
// --metrics-addr, an empty --grpc-addr, half a TLS key pair, a client CA
// without a server certificate.
absl::Status ValidateDaemonOptions(const DaemonOptions& options);

// Returns the process exit code: 0 after a clean shutdown, 1/2 when the
// configuration cannot be loaded (parse/semantic), 3 when a listener cannot
// be opened (kExitListen).
int RunDaemon(const DaemonOptions& options);

}  // namespace maglev
