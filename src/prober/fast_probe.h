// The fast path for plain tcp and http probes (no TLS): the probe drives its
// non-blocking socket itself instead of going through asio's socket
// operations. At 10,000 probes a second the per-probe system calls dominate
// the daemon's CPU, and asio's sockets make several that a hand-driven socket
// does not (ioctl(FIONBIO), poll and getsockopt(SO_ERROR) on connect
// completion, a speculative recv that returns EAGAIN, epoll_ctl ADD/MOD/DEL),
// plus a coroutine frame and operation objects per step.
//
// Every socket is added once, edge-triggered, to a private epoll instance;
// that epoll fd is itself the only thing registered with the io_context,
// which tells us when any probe socket has news. One ordered set of deadlines
// (a binary heap) and one asio timer cover the timeouts of all probes. Runs on
// the io_context's thread like everything in the prober; no thread of its own.
#pragma once

#include <sys/socket.h>

#include <array>
#include <asio/io_context.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "prober/prober.h"

namespace re2 {
class RE2;
}

namespace maglev {

// One probe for FastProbes::Start, on a socket the caller has created (in
// the right network namespace, bound to the source address).
struct FastProbeRequest {
  int fd = -1;  // non-blocking, not yet connected; owned by FastProbes from Start on
  sockaddr_storage peer{};
  socklen_t peer_len = 0;
  // http: send `request` once connected and judge the response; else the
  // probe passes (L4OK) as soon as the connection is accepted.
  bool http = false;
  std::string request;
  std::shared_ptr<const re2::RE2> re;  // body must match; null: body not read
  int code_min = 200;
  int code_max = 399;
  Duration timeout{};
  std::chrono::steady_clock::time_point start;  // for elapsed; the deadline is start + timeout
};

class FastProbes : public std::enable_shared_from_this<FastProbes> {
 public:
  using Done = std::function<void(ProbeResult)>;

  // Null when no epoll instance can be made; callers then use asio sockets.
  static std::shared_ptr<FastProbes> Create(asio::io_context& io);
  ~FastProbes();
  FastProbes(const FastProbes&) = delete;
  FastProbes& operator=(const FastProbes&) = delete;

  // Connects req.fd to req.peer and runs the probe to a result with the same
  // codes and details as the asio path: L4OK/L4CON/L4TOUT, and for http
  // L7OK/L7STS/L7RSP/L7TOUT. `done` runs exactly once, on the io_context
  // thread, never from inside Start.
  void Start(FastProbeRequest req, Done done);

  // The Prober is going away. Probes in flight still end normally (at the
  // latest at their deadline) and deliver their results, as the coroutine
  // probes do; after the last one the engine lets go of its io_context
  // objects. If the io_context is destroyed first, the engine's destructor
  // closes the sockets of the probes still in flight and drops their
  // callbacks uncalled.
  void Shutdown();

  size_t InFlight() const { return heap_.size(); }

 private:
  struct Probe;
  using Clock = std::chrono::steady_clock;

  FastProbes(asio::io_context& io, int epoll_fd);

  void ArmWait();
  void Drain();
  void ArmTimer();
  void OnTimer();
  void OnEvent(Probe* p, uint32_t events);
  // Sends (the rest of) the request; true once it is all out and the probe
  // waits for the response, false when the probe ended or waits for room.
  bool Send(Probe* p);
  void Receive(Probe* p);
  // Ends the probe: out of the heap, socket closed, object freed, then
  // `done` called (which may start new probes).
  void Finish(Probe* p, ProbeResult result);

  // Deadline heap of the probes in flight; each probe knows its index so it
  // can be taken out from anywhere when it ends before its deadline.
  void HeapPush(Probe* p);
  void HeapRemove(Probe* p);
  void HeapSwap(size_t a, size_t b);
  void SiftUp(size_t i);
  void SiftDown(size_t i);

  asio::io_context& io_;
  int epoll_fd_;                         // owned by desc_
  asio::posix::stream_descriptor desc_;  // the epoll fd, for readiness
  asio::steady_timer timer_;
  bool wait_armed_ = false;
  bool timer_armed_ = false;
  uint64_t timer_generation_ = 0;  // tells a superseded expiry from the current one
  Clock::time_point timer_expiry_{};
  bool shut_down_ = false;
  // The deadline is kept beside the pointer so that sifting compares
  // without touching the probes themselves.
  struct HeapEntry {
    Clock::time_point deadline;
    Probe* probe;  // owned
  };
  std::vector<HeapEntry> heap_;  // the probes in flight
  std::array<char, 4096> buf_;   // receive buffer, shared: one probe reads at a time
};

}  // namespace maglev
