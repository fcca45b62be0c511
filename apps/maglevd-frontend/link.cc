// SPDX-License-Identifier: Apache-2.0
#include "link.h"

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>

#include <algorithm>

#include "common/log.h"

namespace maglev::frontend {
namespace {

using Clock = std::chrono::steady_clock;

std::string Describe(const grpc::Status& s) {
  std::string m = s.error_message();
  switch (s.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
      return "unavailable" + (m.empty() ? "" : ": " + m);
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "timed out";
    case grpc::StatusCode::UNAUTHENTICATED:
      return "unauthenticated" + (m.empty() ? "" : ": " + m);
    default:
      return m.empty() ? "error " + std::to_string(s.error_code()) : m;
  }
}

}  // namespace

Link::Link(std::string name, std::string address, std::shared_ptr<grpc::Channel> channel,
           Store& store, LinkOptions options)
    : name_(std::move(name)),
      address_(std::move(address)),
      channel_(std::move(channel)),
      stub_(maglev::Maglev::NewStub(channel_)),
      store_(store),
      opt_(options) {}

Link::~Link() { Stop(); }

void Link::Start() {
  health_ = std::thread([this] { HealthLoop(); });
  watch_ = std::thread([this] { WatchLoop(); });
  work_ = std::thread([this] { WorkLoop(); });
}

void Link::Stop() {
  {
    MutexLock lock(mu_);
    if (stop_) return;
    stop_ = true;
    for (auto* ctx : in_flight_) ctx->TryCancel();
  }
  cv_.NotifyAll();
  for (auto* t : {&health_, &watch_, &work_}) {
    if (t->joinable()) t->join();
  }
}

bool Link::Stopping() {
  MutexLock lock(mu_);
  return stop_;
}

std::unique_ptr<grpc::ClientContext> Link::NewContext(std::chrono::milliseconds timeout) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  if (timeout.count() > 0) ctx->set_deadline(std::chrono::system_clock::now() + timeout);
  MutexLock lock(mu_);
  if (stop_) ctx->TryCancel();
  in_flight_.insert(ctx.get());
  return ctx;
}

void Link::Release(grpc::ClientContext* ctx) {
  MutexLock lock(mu_);
  in_flight_.erase(ctx);
}

void Link::MarkDirty(const Dirty& d) {
  {
    MutexLock lock(mu_);
    dirty_.Merge(d);
  }
  cv_.NotifyAll();
}

void Link::SetConnected(bool connected, const std::string& error) {
  bool changed;
  {
    MutexLock lock(mu_);
    changed = connected_ != connected;
    connected_ = connected;
    if (connected && changed) {
      ++connect_gen_;
      full_pending_ = true;
    }
    if (!connected && changed) {
      // Unblock the event stream so that it reconnects afresh.
      for (auto* ctx : in_flight_) ctx->TryCancel();
    }
  }
  cv_.NotifyAll();
  store_.SetConnected(name_, connected, error);
  if (changed) {
    if (connected) {
      LogInfo("maglevd-connect", {{"maglevd", name_}, {"address", address_}});
    } else {
      LogWarn("maglevd-disconnect", {{"maglevd", name_}, {"address", address_}, {"error", error}});
    }
  }
}

void Link::HealthLoop() {
  auto backoff = opt_.backoff_min;
  for (;;) {
    maglev::GetVersionRequest req;
    maglev::VersionInfo resp;
    auto ctx = NewContext(opt_.health_timeout);
    grpc::Status s = stub_->GetVersion(ctx.get(), req, &resp);
    Release(ctx.get());
    if (Stopping()) return;
    std::chrono::milliseconds wait;
    if (s.ok()) {
      store_.SetVersion(name_, resp);
      SetConnected(true, "");
      backoff = opt_.backoff_min;
      wait = opt_.health_interval;
    } else {
      SetConnected(false, Describe(s));
      wait = backoff;
      backoff = std::min(backoff * 2, opt_.backoff_max);
    }
    auto until = std::chrono::steady_clock::now() + wait;
    MutexLock lock(mu_);
    while (!stop_ && !health_kick_) {
      if (!cv_.WaitUntil(mu_, until)) break;
    }
    if (stop_) return;
    health_kick_ = false;
  }
}

void Link::WatchLoop() {
  auto backoff = opt_.backoff_min;
  for (;;) {
    {
      MutexLock lock(mu_);
      while (!stop_ && !connected_) cv_.Wait(mu_);
      if (stop_) return;
    }
    maglev::WatchRequest req;
    req.set_log(true);
    req.set_log_level("debug");
    req.set_backend(true);
    req.set_frontend(true);
    auto ctx = NewContext(std::chrono::milliseconds(0));
    auto started = Clock::now();
    auto reader = stub_->WatchEvents(ctx.get(), req);
    // Whatever changed before the stream was up is picked up by a refresh.
    {
      MutexLock lock(mu_);
      full_pending_ = true;
    }
    cv_.NotifyAll();
    maglev::Event ev;
    while (reader->Read(&ev)) {
      Dirty d = store_.OnEvent(name_, ev);
      if (!d.empty()) MarkDirty(d);
    }
    grpc::Status s = reader->Finish();
    Release(ctx.get());
    if (Stopping()) return;
    LogInfo("maglevd-stream-end", {{"maglevd", name_}, {"error", Describe(s)}});
    SetConnected(false, "event stream: " + Describe(s));
    {
      MutexLock lock(mu_);
      health_kick_ = true;
    }
    cv_.NotifyAll();
    // A stream that keeps failing at once is retried with backoff.
    if (Clock::now() - started < std::chrono::seconds(2)) {
      auto until = std::chrono::steady_clock::now() + backoff;
      MutexLock lock(mu_);
      while (!stop_) {
        if (!cv_.WaitUntil(mu_, until)) break;
      }
      backoff = std::min(backoff * 2, opt_.backoff_max);
    } else {
      backoff = opt_.backoff_min;
    }
  }
}

bool Link::WorkReady(Clock::time_point next_full) {
  if (stop_) return true;
  if (!connected_) return false;
  if (full_pending_ || Clock::now() >= next_full) return true;
  if (!dirty_.frontends.empty() || !dirty_.backends.empty() || dirty_.vpp_info || dirty_.full) {
    return true;
  }
  return dirty_.lb_state && Clock::now() >= last_lb_ + opt_.lb_min_interval;
}

void Link::WorkLoop() {
  auto next_full = Clock::now() + opt_.refresh_interval;
  for (;;) {
    bool full = false;
    Dirty d;
    {
      MutexLock lock(mu_);
      auto deadline = next_full;
      if (dirty_.lb_state) deadline = std::min(deadline, last_lb_ + opt_.lb_min_interval);
      while (!WorkReady(next_full)) {
        if (!cv_.WaitUntil(mu_, deadline)) break;
      }
      if (stop_) return;
      if (!connected_) continue;
      full = full_pending_ || dirty_.full || Clock::now() >= next_full;
      full_pending_ = false;
      d = std::move(dirty_);
      dirty_ = Dirty();
      if (!full && d.lb_state && Clock::now() < last_lb_ + opt_.lb_min_interval) {
        dirty_.lb_state = true;  // not yet: keep it for later
        d.lb_state = false;
      }
    }
    if (full) {
      if (FullRefresh())
        next_full = Clock::now() + opt_.refresh_interval;
      else
        next_full = Clock::now() + opt_.backoff_max;
    } else {
      Fetch(std::move(d));
    }
  }
}

bool Link::FullRefresh() {
  auto call_failed = [this](const grpc::Status& s) {
    if (!s.ok() && !Stopping()) {
      LogWarn("maglevd-refresh-failed", {{"maglevd", name_}, {"error", Describe(s)}});
    }
    return !s.ok();
  };
  // Backends first: frontends join VPP's buckets by backend address.
  maglev::ListBackendsResponse backends;
  {
    auto ctx = NewContext(opt_.rpc_timeout);
    grpc::Status s = stub_->ListBackends(ctx.get(), {}, &backends);
    Release(ctx.get());
    if (call_failed(s)) return false;
  }
  std::vector<std::string> names(backends.backend_names().begin(), backends.backend_names().end());
  store_.RetainBackends(name_, names);
  for (const auto& b : names) {
    Dirty one;
    one.backends.insert(b);
    Fetch(std::move(one));
    if (Stopping()) return false;
  }
  maglev::ListHealthChecksResponse hcs;
  {
    auto ctx = NewContext(opt_.rpc_timeout);
    grpc::Status s = stub_->ListHealthChecks(ctx.get(), {}, &hcs);
    Release(ctx.get());
    if (call_failed(s)) return false;
  }
  std::vector<std::string> hc_names(hcs.names().begin(), hcs.names().end());
  store_.RetainHealthChecks(name_, hc_names);
  for (const auto& h : hc_names) {
    maglev::GetHealthCheckRequest req;
    req.set_name(h);
    maglev::HealthCheckInfo info;
    auto ctx = NewContext(opt_.rpc_timeout);
    grpc::Status s = stub_->GetHealthCheck(ctx.get(), req, &info);
    Release(ctx.get());
    if (s.ok()) store_.PutHealthCheck(name_, info);
  }
  Dirty vpp;
  vpp.vpp_info = true;
  Fetch(std::move(vpp));
  FetchLbState();
  maglev::ListFrontendsResponse frontends;
  {
    auto ctx = NewContext(opt_.rpc_timeout);
    grpc::Status s = stub_->ListFrontends(ctx.get(), {}, &frontends);
    Release(ctx.get());
    if (call_failed(s)) return false;
  }
  std::vector<std::string> fe_names(frontends.frontend_names().begin(),
                                    frontends.frontend_names().end());
  store_.RetainFrontends(name_, fe_names);
  Dirty fes;
  fes.frontends.insert(fe_names.begin(), fe_names.end());
  Fetch(std::move(fes));
  store_.MarkRefreshed(name_);
  return !Stopping();
}

void Link::FetchLbState() {
  {
    MutexLock lock(mu_);
    last_lb_ = Clock::now();
  }
  maglev::VPPLBState state;
  auto ctx = NewContext(opt_.rpc_timeout);
  grpc::Status s = stub_->GetVPPLBState(ctx.get(), {}, &state);
  Release(ctx.get());
  if (Stopping()) return;
  std::set<std::string> changed = store_.PutLbState(name_, s.ok() ? &state : nullptr);
  if (!changed.empty()) {
    // Their dataplane status (in-sync, VPP weights) is worth a new look.
    Dirty d;
    d.frontends = std::move(changed);
    MarkDirty(d);
  }
}

void Link::Fetch(Dirty d) {
  for (const auto& b : d.backends) {
    if (Stopping()) return;
    maglev::GetBackendRequest req;
    req.set_name(b);
    maglev::BackendInfo info;
    auto ctx = NewContext(opt_.rpc_timeout);
    grpc::Status s = stub_->GetBackend(ctx.get(), req, &info);
    Release(ctx.get());
    if (s.ok()) {
      store_.PutBackend(name_, info);
    } else if (s.error_code() == grpc::StatusCode::NOT_FOUND) {
      store_.RemoveBackend(name_, b);
    }
  }
  if (d.vpp_info && !Stopping()) {
    maglev::VPPInfo info;
    auto ctx = NewContext(opt_.rpc_timeout);
    grpc::Status s = stub_->GetVPPInfo(ctx.get(), {}, &info);
    Release(ctx.get());
    store_.PutVppInfo(name_, s.ok() ? &info : nullptr, s.ok() ? "" : Describe(s));
  }
  if (d.lb_state && !Stopping()) FetchLbState();
  for (const auto& f : d.frontends) {
    if (Stopping()) return;
    maglev::GetFrontendRequest req;
    req.set_name(f);
    maglev::FrontendInfo info;
    auto ctx = NewContext(opt_.rpc_timeout);
    grpc::Status s = stub_->GetFrontend(ctx.get(), req, &info);
    Release(ctx.get());
    if (s.ok()) {
      store_.PutFrontend(name_, info);
    } else if (s.error_code() == grpc::StatusCode::NOT_FOUND) {
      store_.RemoveFrontend(name_, f);
    }
  }
}

}  // namespace maglev::frontend
