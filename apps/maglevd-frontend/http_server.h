// SPDX-License-Identifier: Apache-2.0
// maglevd-frontend's HTTP surface, on Boost.Beast (docs/design.md says why):
//   /view/ (the SPA), /view/api/{state,state/NAME,maglevds,version,events},
//   /healthz, and /admin/ (HTTP basic auth; off without credentials) with
//   the POST endpoints that call the maglevd a request names.
//
// Two io_context threads: the caller's (Run()) accepts connections and
// answers requests, admin calls included; a second one feeds the SSE
// streams, so that an API call never waits behind a fan-out burst. Every
// connection and stream is a coroutine on one of them. It never waits for a
// maglevd:
// reads come from the Store, admin calls use gRPC's callback API and resume
// the coroutine when the answer is back. The SSE streams are fed from the
// EventRing; publishers only wake them (Notify(), any thread), at most once
// per `flush_delay`, so many events share one write per stream.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/listen_address.h"
#include "event_ring.h"
#include "link.h"
#include "store.h"

namespace maglev::frontend {

struct HttpOptions {
  maglev::ListenAddress listen;
  std::string admin_user;  // both empty: /admin is off
  std::string admin_password;
  std::chrono::milliseconds flush_delay{25};
  std::chrono::seconds heartbeat{15};
  std::chrono::milliseconds retry{2000};  // SSE `retry:`
  std::chrono::milliseconds admin_timeout{10000};
};

struct HttpCounters {
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> sse_clients{0};
  std::atomic<uint64_t> sse_resyncs{0};
  std::atomic<uint64_t> sse_frames{0};
};

class HttpServer {
 public:
  HttpServer(HttpOptions options, Store& store, EventRing& ring,
             std::map<std::string, Link*> links);
  ~HttpServer();

  // Binds and listens; on failure returns the reason (the caller exits 3).
  absl::Status Listen();
  // The port actually bound.
  uint16_t port() const;
  // Serves until Shutdown(); returns after every coroutine ended.
  void Run();
  // Any thread.
  void Shutdown();
  void Notify();

  const HttpCounters& counters() const { return counters_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  HttpCounters counters_;
};

// Pieces of request handling, exposed for unit tests.
std::string JsonError(std::string_view message);
bool DecodeBasicAuth(std::string_view header, std::string* user, std::string* password);
bool PercentDecode(std::string_view in, std::string* out);
std::vector<std::string> SplitPath(std::string_view path);  // undecoded segments

}  // namespace maglev::frontend
