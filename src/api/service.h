// The gRPC service `maglev.Maglev` (spec §6), on gRPC's callback API.
//
// Threading: handlers run on gRPC's threads and never touch core state
// there. Each call posts its work to the core loop (`loop`), which owns the
// pipeline (checker, lb stage) and the config; the reactor is finished from the loop (or from
// the dataplane's completion callback). A call cancelled by the client or by
// server shutdown before the loop got to it is finished with CANCELLED and
// its loop work becomes a no-op, so shutting down never depends on the loop
// still running. WatchEvents streams are fed by the WatchHub.
//
// Semantics: unknown names -> NOT_FOUND; empty names, out-of-range weights or
// bad log levels -> INVALID_ARGUMENT; pause/resume of a disabled backend ->
// FAILED_PRECONDITION; VPP RPCs without dataplane -> UNAVAILABLE. Lists are
// sorted by name.
#pragma once

#include <asio/io_context.hpp>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "api/dataplane.h"
#include "api/vpp_stats.h"
#include "api/watch_hub.h"
#include "core/pipeline.h"
#include "proto/maglev.grpc.pb.h"

namespace maglev {

struct ServiceOptions {
  // The configuration file that CheckConfig and ReloadConfig read.
  std::string config_path;
  std::string version = MAGLEV_VERSION;
  int64_t start_time_unix_ns = 0;  // 0: when the service is constructed
  // VPP's stats segment; null when off (GetVPPLBCounters UNAVAILABLE).
  // Outlives the service.
  VppStats* vpp_stats = nullptr;
};

// WatchEvents is registered raw (ByteBuffer in and out, same bytes on the
// wire): its events are serialized once by the hub and written to every
// subscriber as they are, instead of once per subscriber by gRPC.
class MaglevService final
    : public Maglev::WithRawCallbackMethod_WatchEvents<Maglev::CallbackService> {
 public:
  // `loop` runs `pipeline`; `dataplane` may be null (VPP RPCs UNAVAILABLE).
  // All must outlive the service (and the grpc::Server it is registered on).
  MaglevService(asio::io_context& loop, Pipeline& pipeline, std::shared_ptr<WatchHub> hub,
                Dataplane* dataplane, ServiceOptions options);
  ~MaglevService() override;

  WatchHub& hub() { return *hub_; }

  grpc::ServerUnaryReactor* ListFrontends(grpc::CallbackServerContext* ctx,
                                          const ListFrontendsRequest* req,
                                          ListFrontendsResponse* resp) override;
  grpc::ServerUnaryReactor* GetFrontend(grpc::CallbackServerContext* ctx,
                                        const GetFrontendRequest* req, FrontendInfo* resp) override;
  grpc::ServerUnaryReactor* ListBackends(grpc::CallbackServerContext* ctx,
                                         const ListBackendsRequest* req,
                                         ListBackendsResponse* resp) override;
  grpc::ServerUnaryReactor* GetBackend(grpc::CallbackServerContext* ctx,
                                       const GetBackendRequest* req, BackendInfo* resp) override;
  grpc::ServerUnaryReactor* PauseBackend(grpc::CallbackServerContext* ctx,
                                         const BackendRequest* req, BackendInfo* resp) override;
  grpc::ServerUnaryReactor* ResumeBackend(grpc::CallbackServerContext* ctx,
                                          const BackendRequest* req, BackendInfo* resp) override;
  grpc::ServerUnaryReactor* EnableBackend(grpc::CallbackServerContext* ctx,
                                          const BackendRequest* req, BackendInfo* resp) override;
  grpc::ServerUnaryReactor* DisableBackend(grpc::CallbackServerContext* ctx,
                                           const BackendRequest* req, BackendInfo* resp) override;
  grpc::ServerUnaryReactor* DrainBackend(grpc::CallbackServerContext* ctx,
                                         const DrainBackendRequest* req,
                                         BackendInfo* resp) override;
  grpc::ServerUnaryReactor* ListHealthChecks(grpc::CallbackServerContext* ctx,
                                             const ListHealthChecksRequest* req,
                                             ListHealthChecksResponse* resp) override;
  grpc::ServerUnaryReactor* GetHealthCheck(grpc::CallbackServerContext* ctx,
                                           const GetHealthCheckRequest* req,
                                           HealthCheckInfo* resp) override;
  grpc::ServerUnaryReactor* SetFrontendPoolBackendWeight(grpc::CallbackServerContext* ctx,
                                                         const SetWeightRequest* req,
                                                         FrontendInfo* resp) override;
  grpc::ServerWriteReactor<grpc::ByteBuffer>* WatchEvents(grpc::CallbackServerContext* ctx,
                                                          const grpc::ByteBuffer* req) override;
  grpc::ServerUnaryReactor* CheckConfig(grpc::CallbackServerContext* ctx,
                                        const CheckConfigRequest* req,
                                        CheckConfigResponse* resp) override;
  grpc::ServerUnaryReactor* ReloadConfig(grpc::CallbackServerContext* ctx,
                                         const ReloadConfigRequest* req,
                                         ReloadConfigResponse* resp) override;
  grpc::ServerUnaryReactor* GetVPPInfo(grpc::CallbackServerContext* ctx,
                                       const GetVPPInfoRequest* req, VPPInfo* resp) override;
  grpc::ServerUnaryReactor* GetVPPLBState(grpc::CallbackServerContext* ctx,
                                          const GetVPPLBStateRequest* req,
                                          VPPLBState* resp) override;
  grpc::ServerUnaryReactor* SyncVPPLBState(grpc::CallbackServerContext* ctx,
                                           const SyncVPPLBStateRequest* req,
                                           SyncVPPLBStateResponse* resp) override;
  grpc::ServerUnaryReactor* GetVersion(grpc::CallbackServerContext* ctx,
                                       const GetVersionRequest* req, VersionInfo* resp) override;
  grpc::ServerUnaryReactor* GetVPPLBCounters(grpc::CallbackServerContext* ctx,
                                             const GetVPPLBCountersRequest* req,
                                             VPPLBCounters* resp) override;
  grpc::ServerUnaryReactor* LookupVPPLBFlow(grpc::CallbackServerContext* ctx,
                                            const LookupVPPLBFlowRequest* req,
                                            VPPLBFlowLookup* resp) override;
  // Preview (#10): the lb stage's inputs are copied on the loop and the
  // change computed on the copy (lb/preview.h); with a dataplane, the table
  // mode comes from its lb API level and SYNC reads VPP's VIPs. Read-only.
  grpc::ServerUnaryReactor* PreviewChange(grpc::CallbackServerContext* ctx,
                                          const PreviewRequest* req,
                                          PreviewResponse* resp) override;

 private:
  class UnaryCall;
  enum class BackendAction { kPause, kResume, kEnable, kDisable };
  grpc::ServerUnaryReactor* BackendOp(grpc::CallbackServerContext* ctx, const BackendRequest* req,
                                      BackendInfo* resp, BackendAction action);
  // Runs `work` on the loop; its status finishes the call (unless the call
  // was cancelled first, in which case `work` does not run).
  grpc::ServerUnaryReactor* OnLoop(std::function<grpc::Status()> work);

  asio::io_context& loop_;
  Pipeline& pipeline_;
  std::shared_ptr<WatchHub> hub_;
  Dataplane* dataplane_;
  ServiceOptions options_;
};

}  // namespace maglev
