// ICMP echo probes (IPv4 and IPv6) over one raw socket per (address family,
// network namespace), shared by every icmp probe and opened on first use. A
// receive loop per socket matches echo replies to the waiting probe by the
// process-wide identifier, a sequence number unique among the probes in flight
// on that socket, and a per-probe token echoed in the payload; destination
// unreachable and time exceeded errors quoting one of our requests end that
// probe early with L3ERR. Runs on the core loop's io_context thread.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "prober/netns.h"
#include "prober/prober.h"

namespace maglev {

class IcmpPinger {
 public:
  IcmpPinger(asio::io_context& io, NetnsSockets& netns);
  ~IcmpPinger();
  IcmpPinger(const IcmpPinger&) = delete;
  IcmpPinger& operator=(const IcmpPinger&) = delete;

  // One echo probe of spec.address (source spec.source, namespace
  // spec.netns), finished by `deadline`: L3OK, L3TOUT or L3ERR. The caller
  // keeps this object alive until the awaitable completes. Never throws on
  // network errors.
  asio::awaitable<ProbeResult> Ping(const ProbeSpec& spec,
                                    std::chrono::steady_clock::time_point deadline);

  // Closes every raw socket; later pings fail with L3ERR. Probes in flight
  // end with their timeout.
  void Shutdown();

  // Open raw sockets (for tests and diagnostics).
  size_t SocketCount() const { return sockets_.size(); }

 private:
  struct Waiter;
  struct Socket;

  absl::StatusOr<std::shared_ptr<Socket>> GetSocket(bool v6, const std::string& netns);
  static asio::awaitable<void> ReceiveLoop(std::shared_ptr<Socket> s);

  asio::io_context& io_;
  NetnsSockets& netns_;
  const uint16_t ident_;
  uint64_t next_token_;
  bool shut_down_ = false;
  std::map<std::pair<bool, std::string>, std::shared_ptr<Socket>> sockets_;
};

}  // namespace maglev
