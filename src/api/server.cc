#include "api/server.h"

#include <grpc/grpc.h>
#include <grpc/support/log.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/impl/server_builder_option.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>

#include <asio/post.hpp>

#include "common/listen_address.h"
#include "common/log.h"

namespace maglev {
namespace {

// Turns server reflection on or off for one builder. Linking
// grpc++_reflection already registers the plugin with every builder (a
// static initialiser), so "off" has to take it out again; "on" makes sure
// there is exactly one.
class ReflectionOption final : public grpc::ServerBuilderOption {
 public:
  explicit ReflectionOption(bool enable) : enable_(enable) {}
  void UpdateArguments(grpc::ChannelArguments*) override {}
  void UpdatePlugins(std::vector<std::unique_ptr<grpc::ServerBuilderPlugin>>* plugins) override {
    auto ours = std::make_unique<grpc::reflection::ProtoServerReflectionPlugin>();
    const std::string name = ours->name();
    std::erase_if(*plugins, [&](const auto& p) { return p->name() == name; });
    if (enable_) plugins->push_back(std::move(ours));
  }

 private:
  bool enable_;
};

// gRPC's own log lines go through our logger (one JSON record each, with
// msg `grpc-log`) instead of free text on stderr; errors at warn, the rest at
// debug.
void RouteGrpcLog(gpr_log_func_args* args) {
  LogLevel level = args->severity == GPR_LOG_SEVERITY_ERROR ? LogLevel::kWarn : LogLevel::kDebug;
  Log(level, "grpc-log",
      {{"file", args->file ? args->file : ""},
       {"line", static_cast<int64_t>(args->line)},
       {"message", args->message ? args->message : ""}});
}

}  // namespace

absl::StatusOr<std::unique_ptr<ApiServer>> StartGrpcServer(const ApiServerOptions& options,
                                                           asio::io_context& loop,
                                                           Pipeline& pipeline,
                                                           Dataplane* dataplane) {
  auto address = ParseListenAddress(options.address, /*allow_port_zero=*/true);
  if (!address.ok()) return address.status();
  auto credentials = MakeServerCredentials(options.tls);
  if (!credentials.ok()) return credentials.status();
  gpr_set_log_function(RouteGrpcLog);
  // gRPC reports a failed bind only in its own log; try the bind ourselves
  // first for a one-line reason.
  if (absl::Status st = ProbeBind(*address); !st.ok()) return st;

  std::unique_ptr<ApiServer> s(new ApiServer);
  s->loop_ = &loop;
  s->pipeline_ = &pipeline;
  s->hub_ = std::make_shared<WatchHub>(options.watch);
  s->service_ =
      std::make_unique<MaglevService>(loop, pipeline, s->hub_, dataplane, options.service);

  grpc::ServerBuilder builder;
  builder.AddListeningPort(address->ToString(), *credentials, &s->port_);
  builder.RegisterService(s->service_.get());
  // gRPC shares ports by default (SO_REUSEPORT): a second maglevd on the
  // same address would start and take half of maglevc's calls.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  // Watch streams can live for days: ping idle connections so that a
  // watcher whose host vanished is noticed and its subscription freed.
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 60'000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 20'000);
  builder.SetOption(std::make_unique<ReflectionOption>(options.reflection));
  s->server_ = builder.BuildAndStart();
  if (!s->server_ || s->port_ == 0) {
    return absl::UnavailableError(address->ToString() + ": cannot listen (see grpc-log records)");
  }
  if (!options.tls.enabled() && !address->is_loopback()) {
    LogWarn("grpc-plaintext",
            {{"address", address->WithPort(static_cast<uint16_t>(s->port_))},
             {"detail",
              "gRPC without TLS on an address other than loopback: anyone who reaches it can "
              "disable backends; set --grpc-tls-cert/--grpc-tls-key (and --grpc-client-ca)"}});
  }
  s->hub_->AttachLogger();
  // The listeners capture the hub by shared_ptr: however the shutdown order
  // turns out, a late event cannot reach freed memory.
  s->listener_ids_ = std::make_shared<std::pair<int, int>>(0, 0);
  asio::post(loop, [&pipeline, hub = s->hub_, ids = s->listener_ids_] {
    ids->first =
        pipeline.checker().AddListener([hub](const std::string& backend, const Transition& t) {
          hub->PublishBackendTransition(backend, t);
        });
    ids->second = pipeline.lb().AddListener([hub](const LbUpdate& u) { hub->OnLbUpdate(u); });
  });
  LogInfo("grpc-listen", {{"address", address->WithPort(static_cast<uint16_t>(s->port_))},
                          {"port", s->port_},
                          {"tls", options.tls.enabled()},
                          {"client_certificates", !options.tls.client_ca_file.empty()},
                          {"reflection", options.reflection}});
  return s;
}

void ApiServer::Shutdown(std::chrono::milliseconds grace) {
  if (shut_down_ || !server_) return;  // never started: nothing to stop
  shut_down_ = true;
  hub_->CloseAll();
  hub_->DetachLogger();
  server_->Shutdown(std::chrono::system_clock::now() + grace);
  server_->Wait();
  asio::post(*loop_, [pipeline = pipeline_, ids = listener_ids_] {
    if (ids->first != 0) pipeline->checker().RemoveListener(ids->first);
    if (ids->second != 0) pipeline->lb().RemoveListener(ids->second);
  });
  LogInfo("grpc-stopped");
}

void ApiServer::ShutdownAsync(std::function<void()> done, std::chrono::milliseconds grace) {
  if (shutdown_thread_.joinable()) return;
  shutdown_thread_ = std::thread([this, done = std::move(done), grace] {
    Shutdown(grace);
    if (done) done();
  });
}

ApiServer::~ApiServer() {
  if (shutdown_thread_.joinable()) shutdown_thread_.join();
  Shutdown();
}

}  // namespace maglev
