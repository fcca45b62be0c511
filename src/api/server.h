// The gRPC server of maglevd: binds the API address, registers the Maglev
// service (and, unless disabled, server reflection), feeds the watch hub
// from the logger, the checker (backend transitions) and the lb stage
// (frontend changes), and shuts down gracefully.
//
// Threading: StartGrpcServer and Shutdown are called from a thread other
// than the core loop (Shutdown waits for calls that complete on the loop);
// ShutdownAsync may be called from the loop. Shut the server down before
// destroying the pipeline. gRPC runs its own threads; the service posts to
// `loop`.
#pragma once

#include <grpcpp/server.h>

#include <asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "api/dataplane.h"
#include "api/service.h"
#include "api/tls.h"
#include "api/watch_hub.h"
#include "core/pipeline.h"

namespace maglev {

struct ApiServerOptions {
  // Any form of ParseListenAddress (common/listen_address.h); port 0 picks a
  // free port. The port is never shared (SO_REUSEPORT off): a second server
  // on a taken address fails instead of splitting the calls.
  std::string address = "127.0.0.1:9090";
  ServerTlsOptions tls;    // plaintext unless a certificate is set
  bool reflection = true;  // grpc.reflection.v1alpha.ServerReflection
  ServiceOptions service;
  // The daemon keeps its core loop out of the streams' writes.
  WatchHub::Options watch{.writer_thread = true};
};

class ApiServer {
 public:
  ~ApiServer();  // Shutdown() if not done yet
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  int port() const { return port_; }  // the bound port
  WatchHub& hub() { return *hub_; }
  std::shared_ptr<WatchHub> hub_ptr() { return hub_; }

  // Graceful: closes every WatchEvents stream, stops accepting calls, lets
  // calls in flight finish for up to `grace` (they complete on the core
  // loop, so keep it running meanwhile), then cancels what is left.
  // Idempotent. Not on the core loop thread.
  void Shutdown(std::chrono::milliseconds grace = std::chrono::seconds(5));

  // Shutdown() on a helper thread, then `done` on that thread: callable from
  // the core loop (e.g. a signal handler there), which keeps serving the
  // calls in flight meanwhile. A typical `done` posts the loop's stop:
  //   api->ShutdownAsync([&io] { asio::post(io, [&io] { io.stop(); }); });
  void ShutdownAsync(std::function<void()> done,
                     std::chrono::milliseconds grace = std::chrono::seconds(5));

 private:
  friend absl::StatusOr<std::unique_ptr<ApiServer>> StartGrpcServer(const ApiServerOptions& options,
                                                                    asio::io_context& loop,
                                                                    Pipeline& pipeline,
                                                                    Dataplane* dataplane);
  ApiServer() = default;

  asio::io_context* loop_ = nullptr;
  Pipeline* pipeline_ = nullptr;
  std::shared_ptr<WatchHub> hub_;
  std::unique_ptr<MaglevService> service_;
  std::unique_ptr<grpc::Server> server_;
  // Set on the loop once registered: the checker's and the lb stage's.
  std::shared_ptr<std::pair<int, int>> listener_ids_;
  int port_ = 0;
  bool shut_down_ = false;
  std::thread shutdown_thread_;
};

// Starts the server. The listeners that feed the hub are registered
// by a task posted to `loop`. `dataplane` may be null. Errors:
// InvalidArgument for an address that does not parse or unreadable TLS
// files, Unavailable "ADDRESS: REASON" when the address cannot be bound
// (e.g. "127.0.0.1:9090: Address already in use"). Serving plaintext on an
// address other than loopback is logged at warn (`grpc-plaintext`).
absl::StatusOr<std::unique_ptr<ApiServer>> StartGrpcServer(const ApiServerOptions& options,
                                                           asio::io_context& loop,
                                                           Pipeline& pipeline,
                                                           Dataplane* dataplane);

}  // namespace maglev
