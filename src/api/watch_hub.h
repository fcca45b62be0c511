// The WatchEvents hub: fans log records, backend transitions and frontend
// state changes out to stream subscribers, each with its own filter and a
// bounded queue. A subscriber that cannot keep up loses events (counted),
// never the daemon's time or memory, and never another subscriber's events.
//
// Threading: everything here is thread-safe. Log records arrive on whatever
// thread logs (from the logger's sink, under the logger's lock), checker and lb events on the core
// loop, subscribe/consume calls on gRPC threads. Locks are held only to move a pointer in or out of
// a queue; the consumer's `deliver` callback always runs outside the hub's locks: on the publishing
// thread, on the consumer's thread (Consumed) or, with Options::writer_thread, on the hub's writer
// thread.
#pragma once

#include <grpcpp/support/byte_buffer.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "common/log.h"
#include "common/mutex.h"
#include "health/state_machine.h"
#include "lb/effective_weights.h"
#include "lb/lb_stage.h"
#include "proto/maglev.pb.h"

namespace maglev {

// The kinds of event the hub fans out (Event's oneof).
enum class WatchEventKind { kLog, kBackend, kFrontend };

// What one subscriber wants. The default (an empty WatchRequest) is
// everything, with log records at info and above.
struct WatchFilter {
  bool log = true;
  LogLevel log_level = LogLevel::kInfo;
  bool backend = true;
  bool frontend = true;

  // `level` only matters for kLog.
  bool Wants(WatchEventKind kind, LogLevel level) const;
};

// InvalidArgument for an unknown log_level.
absl::StatusOr<WatchFilter> WatchFilterFromRequest(const WatchRequest& request);

// Events are immutable once published and shared by every subscriber that
// receives them (no per-subscriber copy).
using EventPtr = std::shared_ptr<const Event>;

// An event as the hub publishes it: the message and its wire form, both
// built once. A gRPC stream writes `wire` (copying a ByteBuffer only takes
// references on its slices), so N subscribers cost one serialization, not N.
struct PublishedEvent {
  Event event;
  grpc::ByteBuffer wire;  // `event` serialized
};
using PublishedEventPtr = std::shared_ptr<const PublishedEvent>;

// One subscriber: its filter, its bounded queue and its counters.
class WatchSubscription {
 public:
  // Hands one event to the consumer. Must not block. At most one event is
  // outstanding: the next one is handed over only after Consumed(). `more`
  // tells that further events are already queued (a writer may batch).
  using Deliver = std::function<void(EventPtr, bool more)>;
  // The same, handing over the serialized form too (see PublishedEvent).
  using DeliverPublished = std::function<void(const PublishedEventPtr&, bool more)>;

  WatchSubscription(uint64_t id, WatchFilter filter, size_t capacity, DeliverPublished deliver);
  WatchSubscription(const WatchSubscription&) = delete;
  WatchSubscription& operator=(const WatchSubscription&) = delete;

  // The consumer is done with the event last handed over (e.g. its write
  // completed). Hands over the next queued event, if any, through `deliver`
  // on the calling thread.
  void Consumed();

  uint64_t id() const { return id_; }
  const WatchFilter& filter() const { return filter_; }
  uint64_t delivered() const ABSL_LOCKS_EXCLUDED(mu_);  // events handed over and consumed
  uint64_t dropped() const ABSL_LOCKS_EXCLUDED(mu_);    // events lost because the queue was full
  size_t queued() const ABSL_LOCKS_EXCLUDED(mu_);       // waiting behind the outstanding one
  bool closed() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  friend class WatchHub;
  // Queues or hands over one event; drops (and counts) it when full. With
  // `defer`, an idle subscriber's event is queued instead of handed over,
  // and true returned: the caller must Kick() the subscription later.
  bool Offer(const PublishedEventPtr& e, bool defer);
  // Hands over the next queued event (after a deferred Offer).
  void Kick();
  void Hand(const PublishedEventPtr& e, bool more);
  // No more events; frees the queue. Returns false if it was already closed.
  bool Close();

  const uint64_t id_;
  const WatchFilter filter_;
  const size_t capacity_;
  const DeliverPublished deliver_;  // Subscribe() adapts a plain Deliver to this
  mutable Mutex mu_;
  std::deque<PublishedEventPtr> queue_ ABSL_GUARDED_BY(mu_);
  bool outstanding_ ABSL_GUARDED_BY(mu_) = false;
  // The outstanding event is still at the queue's front.
  bool kick_pending_ ABSL_GUARDED_BY(mu_) = false;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t delivered_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t dropped_ ABSL_GUARDED_BY(mu_) = 0;
};

class WatchHub {
 public:
  struct Options {
    size_t queue_capacity = 1024;  // events per subscriber, beyond the outstanding one
    // Start writing to an idle subscriber on the hub's own writer thread
    // instead of on the publishing thread. Handing an event over to a gRPC
    // stream costs microseconds (the write, often a flush to the socket);
    // with N subscribers keeping up, every event would cost the publisher
    // (the daemon's core loop) N of them. The writer thread also finds
    // events that arrived meanwhile and writes them as one burst (one
    // flush). Off: handed over synchronously inside Publish*.
    bool writer_thread = false;
  };
  struct SubscriberStats {
    uint64_t id = 0;
    uint64_t delivered = 0;
    uint64_t dropped = 0;
    size_t queued = 0;
  };

  WatchHub() : WatchHub(Options{}) {}
  explicit WatchHub(Options options);
  ~WatchHub();  // detaches from the logger
  WatchHub(const WatchHub&) = delete;
  WatchHub& operator=(const WatchHub&) = delete;

  // Adds a subscriber. `on_close` (optional) runs once if the hub closes the
  // subscription (CloseAll); it may race with Unsubscribe, so it must stay
  // safe to call after the consumer went away (e.g. capture a weak_ptr).
  std::shared_ptr<WatchSubscription> Subscribe(const WatchFilter& filter,
                                               WatchSubscription::Deliver deliver,
                                               std::function<void()> on_close = nullptr);
  // The same for a consumer that writes the serialized form (a gRPC stream).
  std::shared_ptr<WatchSubscription> SubscribePublished(const WatchFilter& filter,
                                                        WatchSubscription::DeliverPublished deliver,
                                                        std::function<void()> on_close = nullptr);
  // Removes a subscriber (idempotent); its queued events are freed.
  void Unsubscribe(const std::shared_ptr<WatchSubscription>& sub);
  // Closes every subscription (shutdown): each one's on_close runs.
  // Subscriptions made afterwards are closed at once.
  void CloseAll();

  // Log source: while attached, a Logger sink at the lowest level any
  // log-subscriber wants feeds PublishLog (no sink when nobody wants logs,
  // so the daemon formats nothing extra).
  void AttachLogger();
  void DetachLogger();

  // Publishing; any thread.
  void PublishLog(const LogRecord& record);
  void PublishBackendTransition(const std::string& backend, const Transition& t);
  // The active pools are names ("" for none); `reason` says why it moved.
  void PublishFrontendState(const std::string& frontend, FrontendState from, FrontendState to,
                            int64_t at_unix_ns, const std::string& from_pool = "",
                            const std::string& to_pool = "", const std::string& reason = "",
                            bool from_servable = false, bool servable = false);
  // An lb stage listener: a frontend event for every frontend whose state,
  // active pool or servable state changed.
  void OnLbUpdate(const LbUpdate& update);

  // Counters (metrics): drops over the hub's lifetime, including
  // subscribers that are gone, and per current subscriber.
  uint64_t dropped_total() const;
  std::vector<SubscriberStats> Stats() const;
  size_t subscriber_count() const;

 private:
  using SubList = std::vector<std::shared_ptr<WatchSubscription>>;
  std::shared_ptr<const SubList> Snapshot() const;
  std::shared_ptr<WatchSubscription> Add(std::shared_ptr<WatchSubscription> sub,
                                         std::function<void()> on_close);
  void WriterLoop();
  // Offers the event that `fill` builds to every subscriber that wants it;
  // built (and serialized) once, and only if someone wants it.
  // `level` only matters for kLog.
  void Publish(WatchEventKind kind, LogLevel level, const std::function<void(Event*)>& fill);
  void UpdateLogSink() ABSL_LOCKS_EXCLUDED(sink_mu_, mu_);

  const Options options_;
  std::atomic<uint64_t> next_id_{1};
  mutable Mutex mu_;
  std::shared_ptr<const SubList> subs_ ABSL_GUARDED_BY(mu_);  // copy-on-write
  std::vector<std::pair<uint64_t, std::function<void()>>> on_close_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t departed_dropped_ ABSL_GUARDED_BY(mu_) = 0;

  // The writer thread (Options::writer_thread): subscriptions to Kick().
  Mutex ready_mu_;
  CondVar ready_cv_;
  std::vector<std::shared_ptr<WatchSubscription>> ready_ ABSL_GUARDED_BY(ready_mu_);
  bool stop_writer_ ABSL_GUARDED_BY(ready_mu_) = false;
  std::thread writer_;

  // Logger sink management; never taken under the logger's lock. One sink
  // at most, whose level follows the subscribers (Logger::SetSinkLevel).
  Mutex sink_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  bool logger_attached_ ABSL_GUARDED_BY(sink_mu_) = false;
  int sink_id_ ABSL_GUARDED_BY(sink_mu_) = 0;
  int sink_level_ ABSL_GUARDED_BY(sink_mu_) = -1;  // -1: no sink
};

}  // namespace maglev
