#include "api/service.h"

#include <grpcpp/impl/codegen/proto_utils.h>

#include <asio/post.hpp>
#include <optional>
#include <utility>

#include "api/convert.h"
#include "api/status_map.h"
#include "common/mutex.h"
#include "config/loader.h"

namespace maglev {
namespace {

grpc::Status InvalidArgument(const std::string& msg) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, msg);
}

grpc::Status NotFound(const std::string& what, const std::string& name) {
  return grpc::Status(grpc::StatusCode::NOT_FOUND, what + " \"" + name + "\" not found");
}

grpc::ServerUnaryReactor* FinishNow(grpc::CallbackServerContext* ctx, grpc::Status status) {
  grpc::ServerUnaryReactor* r = ctx->DefaultReactor();
  r->Finish(std::move(status));
  return r;
}

// The shared state of one WatchEvents stream. The hub and the reactor both
// reach it; it outlives the reactor (hub callbacks hold weak references), so
// a late delivery after OnDone finds `reactor` null instead of freed memory.
// StartWrite and Finish are called after `mu` is released: gRPC may run a
// reaction (OnWriteDone, OnDone) inline from them, and that takes `mu`. The
// decision is made under `mu` (writing/finished), so the reactor stays
// valid until the call: OnDone cannot run before Finish.
class WatchReactor;
struct WatchStream {
  Mutex mu;
  WatchReactor* reactor ABSL_GUARDED_BY(mu) = nullptr;  // null once OnDone ran
  // The event being written; alive until OnWriteDone.
  PublishedEventPtr current ABSL_GUARDED_BY(mu);
  bool writing ABSL_GUARDED_BY(mu) = false;
  bool finished ABSL_GUARDED_BY(mu) = false;
  // Finish once the write in flight is done.
  std::optional<grpc::Status> finish_pending ABSL_GUARDED_BY(mu);

  void Write(const PublishedEventPtr& e, bool more);
  void Close(grpc::Status status);
};

// Writes the hub's serialized events (the method is registered raw, see
// MaglevService): the bytes are those of one `Event` per message, as with
// the generated code, but serialized once for all subscribers.
class WatchReactor final : public grpc::ServerWriteReactor<grpc::ByteBuffer> {
 public:
  WatchReactor(std::shared_ptr<WatchHub> hub, const WatchFilter& filter)
      : hub_(std::move(hub)), stream_(std::make_shared<WatchStream>()) {
    stream_->reactor = this;
    // Headers go out as soon as gRPC binds the reactor, which happens after
    // this constructor (and so the subscription) has completed: a client
    // that waits for them knows it sees every later event.
    StartSendInitialMetadata();
    std::weak_ptr<WatchStream> weak = stream_;
    sub_ = hub_->SubscribePublished(
        filter,
        [weak](const PublishedEventPtr& e, bool more) {
          if (auto s = weak.lock()) s->Write(e, more);
        },
        [weak] {
          if (auto s = weak.lock()) s->Close(grpc::Status::OK);
        });
  }

  void OnWriteDone(bool ok) override {
    std::optional<grpc::Status> finish;
    {
      MutexLock lock(stream_->mu);
      stream_->writing = false;
      stream_->current.reset();
      if (stream_->finished) return;
      if (stream_->finish_pending) {
        finish = std::move(stream_->finish_pending);
      } else if (!ok) {  // the client went away
        finish = grpc::Status(grpc::StatusCode::CANCELLED, "stream broken");
      }
      if (finish) stream_->finished = true;
    }
    if (finish) {
      Finish(std::move(*finish));
      return;
    }
    sub_->Consumed();
  }

  void OnCancel() override { stream_->Close(grpc::Status::CANCELLED); }

  void OnDone() override {
    {
      MutexLock lock(stream_->mu);
      stream_->reactor = nullptr;
    }
    hub_->Unsubscribe(sub_);
    delete this;
  }

 private:
  std::shared_ptr<WatchHub> hub_;
  std::shared_ptr<WatchStream> stream_;
  std::shared_ptr<WatchSubscription> sub_;
};

void WatchStream::Write(const PublishedEventPtr& e, bool more) {
  WatchReactor* r;
  {
    MutexLock lock(mu);
    if (!reactor || finished || finish_pending) return;
    current = e;
    writing = true;
    r = reactor;
  }
  grpc::WriteOptions options;
  // With more events queued, let gRPC coalesce this one with the next
  // instead of flushing a frame per event; the last of a burst flushes.
  if (more) options.set_buffer_hint();
  // gRPC copies the ByteBuffer (references to the shared slices). `e` is
  // the event `current` holds until OnWriteDone.
  r->StartWrite(&e->wire, options);
}

void WatchStream::Close(grpc::Status status) {
  WatchReactor* r;
  {
    MutexLock lock(mu);
    if (!reactor || finished) return;
    if (writing) {
      if (!finish_pending) finish_pending = std::move(status);
      return;
    }
    finished = true;
    r = reactor;
  }
  r->Finish(std::move(status));
}

}  // namespace

// A unary call whose answer is produced on the core loop (or by the
// dataplane). Whoever claims `finished` first finishes the reactor: the
// work on the loop, or OnCancel (client gone, server shutting down). The
// loop-side closure holds the shared state, not the reactor, so it can tell
// that the call is already over without touching freed memory.
class MaglevService::UnaryCall final : public grpc::ServerUnaryReactor {
 public:
  struct State {
    std::atomic<bool> finished{false};
    bool Claim() { return !finished.exchange(true); }
  };

  UnaryCall() : state_(std::make_shared<State>()) {}
  const std::shared_ptr<State>& state() const { return state_; }

  void OnCancel() override {
    if (state_->Claim()) Finish(grpc::Status::CANCELLED);
  }
  void OnDone() override { delete this; }

 private:
  std::shared_ptr<State> state_;
};

MaglevService::MaglevService(asio::io_context& loop, Pipeline& pipeline,
                             std::shared_ptr<WatchHub> hub, Dataplane* dataplane,
                             ServiceOptions options)
    : loop_(loop),
      pipeline_(pipeline),
      hub_(std::move(hub)),
      dataplane_(dataplane),
      options_(std::move(options)) {
  if (options_.start_time_unix_ns == 0) options_.start_time_unix_ns = UnixNowNs();
}

MaglevService::~MaglevService() = default;

grpc::ServerUnaryReactor* MaglevService::OnLoop(std::function<grpc::Status()> work) {
  auto* call = new UnaryCall();
  asio::post(loop_, [call, state = call->state(), work = std::move(work)] {
    if (!state->Claim()) return;  // cancelled before the loop got here
    call->Finish(work());
  });
  return call;
}

grpc::ServerUnaryReactor* MaglevService::ListFrontends(grpc::CallbackServerContext*,
                                                       const ListFrontendsRequest*,
                                                       ListFrontendsResponse* resp) {
  return OnLoop([this, resp] {
    for (const auto& [name, _] : pipeline_.config().frontends) resp->add_frontend_names(name);
    return grpc::Status::OK;
  });
}

grpc::ServerUnaryReactor* MaglevService::GetFrontend(grpc::CallbackServerContext* ctx,
                                                     const GetFrontendRequest* req,
                                                     FrontendInfo* resp) {
  if (req->name().empty()) return FinishNow(ctx, InvalidArgument("frontend name is empty"));
  auto* call = new UnaryCall();
  asio::post(loop_, [this, call, state = call->state(), name = req->name(), resp] {
    if (state->finished) return;
    // `resp` belongs to gRPC until the call is finished, and a cancelled
    // call finishes from another thread: it is written only by whoever
    // claimed the call, so the answer is built aside first.
    auto info = std::make_shared<FrontendInfo>();
    auto finish = [&](grpc::Status st) {
      if (!state->Claim()) return;
      if (st.ok()) resp->Swap(info.get());
      call->Finish(std::move(st));
    };
    const Config& cfg = pipeline_.config();
    auto it = cfg.frontends.find(name);
    const FrontendView* view = pipeline_.lb().Find(name);
    if (it == cfg.frontends.end() || !view) return finish(NotFound("frontend", name));
    FillFrontendInfo(it->second, view->effective, info.get());
    if (!dataplane_) return finish(grpc::Status::OK);
    // The dataplane's view is read from VPP for this call (on the VPP
    // thread); the answer waits for it.
    std::map<std::string, IpAddress> addresses;
    for (const Pool& pool : it->second.pools) {
      for (const PoolBackend& pb : pool.backends) {
        auto be = cfg.backends.find(pb.backend);
        if (be != cfg.backends.end()) addresses[pb.backend] = be->second.address;
      }
    }
    dataplane_->InspectFrontend(name, [call, state, resp, info, addresses = std::move(addresses)](
                                          absl::StatusOr<FrontendDataplaneData> data) {
      if (!state->Claim()) return;
      FillFrontendDataplane(data, addresses, info.get());
      resp->Swap(info.get());
      call->Finish(grpc::Status::OK);
    });
  });
  return call;
}

grpc::ServerUnaryReactor* MaglevService::ListBackends(grpc::CallbackServerContext*,
                                                      const ListBackendsRequest*,
                                                      ListBackendsResponse* resp) {
  return OnLoop([this, resp] {
    for (const std::string& name : pipeline_.checker().BackendNames())
      resp->add_backend_names(name);
    return grpc::Status::OK;
  });
}

grpc::ServerUnaryReactor* MaglevService::GetBackend(grpc::CallbackServerContext* ctx,
                                                    const GetBackendRequest* req,
                                                    BackendInfo* resp) {
  if (req->name().empty()) return FinishNow(ctx, InvalidArgument("backend name is empty"));
  return OnLoop([this, req, resp] {
    std::optional<BackendSnapshot> snap = pipeline_.checker().GetBackend(req->name());
    if (!snap) return NotFound("backend", req->name());
    FillBackendInfo(*snap, FrontendsReferencing(pipeline_.config(), req->name()), pipeline_.lb(),
                    resp);
    return grpc::Status::OK;
  });
}

grpc::ServerUnaryReactor* MaglevService::BackendOp(grpc::CallbackServerContext* ctx,
                                                   const BackendRequest* req, BackendInfo* resp,
                                                   BackendAction action) {
  if (req->name().empty()) return FinishNow(ctx, InvalidArgument("backend name is empty"));
  return OnLoop([this, req, resp, action] {
    const std::string& name = req->name();
    absl::StatusOr<BackendSnapshot> snap =
        action == BackendAction::kPause    ? pipeline_.checker().Pause(name)
        : action == BackendAction::kResume ? pipeline_.checker().Resume(name)
        : action == BackendAction::kEnable ? pipeline_.Enable(name)
                                           : pipeline_.checker().Disable(name);
    if (!snap.ok()) return ToGrpcStatus(snap.status());
    FillBackendInfo(*snap, FrontendsReferencing(pipeline_.config(), name), pipeline_.lb(), resp);
    return grpc::Status::OK;
  });
}

grpc::ServerUnaryReactor* MaglevService::DrainBackend(grpc::CallbackServerContext* ctx,
                                                      const DrainBackendRequest* req,
                                                      BackendInfo* resp) {
  if (req->name().empty()) return FinishNow(ctx, InvalidArgument("backend name is empty"));
  if (req->timeout_ns() < 0) return FinishNow(ctx, InvalidArgument("drain timeout is negative"));
  return OnLoop([this, req, resp] {
    auto snap = pipeline_.Drain(req->name(), Duration(req->timeout_ns()));
    if (!snap.ok()) return ToGrpcStatus(snap.status());
    FillBackendInfo(*snap, FrontendsReferencing(pipeline_.config(), req->name()), pipeline_.lb(),
                    resp);
    return grpc::Status::OK;
  });
}

grpc::ServerUnaryReactor* MaglevService::PauseBackend(grpc::CallbackServerContext* ctx,
                                                      const BackendRequest* req,
                                                      BackendInfo* resp) {
  return BackendOp(ctx, req, resp, BackendAction::kPause);
}

grpc::ServerUnaryReactor* MaglevService::ResumeBackend(grpc::CallbackServerContext* ctx,
                                                       const BackendRequest* req,
                                                       BackendInfo* resp) {
  return BackendOp(ctx, req, resp, BackendAction::kResume);
}

grpc::ServerUnaryReactor* MaglevService::EnableBackend(grpc::CallbackServerContext* ctx,
                                                       const BackendRequest* req,
                                                       BackendInfo* resp) {
  return BackendOp(ctx, req, resp, BackendAction::kEnable);
}

grpc::ServerUnaryReactor* MaglevService::DisableBackend(grpc::CallbackServerContext* ctx,
                                                        const BackendRequest* req,
                                                        BackendInfo* resp) {
  return BackendOp(ctx, req, resp, BackendAction::kDisable);
}

grpc::ServerUnaryReactor* MaglevService::ListHealthChecks(grpc::CallbackServerContext*,
                                                          const ListHealthChecksRequest*,
                                                          ListHealthChecksResponse* resp) {
  return OnLoop([this, resp] {
    for (const auto& [name, _] : pipeline_.config().healthchecks) resp->add_names(name);
    return grpc::Status::OK;
  });
}

grpc::ServerUnaryReactor* MaglevService::GetHealthCheck(grpc::CallbackServerContext* ctx,
                                                        const GetHealthCheckRequest* req,
                                                        HealthCheckInfo* resp) {
  if (req->name().empty()) return FinishNow(ctx, InvalidArgument("health check name is empty"));
  return OnLoop([this, req, resp] {
    const auto& hcs = pipeline_.config().healthchecks;
    auto it = hcs.find(req->name());
    if (it == hcs.end()) return NotFound("health check", req->name());
    FillHealthCheckInfo(it->second, resp);
    return grpc::Status::OK;
  });
}

grpc::ServerUnaryReactor* MaglevService::SetFrontendPoolBackendWeight(
    grpc::CallbackServerContext* ctx, const SetWeightRequest* req, FrontendInfo* resp) {
  if (req->frontend().empty()) return FinishNow(ctx, InvalidArgument("frontend name is empty"));
  if (req->pool().empty()) return FinishNow(ctx, InvalidArgument("pool name is empty"));
  if (req->backend().empty()) return FinishNow(ctx, InvalidArgument("backend name is empty"));
  if (req->weight() < 0 || req->weight() > 100) {
    return FinishNow(
        ctx, InvalidArgument("weight " + std::to_string(req->weight()) + " out of range 0..100"));
  }
  return OnLoop([this, req, resp] {
    // SetWeight also emits the lb update that makes the dataplane
    // controller sync this frontend.
    absl::Status st =
        pipeline_.lb().SetWeight(req->frontend(), req->pool(), req->backend(), req->weight());
    if (!st.ok()) return ToGrpcStatus(st);
    const auto& fes = pipeline_.config().frontends;
    auto it = fes.find(req->frontend());
    const FrontendView* view = pipeline_.lb().Find(req->frontend());
    if (it == fes.end() || !view) return NotFound("frontend", req->frontend());
    FillFrontendInfo(it->second, view->effective, resp);
    return grpc::Status::OK;
  });
}

grpc::ServerWriteReactor<grpc::ByteBuffer>* MaglevService::WatchEvents(
    grpc::CallbackServerContext*, const grpc::ByteBuffer* raw_req) {
  class Failed final : public grpc::ServerWriteReactor<grpc::ByteBuffer> {
   public:
    explicit Failed(grpc::Status s) { Finish(std::move(s)); }
    void OnDone() override { delete this; }
  };
  // Raw method: the request arrives as bytes. One that does not parse is a
  // malformed request (INVALID_ARGUMENT, spec section 6).
  WatchRequest req;
  grpc::ByteBuffer bytes(*raw_req);  // Deserialize consumes its input
  if (!grpc::SerializationTraits<WatchRequest>::Deserialize(&bytes, &req).ok()) {
    return new Failed(InvalidArgument("malformed WatchRequest"));
  }
  absl::StatusOr<WatchFilter> filter = WatchFilterFromRequest(req);
  if (!filter.ok()) return new Failed(ToGrpcStatus(filter.status()));
  return new WatchReactor(hub_, *filter);
}

grpc::ServerUnaryReactor* MaglevService::CheckConfig(grpc::CallbackServerContext* ctx,
                                                     const CheckConfigRequest*,
                                                     CheckConfigResponse* resp) {
  if (options_.config_path.empty()) {
    return FinishNow(ctx, grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                                       "no configuration file configured"));
  }
  // Reading and validating touches no core state, so it runs right here
  // instead of occupying the core loop.
  ConfigResult r = LoadConfigFile(options_.config_path);
  resp->set_ok(r.ok());
  if (r.kind == ConfigErrorKind::kParse) resp->set_parse_error(r.error);
  if (r.kind == ConfigErrorKind::kSemantic) resp->set_semantic_error(r.error);
  return FinishNow(ctx, grpc::Status::OK);
}

grpc::ServerUnaryReactor* MaglevService::ReloadConfig(grpc::CallbackServerContext* ctx,
                                                      const ReloadConfigRequest*,
                                                      ReloadConfigResponse* resp) {
  if (options_.config_path.empty()) {
    return FinishNow(ctx, grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                                       "no configuration file configured"));
  }
  return OnLoop([this, resp] {
    ConfigResult r = pipeline_.ReloadFromFile(options_.config_path);
    resp->set_ok(r.ok());
    if (r.kind == ConfigErrorKind::kParse) resp->set_parse_error(r.error);
    if (r.kind == ConfigErrorKind::kSemantic) resp->set_semantic_error(r.error);
    return grpc::Status::OK;
  });
}

grpc::ServerUnaryReactor* MaglevService::GetVPPInfo(grpc::CallbackServerContext* ctx,
                                                    const GetVPPInfoRequest*, VPPInfo* resp) {
  if (!dataplane_) {
    return FinishNow(ctx, grpc::Status(grpc::StatusCode::UNAVAILABLE, "dataplane disabled"));
  }
  auto* call = new UnaryCall();
  asio::post(loop_, [this, call, state = call->state(), resp] {
    if (state->finished) return;
    dataplane_->GetInfo([call, state, resp](absl::StatusOr<VppInfoData> r) {
      if (!state->Claim()) return;
      if (!r.ok()) return call->Finish(ToGrpcStatus(r.status()));
      if (!r->connected) {
        return call->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "not connected to VPP"));
      }
      FillVppInfo(*r, resp);
      call->Finish(grpc::Status::OK);
    });
  });
  return call;
}

grpc::ServerUnaryReactor* MaglevService::GetVPPLBState(grpc::CallbackServerContext* ctx,
                                                       const GetVPPLBStateRequest*,
                                                       VPPLBState* resp) {
  if (!dataplane_) {
    return FinishNow(ctx, grpc::Status(grpc::StatusCode::UNAVAILABLE, "dataplane disabled"));
  }
  auto* call = new UnaryCall();
  asio::post(loop_, [this, call, state = call->state(), resp] {
    if (state->finished) return;
    dataplane_->GetLbState([call, state, resp](absl::StatusOr<VppLbStateData> r) {
      if (!state->Claim()) return;
      if (!r.ok()) return call->Finish(ToGrpcStatus(r.status()));
      FillVppLbState(*r, resp);
      call->Finish(grpc::Status::OK);
    });
  });
  return call;
}

grpc::ServerUnaryReactor* MaglevService::SyncVPPLBState(grpc::CallbackServerContext* ctx,
                                                        const SyncVPPLBStateRequest* req,
                                                        SyncVPPLBStateResponse*) {
  if (req->has_frontend_name() && req->frontend_name().empty()) {
    return FinishNow(ctx, InvalidArgument("frontend name is empty"));
  }
  if (!dataplane_) {
    return FinishNow(ctx, grpc::Status(grpc::StatusCode::UNAVAILABLE, "dataplane disabled"));
  }
  std::optional<std::string> frontend;
  if (req->has_frontend_name()) frontend = req->frontend_name();
  auto* call = new UnaryCall();
  asio::post(loop_, [this, call, state = call->state(), frontend] {
    if (state->finished) return;
    if (frontend && !pipeline_.config().frontends.count(*frontend)) {
      if (state->Claim()) call->Finish(NotFound("frontend", *frontend));
      return;
    }
    dataplane_->Sync(frontend, [call, state](absl::Status st) {
      if (state->Claim()) call->Finish(ToGrpcStatus(st));
    });
  });
  return call;
}

grpc::ServerUnaryReactor* MaglevService::GetVersion(grpc::CallbackServerContext* ctx,
                                                    const GetVersionRequest*, VersionInfo* resp) {
  resp->set_version(options_.version);
  resp->set_start_time_unix_ns(options_.start_time_unix_ns);
  resp->set_config_path(options_.config_path);
  return FinishNow(ctx, grpc::Status::OK);
}

}  // namespace maglev
