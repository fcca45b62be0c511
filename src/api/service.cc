#include "api/service.h"

#include <grpcpp/impl/codegen/proto_utils.h>

#include <asio/post.hpp>
#include <map>
#include <mutex>
#include <optional>
#include <utility>

#include "api/convert.h"
#include "api/status_map.h"
#include "common/mutex.h"
#include "config/loader.h"
#include "lb/desired_vip.h"
#include "lb/preview.h"

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

// ---- preview (#10)

// The table mode of the lb API level the dataplane reports (its
// DescribeLbApiLevel text); nullopt when VPP is not connected.
std::optional<PreviewTableMode> TableModeOf(const VppInfoData& info) {
  if (!info.connected) return std::nullopt;
  if (info.lb_api.rfind("legacy", 0) == 0) return PreviewTableMode::kLegacy;
  if (info.lb_api.find("without weights") != std::string::npos) return PreviewTableMode::kNoWeights;
  if (info.lb_api.find("weights") != std::string::npos) return PreviewTableMode::kWeights;
  return std::nullopt;
}

void FillPreviewVip(const VipPreview& v, PreviewVip* out) {
  out->set_frontend(v.frontend);
  out->set_vip(v.key.ToString());
  out->set_table_length(v.table_length);
  out->set_moved_buckets(v.moved_buckets);
  out->set_moved_share(v.moved_share);
  for (const AsPreview& b : v.backends) {
    maglev::PreviewBackend* pb = out->add_backends();
    pb->set_backend(b.backend);
    pb->set_address(b.address.ToString());
    pb->set_in_vip_before(b.weight_before.has_value());
    pb->set_in_vip_after(b.weight_after.has_value());
    pb->set_weight_before(b.weight_before.value_or(0));
    pb->set_weight_after(b.weight_after.value_or(0));
    pb->set_buckets_before(b.buckets_before);
    pb->set_buckets_after(b.buckets_after);
    pb->set_flushed(b.flushed);
  }
  for (const BucketMove& m : v.moves) {
    maglev::PreviewMove* pm = out->add_moves();
    pm->set_from(m.from);
    pm->set_to(m.to);
    pm->set_buckets(m.buckets);
  }
  for (const std::string& f : v.flushed) out->add_flushed(f);
  out->set_active_pool_before(v.active_pool_before);
  out->set_active_pool_after(v.active_pool_after);
  out->set_vip_added(v.vip_added);
  out->set_vip_removed(v.vip_removed);
  out->set_vip_recreated(v.vip_recreated);
}

void FillPreview(const PreviewResult& r, PreviewTableMode mode, PreviewResponse* out) {
  for (const VipPreview& v : r.vips) FillPreviewVip(v, out->add_vips());
  for (const std::string& a : r.assumptions) out->add_assumptions(a);
  out->set_table_mode(PreviewTableModeName(mode));
}

// A SYNC preview, frontend by frontend: VPP's VIP is read (InspectFrontend)
// and compared with the desired one. Steps run on the loop.
struct SyncPreviewWalk {
  std::vector<std::string> names;
  size_t next = 0;
  PreviewResult result;
  PreviewTableMode mode = PreviewTableMode::kWeights;
  asio::io_context* loop = nullptr;
  Dataplane* dataplane = nullptr;
  const LbStage* lb = nullptr;
  std::function<bool()> cancelled;
  std::function<void(absl::StatusOr<PreviewResult>)> finish;

  static void Step(const std::shared_ptr<SyncPreviewWalk>& w) {
    if (w->cancelled()) return;
    if (w->next == w->names.size()) return w->finish(std::move(w->result));
    std::string name = w->names[w->next++];
    w->dataplane->InspectFrontend(name, [w, name](absl::StatusOr<FrontendDataplaneData> data) {
      asio::post(*w->loop, [w, name, data = std::move(data)] {
        if (w->cancelled()) return;
        if (!data.ok()) return w->finish(data.status());
        w->Add(name, *data);
        Step(w);
      });
    });
  }

  void Add(const std::string& name, const FrontendDataplaneData& data) {
    const FrontendView* view = lb->Find(name);
    if (!view) return;  // removed by a reload meanwhile
    // VPP's VIP as a desired VIP: its active ASes and weights, named after
    // the desired side's backends.
    DesiredVip have = view->desired;
    have.ases.clear();
    for (const auto& [addr, weight] : data.as_weights) {
      DesiredAs as;
      as.address = addr;
      as.weight = static_cast<uint8_t>(std::min<uint32_t>(weight, 100));
      for (const DesiredAs& want : view->desired.ases)
        if (want.address == addr) as.backend = want.backend;
      have.ases.push_back(as);
    }
    if (data.vip_present && data.pending.empty()) return;  // in sync
    VipPreview v = PreviewVipChange(data.vip_present ? &have : nullptr, &view->desired, {}, mode);
    v.frontend = name;
    v.active_pool_before = v.active_pool_after = view->active_pool;
    result.vips.push_back(std::move(v));
  }
};

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
    dataplane_->GetInfo([this, call, state, resp](absl::StatusOr<VppInfoData> r) {
      if (!state->Claim()) return;
      if (!r.ok()) return call->Finish(ToGrpcStatus(r.status()));
      if (!r->connected) {
        return call->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "not connected to VPP"));
      }
      if (r->boottime_ns == 0 && options_.vpp_stats) {
        r->boottime_ns = options_.vpp_stats->BoottimeNs();
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
    dataplane_->GetLbState([this, call, state, resp](absl::StatusOr<VppLbStateData> r) {
      if (!state->Claim()) return;
      if (!r.ok()) return call->Finish(ToGrpcStatus(r.status()));
      FillVppLbState(*r, resp, options_.vpp_stats ? options_.vpp_stats->BoottimeNs() : 0);
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

grpc::ServerUnaryReactor* MaglevService::GetVPPLBCounters(grpc::CallbackServerContext* ctx,
                                                          const GetVPPLBCountersRequest* req,
                                                          VPPLBCounters* resp) {
  if (req->has_frontend_name() && req->frontend_name().empty()) {
    return FinishNow(ctx, InvalidArgument("frontend name is empty"));
  }
  if (!options_.vpp_stats) {
    return FinishNow(ctx, grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                       "VPP stats segment disabled (--vpp-stats-addr \"\")"));
  }
  return OnLoop([this, req, resp] {
    const Config& cfg = pipeline_.config();
    std::vector<std::pair<std::string, VipKey>> frontends;
    if (req->has_frontend_name()) {
      auto it = cfg.frontends.find(req->frontend_name());
      if (it == cfg.frontends.end()) return NotFound("frontend", req->frontend_name());
      frontends.emplace_back(it->first, FrontendVipKey(it->second));
    } else {
      for (const auto& [name, fe] : cfg.frontends) frontends.emplace_back(name, FrontendVipKey(fe));
    }
    std::vector<VipKey> keys;
    for (const auto& f : frontends) keys.push_back(f.second);
    absl::StatusOr<VppCountersReading> r = options_.vpp_stats->Counters(keys);
    if (!r.ok()) return ToGrpcStatus(r.status());
    FillVppLbCounters(frontends, *r, resp);
    return grpc::Status::OK;
  });
}

grpc::ServerUnaryReactor* MaglevService::LookupVPPLBFlow(grpc::CallbackServerContext* ctx,
                                                         const LookupVPPLBFlowRequest* req,
                                                         VPPLBFlowLookup* resp) {
  if (req->frontend_name().empty())
    return FinishNow(ctx, InvalidArgument("frontend name is empty"));
  std::optional<IpAddress> src = IpAddress::Parse(req->src_address());
  if (!src) {
    return FinishNow(ctx, InvalidArgument("source address \"" + req->src_address() +
                                          "\" is not an IPv4 or IPv6 address"));
  }
  if (req->src_port() > 65535 || (req->has_dst_port() && req->dst_port() > 65535)) {
    return FinishNow(ctx, InvalidArgument("ports are within 0..65535"));
  }
  if (!dataplane_) {
    return FinishNow(ctx, grpc::Status(grpc::StatusCode::UNAVAILABLE, "dataplane disabled"));
  }
  auto* call = new UnaryCall();
  asio::post(loop_, [this, call, state = call->state(), req, resp, src = *src] {
    if (state->finished) return;
    const Config& cfg = pipeline_.config();
    auto it = cfg.frontends.find(req->frontend_name());
    if (it == cfg.frontends.end()) {
      if (state->Claim()) call->Finish(NotFound("frontend", req->frontend_name()));
      return;
    }
    const Frontend& fe = it->second;
    const VipKey key = FrontendVipKey(fe).Normalized();
    uint32_t dst_port = req->has_dst_port() ? req->dst_port() : key.port;
    if (!req->has_dst_port() && key.port == 0) {
      if (state->Claim()) {
        call->Finish(InvalidArgument("frontend \"" + fe.name +
                                     "\" serves every port: give the destination port"));
      }
      return;
    }
    if (src.family() != fe.address.family()) {
      if (state->Claim()) {
        call->Finish(InvalidArgument("source " + src.ToString() + " is not of the family of " +
                                     fe.name + "'s address " + fe.address.ToString()));
      }
      return;
    }
    std::map<IpAddress, std::string> backends;
    for (const auto& [name, b] : cfg.backends) backends.emplace(b.address, name);
    const uint8_t protocol = key.protocol == kLbProtoAny ? kLbProtoTcp : key.protocol;
    resp->set_frontend(fe.name);
    resp->set_vip(key.ToString());
    resp->set_src_address(src.ToString());
    resp->set_src_port(req->src_port());
    resp->set_dst_port(dst_port);
    resp->set_protocol(protocol);
    const bool sticky = fe.src_ip_sticky;
    dataplane_->GetLbState([call, state, resp, key, src, dst_port, protocol, sticky,
                            backends = std::move(backends)](absl::StatusOr<VppLbStateData> r) {
      if (!state->Claim()) return;
      if (!r.ok()) return call->Finish(ToGrpcStatus(r.status()));
      const std::string prefix = key.address.ToString() + "/" + std::to_string(key.prefix_len);
      const VppVipData* vip = nullptr;
      for (const VppVipData& v : r->vips) {
        if (v.prefix == prefix && v.protocol == key.protocol && v.port == key.port) vip = &v;
      }
      if (!vip) {
        return call->Finish(grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                                         "VPP has no VIP " + key.ToString()));
      }
      absl::StatusOr<FlowLookupResult> l =
          LookupNewFlow(*vip, r->legacy_lb, sticky, src, static_cast<uint16_t>(resp->src_port()),
                        key.address, static_cast<uint16_t>(dst_port), protocol);
      if (!l.ok()) return call->Finish(ToGrpcStatus(l.status()));
      resp->set_flow_hash(l->hash);
      resp->set_bucket(l->bucket);
      resp->set_flow_table_length(l->table_length);
      if (l->as) {
        resp->set_as_address(l->as->ToString());
        auto b = backends.find(*l->as);
        if (b != backends.end()) resp->set_backend(b->second);
      }
      call->Finish(grpc::Status::OK);
    });
  });
  return call;
}

grpc::ServerUnaryReactor* MaglevService::PreviewChange(grpc::CallbackServerContext* ctx,
                                                       const PreviewRequest* req,
                                                       PreviewResponse* resp) {
  using Kind = CandidateChange::Kind;
  CandidateChange change;
  const bool sync = req->action() == PreviewRequest::SYNC;
  switch (req->action()) {
    case PreviewRequest::DISABLE:
      change.kind = Kind::kDisable;
      break;
    case PreviewRequest::ENABLE:
      change.kind = Kind::kEnable;
      break;
    case PreviewRequest::PAUSE:
      change.kind = Kind::kPause;
      break;
    case PreviewRequest::RESUME:
      change.kind = Kind::kResume;
      break;
    case PreviewRequest::DRAIN:
      change.kind = Kind::kDrain;
      break;
    case PreviewRequest::SET_WEIGHT:
      change.kind = Kind::kSetWeight;
      break;
    case PreviewRequest::CONFIG:
      change.kind = Kind::kConfig;
      break;
    case PreviewRequest::SYNC:
      break;
    default:
      return FinishNow(ctx, InvalidArgument("preview: no action given"));
  }
  change.backend = req->backend();
  change.frontend = req->frontend();
  change.pool = req->pool();
  change.weight = req->weight();
  if (sync && !dataplane_) {
    return FinishNow(ctx, grpc::Status(grpc::StatusCode::UNAVAILABLE, "dataplane disabled"));
  }
  if (change.kind == Kind::kConfig && !sync) {
    // Read and validated here, like CheckConfig: no core state involved.
    std::string path = req->config_path().empty() ? options_.config_path : req->config_path();
    if (path.empty()) {
      return FinishNow(ctx, grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                                         "no configuration file configured"));
    }
    ConfigResult r = LoadConfigFile(path);
    if (!r.ok()) {
      return FinishNow(ctx, InvalidArgument(std::string(r.kind == ConfigErrorKind::kParse
                                                            ? "configuration parse error: "
                                                            : "configuration error: ") +
                                            r.error));
    }
    change.config = r.config;
  }
  auto* call = new UnaryCall();
  auto state = call->state();
  // Runs on the loop once the table mode is known.
  auto compute = [this, call, state, resp, change, sync,
                  frontend = req->frontend()](std::optional<PreviewTableMode> known) {
    if (state->finished) return;
    const PreviewTableMode mode = known.value_or(PreviewTableMode::kWeights);
    std::vector<std::string> notes;
    if (!known)
      notes.push_back("lb API level unknown (VPP not connected): lb 1.2.0 with weights assumed");
    if (!sync) {
      absl::StatusOr<PreviewResult> r = PreviewChangeEffect(
          SnapshotStage(pipeline_.lb(),
                        [this](const std::string& b) { return pipeline_.checker().StateOf(b); }),
          change, mode);
      if (!state->Claim()) return;
      if (!r.ok()) return call->Finish(ToGrpcStatus(r.status()));
      r->assumptions.insert(r->assumptions.end(), notes.begin(), notes.end());
      FillPreview(*r, mode, resp);
      return call->Finish(grpc::Status::OK);
    }
    // SYNC: from what VPP holds now to the desired VIP, frontend by
    // frontend (VPP is read, never written).
    std::vector<std::string> names;
    if (!frontend.empty()) {
      if (!pipeline_.lb().Find(frontend)) {
        if (state->Claim()) call->Finish(NotFound("frontend", frontend));
        return;
      }
      names.push_back(frontend);
    } else {
      for (const auto& [name, _] : pipeline_.lb().frontends()) names.push_back(name);
    }
    auto walk = std::make_shared<SyncPreviewWalk>();
    walk->names = std::move(names);
    walk->result.assumptions = notes;
    walk->mode = mode;
    walk->loop = &loop_;
    walk->dataplane = dataplane_;
    walk->lb = &pipeline_.lb();
    walk->cancelled = [state] { return state->finished.load(); };
    walk->finish = [call, state, resp, mode](absl::StatusOr<PreviewResult> r) {
      if (!state->Claim()) return;
      if (!r.ok()) return call->Finish(ToGrpcStatus(r.status()));
      FillPreview(*r, mode, resp);
      call->Finish(grpc::Status::OK);
    };
    SyncPreviewWalk::Step(walk);
  };
  asio::post(loop_, [this, state, compute] {
    if (state->finished) return;
    if (!dataplane_) return compute(std::nullopt);
    dataplane_->GetInfo([this, compute](absl::StatusOr<VppInfoData> info) {
      std::optional<PreviewTableMode> mode;
      if (info.ok()) mode = TableModeOf(*info);
      asio::post(loop_, [compute, mode] { compute(mode); });
    });
  });
  return call;
}

}  // namespace maglev
