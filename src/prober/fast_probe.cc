#include "prober/fast_probe.h"

#include <re2/re2.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <asio/post.hpp>
#include <cerrno>
#include <optional>
#include <utility>

#include "common/log.h"
#include "prober/http_response.h"
#include "prober/probe_util.h"

namespace maglev {

using prober_internal::ErrnoText;
using prober_internal::HttpVerdict;
using prober_internal::PostEarlyResult;
using prober_internal::Result;
using prober_internal::TimeoutText;

namespace {

// Events taken from the private epoll per epoll_wait, and batches per
// wakeup before yielding to the io_context's other handlers (the rest is
// picked up by a posted continuation).
constexpr int kMaxEvents = 256;
constexpr int kMaxBatches = 4;

}  // namespace

struct FastProbes::Probe {
  enum class Phase : uint8_t { kConnecting, kSending, kReceiving };

  int fd = -1;
  Phase phase = Phase::kConnecting;
  bool http = false;
  // The peer closed or the socket has an error: read until EOF (or the
  // error) even after a short read, as no further edge will come.
  bool peer_closed = false;
  int code_min = 0;
  int code_max = 0;
  size_t heap_index = 0;
  size_t sent = 0;
  Clock::time_point start;
  Clock::time_point deadline;
  Duration timeout{};
  std::string request;
  std::shared_ptr<const RE2> re;
  std::optional<HttpResponseReader> reader;  // from the end of the request on
  Done done;
};

std::shared_ptr<FastProbes> FastProbes::Create(asio::io_context& io) {
  const int fd = ::epoll_create1(EPOLL_CLOEXEC);
  if (fd < 0) {
    LogWarn("prober-epoll-failed", {{"error", ErrnoText(errno)}});
    return nullptr;
  }
  // The constructor is private; make_shared cannot reach it.
  return std::shared_ptr<FastProbes>(new FastProbes(io, fd));
}

FastProbes::FastProbes(asio::io_context& io, int epoll_fd)
    : io_(io), epoll_fd_(epoll_fd), desc_(io, epoll_fd), timer_(io) {}

FastProbes::~FastProbes() {
  // Only reached with probes in flight when the io_context went away first
  // (its pending handlers held the last references): nobody is left to
  // take their results.
  for (const HeapEntry& e : heap_) {
    ::close(e.probe->fd);
    delete e.probe;
  }
  heap_.clear();
}

void FastProbes::Start(FastProbeRequest req, Done done) {
  const auto post_failure = [&](std::string detail) {
    PostEarlyResult(io_, std::move(done), Result(ProbeCode::kL4Con, std::move(detail)), req.start);
  };
  // Non-blocking: EINPROGRESS is the normal answer. EINTR leaves the
  // connection going on asynchronously, like EINPROGRESS (POSIX).
  if (::connect(req.fd, reinterpret_cast<const sockaddr*>(&req.peer), req.peer_len) != 0 &&
      errno != EINPROGRESS && errno != EINTR) {
    const int err = errno;
    ::close(req.fd);
    post_failure(ErrnoText(err));
    return;
  }
  auto* p = new Probe;
  p->fd = req.fd;
  p->http = req.http;
  p->code_min = req.code_min;
  p->code_max = req.code_max;
  p->start = req.start;
  p->deadline = req.start + req.timeout;
  p->timeout = req.timeout;
  p->request = std::move(req.request);
  p->re = std::move(req.re);
  p->done = std::move(done);
  // One registration for the whole probe, edge-triggered: the connect's
  // completion (OUT, or ERR/HUP), then the response (IN, RDHUP). The fd
  // leaves the epoll set by itself when it is closed.
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  ev.data.ptr = p;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, p->fd, &ev) != 0) {
    const int err = errno;
    ::close(p->fd);
    done = std::move(p->done);
    delete p;
    post_failure("epoll_ctl: " + ErrnoText(err));
    return;
  }
  HeapPush(p);
  ArmTimer();
  ArmWait();
}

void FastProbes::Shutdown() {
  shut_down_ = true;
  if (heap_.empty()) {
    std::error_code ignored;
    timer_armed_ = false;
    timer_.cancel();
    desc_.cancel(ignored);
  }
}

// --- readiness ---------------------------------------------------------

void FastProbes::ArmWait() {
  if (wait_armed_ || heap_.empty()) return;
  wait_armed_ = true;
  desc_.async_wait(asio::posix::stream_descriptor::wait_read,
                   [self = shared_from_this()](const std::error_code& ec) {
                     self->wait_armed_ = false;
                     if (!ec) self->Drain();
                   });
}

void FastProbes::Drain() {
  // The epoll fd is registered edge-triggered with the io_context: it is
  // reported again only when a new event arrives, so every wakeup must
  // empty it (or come back for the rest) before waiting again.
  epoll_event events[kMaxEvents];
  for (int batch = 0; batch < kMaxBatches; ++batch) {
    const int n = ::epoll_wait(epoll_fd_, events, kMaxEvents, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      LogWarn("prober-epoll-wait-failed", {{"error", ErrnoText(errno)}});
      break;
    }
    // One event per fd per batch, so a probe ended here has no later event
    // in this array; the probes `done` starts are added to the epoll set
    // and show up in a later batch.
    for (int i = 0; i < n; ++i) OnEvent(static_cast<Probe*>(events[i].data.ptr), events[i].events);
    if (n < kMaxEvents) {
      ArmWait();
      return;
    }
  }
  // Possibly more ready: let the loop's other handlers (timers, the API)
  // run first, then carry on where this left off.
  asio::post(io_, [self = shared_from_this()] { self->Drain(); });
}

void FastProbes::OnEvent(Probe* p, uint32_t events) {
  constexpr uint32_t kClosed = EPOLLRDHUP | EPOLLHUP | EPOLLERR;
  if (events & kClosed) p->peer_closed = true;
  if (p->phase == Probe::Phase::kConnecting) {
    if (events & (EPOLLERR | EPOLLHUP)) {
      // A refused or failed connect: the reason is the socket's error (what
      // asio asks on every connect completion; here only on failure).
      int err = 0;
      socklen_t len = sizeof(err);
      if (::getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
      if (err != 0) {
        Finish(p, Result(ProbeCode::kL4Con, ErrnoText(err)));
        return;
      }
    } else if (!(events & EPOLLOUT)) {
      return;  // not writable yet: still connecting
    }
    if (!p->http) {
      Finish(p, Result(ProbeCode::kL4Ok, "connected"));
      return;
    }
    p->phase = Probe::Phase::kSending;
  }
  if (p->phase == Probe::Phase::kSending) {
    if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
    if (!Send(p)) return;
  }
  // The answer cannot be there right after the request unless this event
  // already said so (a server that talks first, or closed): no speculative
  // recv that would only return EAGAIN.
  if (events & (EPOLLIN | kClosed)) Receive(p);
}

bool FastProbes::Send(Probe* p) {
  while (p->sent < p->request.size()) {
    const ssize_t n =
        ::send(p->fd, p->request.data() + p->sent, p->request.size() - p->sent, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return false;  // the next OUT edge resumes
      Finish(p, Result(ProbeCode::kL7Rsp, "send: " + ErrnoText(errno)));
      return false;
    }
    p->sent += static_cast<size_t>(n);
  }
  p->phase = Probe::Phase::kReceiving;
  p->reader.emplace(p->re != nullptr);
  return true;
}

void FastProbes::Receive(Probe* p) {
  HttpResponseReader& reader = *p->reader;
  while (true) {
    // Never more than the reader takes: an endless head or body costs a
    // bounded read (same chunking as the asio path).
    const size_t want = std::min(buf_.size(), reader.WantBytes());
    const ssize_t n = ::recv(p->fd, buf_.data(), want, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      Finish(p, Result(ProbeCode::kL7Rsp, "receive: " + ErrnoText(errno)));
      return;
    }
    if (n == 0) {
      reader.FeedEof();
    } else {
      reader.Feed(std::string_view(buf_.data(), static_cast<size_t>(n)));
    }
    if (auto verdict = HttpVerdict(reader, p->code_min, p->code_max, p->re.get())) {
      Finish(p, std::move(*verdict));
      return;
    }
    if (n == 0) {
      // Unreachable (EOF always settles the reader); never spin on it.
      Finish(p, Result(ProbeCode::kL7Rsp, "connection closed"));
      return;
    }
    // A short read emptied the socket; with edge-triggering the next data
    // brings a new event. Once the peer has closed there is no next event,
    // so read on to EOF.
    if (static_cast<size_t>(n) < want && !p->peer_closed) return;
  }
}

void FastProbes::Finish(Probe* p, ProbeResult result) {
  HeapRemove(p);
  // SO_LINGER 0 was set at creation: this close resets the connection.
  ::close(p->fd);
  result.elapsed = std::chrono::duration_cast<Duration>(Clock::now() - p->start);
  Done done = std::move(p->done);
  delete p;
  if (shut_down_ && heap_.empty()) Shutdown();
  done(std::move(result));
}

// --- deadlines ---------------------------------------------------------

void FastProbes::ArmTimer() {
  if (heap_.empty()) return;
  const Clock::time_point next = heap_[0].deadline;
  // A pending expiry at or before the earliest deadline will do: it finds
  // nothing due or something due, and re-arms for what is left. Probes
  // usually end long before their deadline, so this keeps the timer still
  // instead of moving it for every probe.
  if (timer_armed_ && timer_expiry_ <= next) return;
  timer_armed_ = true;
  timer_expiry_ = next;
  const uint64_t generation = ++timer_generation_;
  timer_.expires_at(next);  // a superseded wait completes with operation_aborted
  timer_.async_wait([self = shared_from_this(), generation](const std::error_code& ec) {
    if (ec || generation != self->timer_generation_) return;
    self->timer_armed_ = false;
    self->OnTimer();
  });
}

void FastProbes::OnTimer() {
  const Clock::time_point now = Clock::now();
  while (!heap_.empty() && heap_[0].deadline <= now) {
    Probe* p = heap_[0].probe;
    ProbeCode code =
        p->phase == Probe::Phase::kConnecting ? ProbeCode::kL4Tout : ProbeCode::kL7Tout;
    Finish(p, Result(code, TimeoutText(p->timeout)));
  }
  ArmTimer();
}

void FastProbes::HeapPush(Probe* p) {
  p->heap_index = heap_.size();
  heap_.push_back({p->deadline, p});
  SiftUp(p->heap_index);
}

void FastProbes::HeapRemove(Probe* p) {
  const size_t i = p->heap_index;
  const size_t last = heap_.size() - 1;
  if (i != last) HeapSwap(i, last);
  heap_.pop_back();
  if (i < heap_.size()) {
    SiftUp(i);
    SiftDown(i);
  }
}

void FastProbes::HeapSwap(size_t a, size_t b) {
  std::swap(heap_[a], heap_[b]);
  heap_[a].probe->heap_index = a;
  heap_[b].probe->heap_index = b;
}

void FastProbes::SiftUp(size_t i) {
  while (i > 0) {
    const size_t parent = (i - 1) / 2;
    if (!(heap_[i].deadline < heap_[parent].deadline)) break;
    HeapSwap(i, parent);
    i = parent;
  }
}

void FastProbes::SiftDown(size_t i) {
  const size_t n = heap_.size();
  while (true) {
    size_t smallest = i;
    const size_t l = 2 * i + 1;
    const size_t r = l + 1;
    if (l < n && heap_[l].deadline < heap_[smallest].deadline) smallest = l;
    if (r < n && heap_[r].deadline < heap_[smallest].deadline) smallest = r;
    if (smallest == i) break;
    HeapSwap(i, smallest);
    i = smallest;
  }
}

}  // namespace maglev
