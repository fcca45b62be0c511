// Probers: one health probe of one backend (icmp, tcp, tcp+tls, http, https),
// as an asio C++20 coroutine or, for plain tcp and http, as a small state
// machine on raw sockets (fast_probe.h). Everything here runs on the core loop's
// io_context thread; a probe never blocks the thread and never outlives its
// timeout (one deadline covers resolve-free connect, TLS handshake, request
// and response). Probe outcomes are data (ProbeResult), never errors.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "common/duration.h"
#include "common/ip_address.h"
#include "config/config.h"
#include "health/outcome.h"

namespace maglev {

// Result codes in the HAProxy tradition (spec §3):
//   L3OK L3TOUT L3ERR (icmp), L4OK L4TOUT L4CON (tcp), L6OK L6TOUT L6RSP (tls),
//   L7OK L7TOUT L7RSP L7STS (http).
struct ProbeResult {
  ProbeCode code = ProbeCode::kL4Con;
  std::string detail;  // human text, e.g. "HTTP 503", "connection refused"
  Duration elapsed{};
  bool ok() const { return ProbeCodePasses(code); }
};

// Everything one probe needs; built by the checker from Backend + HealthCheck.
struct ProbeSpec {
  CheckType type = CheckType::kTcp;
  IpAddress address;
  uint16_t port = 0;
  Duration timeout = std::chrono::seconds(1);
  std::optional<IpAddress> source;  // already family-matched to address
  std::string netns;                // empty: the daemon's own namespace
  HttpParams http;
  TcpParams tcp;
};

// The checker's view of probing: start one probe, get the result by callback
// on the core loop. Implemented by Prober (real I/O) and by fakes in tests.
class ProbeRunner {
 public:
  virtual ~ProbeRunner() = default;
  virtual void Run(const ProbeSpec& spec, std::function<void(ProbeResult)> done) = 0;
};

// Real probes on an io_context. Holds shared resources: one raw ICMP socket
// per (family, netns) shared by every icmp probe, and TLS contexts.
class Prober : public ProbeRunner {
 public:
  explicit Prober(asio::io_context& io);
  ~Prober() override;
  Prober(const Prober&) = delete;
  Prober& operator=(const Prober&) = delete;

  // Spawns Probe(spec) on the io_context; `done` runs on the same thread.
  void Run(const ProbeSpec& spec, std::function<void(ProbeResult)> done) override;

  // The coroutine itself. Never throws; always completes within spec.timeout
  // (plus scheduling slack).
  asio::awaitable<ProbeResult> Probe(ProbeSpec spec);

  // Plain tcp and http probes started by Run() go through a raw-socket fast
  // path (prober/fast_probe.h); the awaitable Probe() and every other type
  // use asio sockets. This counts the fast-path probes in flight, for tests
  // and diagnostics.
  size_t FastProbesInFlight() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// "maglevd/<version>": the HTTP User-Agent.
std::string UserAgent();

}  // namespace maglev
