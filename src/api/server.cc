#include "api/server.h"

#include <grpc/grpc.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/impl/server_builder_option.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>

#include <asio/post.hpp>

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

}  // namespace

absl::StatusOr<std::unique_ptr<ApiServer>> StartGrpcServer(const ApiServerOptions& options,
                                                           asio::io_context& loop, Checker& checker,
                                                           Dataplane* dataplane) {
  if (options.address.empty()) return absl::InvalidArgumentError("empty gRPC address");
  std::unique_ptr<ApiServer> s(new ApiServer);
  s->loop_ = &loop;
  s->checker_ = &checker;
  s->hub_ = std::make_shared<WatchHub>(options.watch);
  s->service_ = std::make_unique<MaglevService>(loop, checker, s->hub_, dataplane, options.service);

  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.address, grpc::InsecureServerCredentials(), &s->port_);
  builder.RegisterService(s->service_.get());
  // Watch streams can live for days: ping idle connections so that a
  // watcher whose host vanished is noticed and its subscription freed.
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 60'000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 20'000);
  builder.SetOption(std::make_unique<ReflectionOption>(options.reflection));
  s->server_ = builder.BuildAndStart();
  if (!s->server_ || s->port_ == 0) {
    return absl::UnavailableError("cannot listen on " + options.address);
  }
  s->hub_->AttachLogger();
  // The listener captures the hub by shared_ptr: however the shutdown order
  // turns out, a late checker event cannot reach freed memory.
  s->listener_id_ = std::make_shared<int>(0);
  asio::post(loop, [&checker, hub = s->hub_, id = s->listener_id_] {
    *id = checker.AddListener([hub](const CheckerEvent& e) { hub->OnCheckerEvent(e); });
  });
  LogInfo("grpc-listen",
          {{"address", options.address}, {"port", s->port_}, {"reflection", options.reflection}});
  return s;
}

void ApiServer::Shutdown(std::chrono::milliseconds grace) {
  if (shut_down_) return;
  shut_down_ = true;
  hub_->CloseAll();
  hub_->DetachLogger();
  server_->Shutdown(std::chrono::system_clock::now() + grace);
  server_->Wait();
  asio::post(*loop_, [checker = checker_, id = listener_id_] {
    if (*id != 0) checker->RemoveListener(*id);
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
