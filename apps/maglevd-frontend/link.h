// SPDX-License-Identifier: Apache-2.0
// The dashboard's connection to one maglevd.
//
// Three threads of its own, so that a slow or dead maglevd holds up nothing
// but itself (the HTTP side only ever reads the Store):
//   health  GetVersion every `health_interval` (2 s deadline); flips the
//           maglevd's `connected` indicator; while disconnected it retries
//           with exponential backoff (backoff_min .. backoff_max);
//   watch   one long-lived WatchEvents stream (log level debug) while
//           connected; events go to the Store, which says what to re-fetch;
//           a stream that ends marks the maglevd disconnected at once;
//   work    the fetches: a full refresh after every (re)connection and every
//           `refresh_interval` as a safety net, and between them only what
//           the events made dirty (coalesced; VPP's LB state at most every
//           `lb_min_interval`).
// Every call has a deadline; Stop() cancels whatever is in flight.
#pragma once

#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "common/mutex.h"
#include "proto/maglev.grpc.pb.h"
#include "store.h"

namespace maglev::frontend {

struct LinkOptions {
  std::chrono::milliseconds health_interval{5000};
  std::chrono::milliseconds health_timeout{2000};
  std::chrono::milliseconds refresh_interval{30000};
  std::chrono::milliseconds rpc_timeout{5000};
  std::chrono::milliseconds backoff_min{250};
  std::chrono::milliseconds backoff_max{5000};
  std::chrono::milliseconds lb_min_interval{500};
};

class Link {
 public:
  Link(std::string name, std::string address, std::shared_ptr<grpc::Channel> channel, Store& store,
       LinkOptions options);
  ~Link();
  Link(const Link&) = delete;
  Link& operator=(const Link&) = delete;

  void Start();
  void Stop();

  const std::string& name() const { return name_; }
  const std::string& address() const { return address_; }
  // Thread-safe; used by the admin endpoints.
  maglev::Maglev::Stub& stub() { return *stub_; }
  // An admin action changed something: fetch it now rather than wait for
  // the events.
  void MarkDirty(const Dirty& d);

 private:
  void HealthLoop();
  void WatchLoop();
  void WorkLoop();
  void SetConnected(bool connected, const std::string& error);
  // A context with the rpc deadline, registered so that Stop() cancels it.
  std::unique_ptr<grpc::ClientContext> NewContext(std::chrono::milliseconds timeout);
  void Release(grpc::ClientContext* ctx);
  bool FullRefresh();
  void Fetch(Dirty d);
  void FetchLbState();
  bool Stopping();
  // Whether WorkLoop has something to do (or must stop).
  bool WorkReady(std::chrono::steady_clock::time_point next_full)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string name_;
  const std::string address_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<maglev::Maglev::Stub> stub_;
  Store& store_;
  const LinkOptions opt_;

  Mutex mu_;
  CondVar cv_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  bool connected_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t connect_gen_ ABSL_GUARDED_BY(mu_) = 0;  // bumped on every (re)connection
  bool health_kick_ ABSL_GUARDED_BY(mu_) = false;
  bool full_pending_ ABSL_GUARDED_BY(mu_) = false;
  Dirty dirty_ ABSL_GUARDED_BY(mu_);
  std::chrono::steady_clock::time_point last_lb_ ABSL_GUARDED_BY(mu_){};
  std::set<grpc::ClientContext*> in_flight_ ABSL_GUARDED_BY(mu_);
  std::thread health_, watch_, work_;
};

}  // namespace maglev::frontend
