#include "api/watch_hub.h"

#include <grpcpp/impl/codegen/proto_utils.h>

#include <algorithm>
#include <utility>

namespace maglev {

absl::StatusOr<WatchFilter> WatchFilterFromRequest(const WatchRequest& request) {
  WatchFilter f;
  f.log = !request.has_log() || request.log();
  f.backend = !request.has_backend() || request.backend();
  f.frontend = !request.has_frontend() || request.frontend();
  if (!request.log_level().empty() && !ParseLogLevel(request.log_level(), &f.log_level)) {
    return absl::InvalidArgumentError("unknown log level \"" + request.log_level() +
                                      "\" (want debug, info, warn or error)");
  }
  return f;
}

bool WatchFilter::Wants(WatchEventKind kind, LogLevel level) const {
  switch (kind) {
    case WatchEventKind::kLog:
      return log && level >= log_level;
    case WatchEventKind::kBackend:
      return backend;
    case WatchEventKind::kFrontend:
      return frontend;
  }
  return false;
}

// ---- WatchSubscription -------------------------------------------------------

WatchSubscription::WatchSubscription(uint64_t id, WatchFilter filter, size_t capacity,
                                     DeliverPublished deliver)
    : id_(id), filter_(filter), capacity_(capacity), deliver_(std::move(deliver)) {}

void WatchSubscription::Hand(const PublishedEventPtr& e, bool more) { deliver_(e, more); }

bool WatchSubscription::Offer(const PublishedEventPtr& e, bool defer) {
  {
    MutexLock lock(mu_);
    if (closed_) return false;
    if (outstanding_) {
      // A deferred outstanding event still sits in the queue; it does not
      // count against the capacity.
      if (queue_.size() < capacity_ + (kick_pending_ ? 1 : 0)) {
        queue_.push_back(e);
      } else {
        ++dropped_;
      }
      return false;
    }
    outstanding_ = true;
    if (defer) {
      kick_pending_ = true;
      queue_.push_back(e);
      return true;
    }
  }
  // Outside the lock: the consumer may complete (and call Consumed) on
  // another thread before the delivery even returns.
  Hand(e, false);
  return false;
}

void WatchSubscription::Kick() {
  PublishedEventPtr next;
  bool more;
  {
    MutexLock lock(mu_);
    if (!kick_pending_) return;  // closed meanwhile
    kick_pending_ = false;
    next = std::move(queue_.front());
    queue_.pop_front();
    more = !queue_.empty();
  }
  Hand(next, more);
}

void WatchSubscription::Consumed() {
  PublishedEventPtr next;
  bool more;
  {
    MutexLock lock(mu_);
    ++delivered_;
    if (closed_ || queue_.empty()) {
      outstanding_ = false;
      return;
    }
    next = std::move(queue_.front());
    queue_.pop_front();
    more = !queue_.empty();
  }
  Hand(next, more);
}

bool WatchSubscription::Close() {
  std::deque<PublishedEventPtr> drop;  // freed outside the lock
  MutexLock lock(mu_);
  if (closed_) return false;
  closed_ = true;
  kick_pending_ = false;
  drop.swap(queue_);
  return true;
}

uint64_t WatchSubscription::delivered() const {
  MutexLock lock(mu_);
  return delivered_;
}

uint64_t WatchSubscription::dropped() const {
  MutexLock lock(mu_);
  return dropped_;
}

size_t WatchSubscription::queued() const {
  MutexLock lock(mu_);
  return queue_.size() - (kick_pending_ ? 1 : 0);
}

bool WatchSubscription::closed() const {
  MutexLock lock(mu_);
  return closed_;
}

// ---- WatchHub ----------------------------------------------------------------

WatchHub::WatchHub(Options options) : options_(options), subs_(std::make_shared<const SubList>()) {
  if (options_.writer_thread) writer_ = std::thread([this] { WriterLoop(); });
}

WatchHub::~WatchHub() {
  DetachLogger();
  if (writer_.joinable()) {
    {
      MutexLock lock(ready_mu_);
      stop_writer_ = true;
    }
    ready_cv_.NotifyOne();
    // A delivery could drop the last reference to the hub on the writer
    // thread itself; it cannot join itself.
    if (writer_.get_id() == std::this_thread::get_id()) {
      writer_.detach();
    } else {
      writer_.join();
    }
  }
}

void WatchHub::WriterLoop() {
  std::vector<std::shared_ptr<WatchSubscription>> batch;
  for (;;) {
    {
      MutexLock lock(ready_mu_);
      while (!stop_writer_ && ready_.empty()) ready_cv_.Wait(ready_mu_);
      if (stop_writer_) return;
      batch.swap(ready_);
    }
    for (const auto& s : batch) s->Kick();
    batch.clear();
  }
}

std::shared_ptr<const WatchHub::SubList> WatchHub::Snapshot() const {
  MutexLock lock(mu_);
  return subs_;
}

std::shared_ptr<WatchSubscription> WatchHub::Subscribe(const WatchFilter& filter,
                                                       WatchSubscription::Deliver deliver,
                                                       std::function<void()> on_close) {
  // Shares the published event's ownership; no copy.
  return SubscribePublished(
      filter,
      [deliver = std::move(deliver)](const PublishedEventPtr& e, bool more) {
        deliver(EventPtr(e, &e->event), more);
      },
      std::move(on_close));
}

std::shared_ptr<WatchSubscription> WatchHub::SubscribePublished(
    const WatchFilter& filter, WatchSubscription::DeliverPublished deliver,
    std::function<void()> on_close) {
  return Add(std::make_shared<WatchSubscription>(next_id_++, filter, options_.queue_capacity,
                                                 std::move(deliver)),
             std::move(on_close));
}

std::shared_ptr<WatchSubscription> WatchHub::Add(std::shared_ptr<WatchSubscription> sub,
                                                 std::function<void()> on_close) {
  bool closed_now = false;
  {
    MutexLock lock(mu_);
    if (closed_) {
      closed_now = true;
    } else {
      auto next = std::make_shared<SubList>(*subs_);
      next->push_back(sub);
      subs_ = std::move(next);
      if (on_close) on_close_.emplace_back(sub->id(), std::move(on_close));
    }
  }
  if (closed_now) {
    sub->Close();
    if (on_close) on_close();
    return sub;
  }
  UpdateLogSink();
  return sub;
}

void WatchHub::Unsubscribe(const std::shared_ptr<WatchSubscription>& sub) {
  if (!sub) return;
  bool was_open = sub->Close();
  {
    MutexLock lock(mu_);
    auto it = std::find(subs_->begin(), subs_->end(), sub);
    if (it != subs_->end()) {
      auto next = std::make_shared<SubList>();
      next->reserve(subs_->size() - 1);
      for (const auto& s : *subs_) {
        if (s != sub) next->push_back(s);
      }
      subs_ = std::move(next);
    }
    std::erase_if(on_close_, [&](const auto& p) { return p.first == sub->id(); });
    // Closed under its own lock above, so its drop count is final now.
    if (was_open) departed_dropped_ += sub->dropped();
  }
  UpdateLogSink();
}

void WatchHub::CloseAll() {
  std::vector<std::pair<uint64_t, std::function<void()>>> callbacks;
  {
    MutexLock lock(mu_);
    closed_ = true;
    for (const auto& s : *subs_) {
      if (s->Close()) departed_dropped_ += s->dropped();
    }
    subs_ = std::make_shared<const SubList>();
    callbacks.swap(on_close_);
  }
  for (auto& [_, cb] : callbacks) cb();
  UpdateLogSink();
}

void WatchHub::AttachLogger() {
  {
    MutexLock lock(sink_mu_);
    logger_attached_ = true;
  }
  UpdateLogSink();
}

void WatchHub::DetachLogger() {
  {
    MutexLock lock(sink_mu_);
    logger_attached_ = false;
  }
  UpdateLogSink();
}

void WatchHub::UpdateLogSink() {
  // sink_mu_ orders sink changes; it is never taken under the logger's lock
  // (the sink itself does not touch it), so holding it across
  // AddSink/SetSinkLevel/RemoveSink cannot deadlock with a logging thread.
  MutexLock lock(sink_mu_);
  int want = -1;
  if (logger_attached_) {
    for (const auto& s : *Snapshot()) {
      if (!s->filter().log) continue;
      int level = static_cast<int>(s->filter().log_level);
      want = want < 0 ? level : std::min(want, level);
    }
  }
  if (want == sink_level_) return;
  // One sink whose level changes in place: each record reaches it once,
  // at the old level or at the new one.
  if (want < 0) {
    Logger::Get().RemoveSink(sink_id_);
  } else if (sink_level_ < 0) {
    sink_id_ = Logger::Get().AddSink(static_cast<LogLevel>(want),
                                     [this](const LogRecord& r) { PublishLog(r); });
  } else {
    Logger::Get().SetSinkLevel(sink_id_, static_cast<LogLevel>(want));
  }
  sink_level_ = want;
}

void WatchHub::Publish(WatchEventKind kind, LogLevel level,
                       const std::function<void(Event*)>& fill) {
  std::shared_ptr<const SubList> subs = Snapshot();
  PublishedEventPtr ev;
  bool kicked = false;
  for (const auto& s : *subs) {
    if (!s->filter().Wants(kind, level)) continue;
    if (!ev) {  // built once, only when someone wants it
      auto e = std::make_shared<PublishedEvent>();
      fill(&e->event);
      bool own = false;
      // Cannot fail for a message we just built (only on > 2 GiB).
      (void)grpc::SerializationTraits<Event>::Serialize(e->event, &e->wire, &own);
      ev = std::move(e);
    }
    if (s->Offer(ev, options_.writer_thread)) {
      MutexLock lock(ready_mu_);
      ready_.push_back(s);
      kicked = true;
    }
  }
  if (kicked) ready_cv_.NotifyOne();
}

void WatchHub::PublishLog(const LogRecord& record) {
  Publish(WatchEventKind::kLog, record.level, [&record](Event* e) {
    LogEvent* le = e->mutable_log();
    le->set_at_unix_ns(record.at_unix_ns);
    le->set_level(LogLevelName(record.level));
    le->set_msg(record.msg);
    for (const LogField& f : record.attrs) {
      LogAttr* a = le->add_attrs();
      a->set_key(f.key);
      a->set_value(f.value);
    }
  });
}

void WatchHub::PublishBackendTransition(const std::string& backend, const Transition& t) {
  Publish(WatchEventKind::kBackend, LogLevel::kInfo, [&](Event* e) {
    BackendEvent* be = e->mutable_backend();
    be->set_backend_name(backend);
    TransitionRecord* tr = be->mutable_transition();
    tr->set_from(BackendStateName(t.from));
    tr->set_to(BackendStateName(t.to));
    tr->set_at_unix_ns(t.at_unix_ns);
    tr->set_code(std::string(t.code()));
    tr->set_detail(t.detail);
  });
}

void WatchHub::PublishFrontendState(const std::string& frontend, FrontendState from,
                                    FrontendState to, int64_t at_unix_ns,
                                    const std::string& from_pool, const std::string& to_pool,
                                    const std::string& reason, bool from_servable, bool servable) {
  Publish(WatchEventKind::kFrontend, LogLevel::kInfo, [&](Event* e) {
    FrontendEvent* fe = e->mutable_frontend();
    fe->set_frontend_name(frontend);
    fe->set_from(FrontendStateName(from));
    fe->set_to(FrontendStateName(to));
    fe->set_at_unix_ns(at_unix_ns);
    fe->set_from_pool(from_pool);
    fe->set_to_pool(to_pool);
    fe->set_reason(reason);
    fe->set_from_servable(from_servable);
    fe->set_servable(servable);
  });
}

void WatchHub::OnLbUpdate(const LbUpdate& update) {
  for (const FrontendChange& c : update.frontends) {
    if (!c.status) continue;
    const FrontendStatusChange& st = *c.status;
    PublishFrontendState(c.frontend, st.from, st.to, UnixNowNs(), st.from_pool, st.to_pool,
                         st.reason, st.from_servable, st.to_servable);
  }
}

uint64_t WatchHub::dropped_total() const {
  // List and departed count change together under mu_, so nobody is counted
  // twice or not at all.
  MutexLock lock(mu_);
  uint64_t total = departed_dropped_;
  for (const auto& s : *subs_) total += s->dropped();
  return total;
}

std::vector<WatchHub::SubscriberStats> WatchHub::Stats() const {
  std::vector<SubscriberStats> out;
  for (const auto& s : *Snapshot()) {
    out.push_back({s->id(), s->delivered(), s->dropped(), s->queued()});
  }
  return out;
}

size_t WatchHub::subscriber_count() const { return Snapshot()->size(); }

}  // namespace maglev
