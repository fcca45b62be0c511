// WatchHub: filters, per-subscriber bounded queues with drop counting, the
// logger sink's level following the subscribers, and concurrent publishing.
// No gRPC here: consumers are plain callbacks.
#include "api/watch_hub.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace maglev {
namespace {

// Records every delivered event; consumes at once unless stalled.
class Consumer {
 public:
  explicit Consumer(bool stalled = false) : stalled_(stalled) {}

  std::shared_ptr<WatchSubscription> Attach(WatchHub& hub, const WatchFilter& f) {
    sub_ = hub.Subscribe(f, [this](EventPtr e, bool) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        events_.push_back(e);
      }
      if (!stalled_) sub_->Consumed();
    });
    return sub_;
  }
  std::vector<EventPtr> events() {
    std::lock_guard<std::mutex> lock(mu_);
    return events_;
  }
  std::vector<std::string> log_msgs() {
    std::vector<std::string> out;
    for (const auto& e : events())
      if (e->has_log()) out.push_back(e->log().msg());
    return out;
  }
  std::shared_ptr<WatchSubscription> sub() { return sub_; }

 private:
  bool stalled_;
  std::shared_ptr<WatchSubscription> sub_;
  std::mutex mu_;
  std::vector<EventPtr> events_;
};

Transition T(BackendState from, BackendState to) {
  Transition t;
  t.from = from;
  t.to = to;
  t.at_unix_ns = 42;
  t.cause = ProbeCode::kL7Ok;
  t.detail = "HTTP 200";
  return t;
}

LogRecord Rec(LogLevel l, const std::string& msg) {
  LogRecord r;
  r.level = l;
  r.msg = msg;
  r.at_unix_ns = 7;
  r.attrs = {LogField("k", "v"), LogField("n", 3)};
  return r;
}

TEST(WatchFilterTest, EmptyRequestMeansEverythingAtInfo) {
  WatchRequest req;
  auto f = WatchFilterFromRequest(req);
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE(f->log);
  EXPECT_TRUE(f->backend);
  EXPECT_TRUE(f->frontend);
  EXPECT_EQ(f->log_level, LogLevel::kInfo);
}

TEST(WatchFilterTest, ExplicitFalseAndLevel) {
  WatchRequest req;
  req.set_log(false);
  req.set_frontend(false);
  req.set_log_level("warn");
  auto f = WatchFilterFromRequest(req);
  ASSERT_TRUE(f.ok());
  EXPECT_FALSE(f->log);
  EXPECT_TRUE(f->backend);
  EXPECT_FALSE(f->frontend);
  EXPECT_EQ(f->log_level, LogLevel::kWarn);
}

TEST(WatchFilterTest, BadLevelIsInvalidArgument) {
  WatchRequest req;
  req.set_log_level("verbose");
  auto f = WatchFilterFromRequest(req);
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(f.status().message().find("verbose"), std::string::npos);
}

TEST(WatchFilterTest, WantsByKind) {
  WatchFilter f{.log = true, .log_level = LogLevel::kWarn, .backend = false, .frontend = true};
  EXPECT_TRUE(f.Wants(WatchEventKind::kLog, LogLevel::kWarn));
  EXPECT_TRUE(f.Wants(WatchEventKind::kLog, LogLevel::kError));
  EXPECT_FALSE(f.Wants(WatchEventKind::kLog, LogLevel::kInfo));
  EXPECT_FALSE(f.Wants(WatchEventKind::kBackend, LogLevel::kError));
  // The level only filters log records.
  EXPECT_TRUE(f.Wants(WatchEventKind::kFrontend, LogLevel::kDebug));
  f.log = false;
  EXPECT_FALSE(f.Wants(WatchEventKind::kLog, LogLevel::kError));
}

TEST(WatchHubTest, FiltersByKindAndLevel) {
  WatchHub hub;
  Consumer all, backend_only, warn_logs;
  all.Attach(hub, WatchFilter{});
  backend_only.Attach(hub, WatchFilter{.log = false, .frontend = false});
  warn_logs.Attach(
      hub,
      WatchFilter{.log = true, .log_level = LogLevel::kWarn, .backend = false, .frontend = false});

  hub.PublishLog(Rec(LogLevel::kDebug, "dbg"));
  hub.PublishLog(Rec(LogLevel::kInfo, "inf"));
  hub.PublishLog(Rec(LogLevel::kError, "err"));
  hub.PublishBackendTransition("b1", T(BackendState::kUnknown, BackendState::kUp));
  hub.PublishFrontendState("web", FrontendState::kUnknown, FrontendState::kUp, 99);

  EXPECT_EQ(all.log_msgs(), (std::vector<std::string>{"inf", "err"}));
  ASSERT_EQ(all.events().size(), 4u);
  ASSERT_EQ(backend_only.events().size(), 1u);
  const auto& be = backend_only.events()[0]->backend();
  EXPECT_EQ(be.backend_name(), "b1");
  EXPECT_EQ(be.transition().from(), "unknown");
  EXPECT_EQ(be.transition().to(), "up");
  EXPECT_EQ(be.transition().code(), "L7OK");
  EXPECT_EQ(be.transition().detail(), "HTTP 200");
  EXPECT_EQ(be.transition().at_unix_ns(), 42);
  EXPECT_EQ(warn_logs.log_msgs(), (std::vector<std::string>{"err"}));
  EXPECT_EQ(warn_logs.events().size(), 1u);

  const Event& fe = *all.events()[3];
  ASSERT_TRUE(fe.has_frontend());
  EXPECT_EQ(fe.frontend().frontend_name(), "web");
  EXPECT_EQ(fe.frontend().from(), "unknown");
  EXPECT_EQ(fe.frontend().to(), "up");
  EXPECT_EQ(fe.frontend().at_unix_ns(), 99);

  const LogEvent& le = all.events()[0]->log();
  EXPECT_EQ(le.level(), "info");
  EXPECT_EQ(le.at_unix_ns(), 7);
  ASSERT_EQ(le.attrs_size(), 2);
  EXPECT_EQ(le.attrs(1).key(), "n");
  EXPECT_EQ(le.attrs(1).value(), "3");
}

TEST(WatchHubTest, EventsAreSharedNotCopied) {
  WatchHub hub;
  Consumer a, b;
  a.Attach(hub, WatchFilter{});
  b.Attach(hub, WatchFilter{});
  hub.PublishBackendTransition("x", T(BackendState::kUp, BackendState::kDown));
  ASSERT_EQ(a.events().size(), 1u);
  ASSERT_EQ(b.events().size(), 1u);
  EXPECT_EQ(a.events()[0].get(), b.events()[0].get());
}

TEST(WatchHubTest, StalledSubscriberDropsAndCountsWithoutHurtingOthers) {
  WatchHub hub(WatchHub::Options{.queue_capacity = 16});
  Consumer stalled(/*stalled=*/true), live;
  auto s = stalled.Attach(hub, WatchFilter{});
  auto l = live.Attach(hub, WatchFilter{});
  const int kEvents = 1000;
  for (int i = 0; i < kEvents; ++i) {
    hub.PublishBackendTransition("b" + std::to_string(i),
                                 T(BackendState::kUp, BackendState::kDown));
    // Bounded memory: never more than the capacity waits behind the
    // outstanding event.
    ASSERT_LE(s->queued(), 16u);
  }
  EXPECT_EQ(stalled.events().size(), 1u);  // the outstanding one
  EXPECT_EQ(s->queued(), 16u);
  EXPECT_EQ(s->dropped(), static_cast<uint64_t>(kEvents - 1 - 16));
  EXPECT_EQ(live.events().size(), static_cast<size_t>(kEvents));
  EXPECT_EQ(l->dropped(), 0u);
  EXPECT_EQ(l->delivered(), static_cast<uint64_t>(kEvents));
  EXPECT_EQ(hub.dropped_total(), static_cast<uint64_t>(kEvents - 17));

  auto stats = hub.Stats();
  ASSERT_EQ(stats.size(), 2u);
  EXPECT_EQ(stats[0].id, s->id());
  EXPECT_EQ(stats[0].dropped, static_cast<uint64_t>(kEvents - 17));
  EXPECT_EQ(stats[0].queued, 16u);
  EXPECT_EQ(stats[1].dropped, 0u);

  // Resuming the stalled consumer drains its queue in order: the first event,
  // then the 16 that fit, nothing of what was dropped.
  for (int i = 0; i < 17; ++i) s->Consumed();
  auto got = stalled.events();
  ASSERT_EQ(got.size(), 17u);
  for (int i = 0; i < 17; ++i) EXPECT_EQ(got[i]->backend().backend_name(), "b" + std::to_string(i));

  // Drops of a departed subscriber stay in the total.
  hub.Unsubscribe(s);
  EXPECT_EQ(hub.subscriber_count(), 1u);
  EXPECT_EQ(hub.dropped_total(), static_cast<uint64_t>(kEvents - 17));
  hub.PublishBackendTransition("late", T(BackendState::kDown, BackendState::kUp));
  EXPECT_EQ(stalled.events().size(), 17u);  // unsubscribed: nothing more
  EXPECT_EQ(live.events().size(), static_cast<size_t>(kEvents + 1));
}

// With the writer thread, an idle subscriber's first event is handed over
// there, not inside Publish; queues, drops and order stay the same.
TEST(WatchHubTest, WriterThreadDeliversInOrderAndStillBoundsQueues) {
  WatchHub hub(WatchHub::Options{.queue_capacity = 16, .writer_thread = true});
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::thread::id> threads;
  std::vector<std::string> names;
  std::shared_ptr<WatchSubscription> live;
  live = hub.Subscribe(WatchFilter{}, [&](EventPtr e, bool) {
    {
      std::lock_guard<std::mutex> lock(mu);
      threads.push_back(std::this_thread::get_id());
      names.push_back(e->backend().backend_name());
    }
    live->Consumed();
    cv.notify_all();  // after Consumed: the waiter reads delivered()
  });
  Consumer stalled(/*stalled=*/true);
  auto s = stalled.Attach(hub, WatchFilter{});

  const int kEvents = 200;
  for (int i = 0; i < kEvents; ++i) {
    hub.PublishBackendTransition("b" + std::to_string(i),
                                 T(BackendState::kUp, BackendState::kDown));
    ASSERT_LE(s->queued(), 16u);
  }
  // The publisher may outrun the writer thread's first wake-up, so even the
  // consuming subscriber can drop part of a burst larger than its queue;
  // every event is accounted for and what arrives is in order.
  std::unique_lock<std::mutex> lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] {
    return live->delivered() + live->dropped() == static_cast<uint64_t>(kEvents);
  }));
  ASSERT_FALSE(names.empty());
  EXPECT_EQ(names[0], "b0");
  for (size_t i = 1; i < names.size(); ++i) {
    EXPECT_LT(std::stoi(names[i - 1].substr(1)), std::stoi(names[i].substr(1)));
  }
  EXPECT_EQ(names.size(), live->delivered());
  EXPECT_NE(threads[0], std::this_thread::get_id());  // not on the publisher
  lock.unlock();

  // The stalled one got its first event (from the writer thread), keeps 16
  // and drops the rest.
  for (int i = 0; i < 1000 && stalled.events().empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(stalled.events().size(), 1u);
  EXPECT_EQ(s->queued(), 16u);
  EXPECT_EQ(s->dropped(), static_cast<uint64_t>(kEvents - 17));
  hub.Unsubscribe(s);
  hub.Unsubscribe(live);
}

TEST(WatchHubTest, CloseAllClosesEveryStreamAndLaterSubscriptions) {
  WatchHub hub;
  int closed = 0;
  auto s1 = hub.Subscribe(
      WatchFilter{}, [](EventPtr, bool) {}, [&] { ++closed; });
  auto s2 = hub.Subscribe(
      WatchFilter{}, [](EventPtr, bool) {}, [&] { ++closed; });
  hub.CloseAll();
  EXPECT_EQ(closed, 2);
  EXPECT_TRUE(s1->closed());
  EXPECT_TRUE(s2->closed());
  EXPECT_EQ(hub.subscriber_count(), 0u);
  auto s3 = hub.Subscribe(
      WatchFilter{}, [](EventPtr, bool) {}, [&] { ++closed; });
  EXPECT_TRUE(s3->closed());
  EXPECT_EQ(closed, 3);
}

TEST(WatchHubTest, LoggerSinkFollowsSubscriberLevels) {
  Logger::Get().SetOutput(nullptr);
  Logger::Get().SetLevel(LogLevel::kInfo);
  WatchHub hub;
  hub.AttachLogger();
  EXPECT_FALSE(Logger::Get().Enabled(LogLevel::kDebug));

  Consumer info;
  auto si = info.Attach(hub, WatchFilter{.backend = false, .frontend = false});
  LogInfo("hub-test-1");
  LogDebug("hub-test-dbg-1");  // nobody wants debug yet
  EXPECT_FALSE(Logger::Get().Enabled(LogLevel::kDebug));

  // A debug subscriber lowers the sink level; the daemon's own level stays.
  Consumer debug;
  auto sd = debug.Attach(hub, WatchFilter{.log_level = LogLevel::kDebug});
  EXPECT_TRUE(Logger::Get().Enabled(LogLevel::kDebug));
  EXPECT_EQ(Logger::Get().level(), LogLevel::kInfo);
  LogInfo("hub-test-2");
  LogDebug("hub-test-dbg-2");

  hub.Unsubscribe(sd);
  EXPECT_FALSE(Logger::Get().Enabled(LogLevel::kDebug));
  LogInfo("hub-test-3");

  // Each record exactly once, none lost across the sink swaps.
  EXPECT_EQ(info.log_msgs(), (std::vector<std::string>{"hub-test-1", "hub-test-2", "hub-test-3"}));
  EXPECT_EQ(debug.log_msgs(), (std::vector<std::string>{"hub-test-2", "hub-test-dbg-2"}));

  hub.Unsubscribe(si);
  hub.DetachLogger();
  LogInfo("hub-test-4");
  EXPECT_EQ(info.log_msgs().size(), 3u);
  Logger::Get().SetOutput(stderr);
}

TEST(WatchHubTest, NoLogSinkWhenNobodyWantsLogs) {
  Logger::Get().SetOutput(nullptr);
  Logger::Get().SetLevel(LogLevel::kError);
  WatchHub hub;
  hub.AttachLogger();
  Consumer c;
  auto s = c.Attach(hub, WatchFilter{.log = false});
  EXPECT_FALSE(Logger::Get().Enabled(LogLevel::kWarn));
  LogWarn("ignored");
  EXPECT_TRUE(c.events().empty());
  hub.Unsubscribe(s);
  hub.DetachLogger();
  Logger::Get().SetLevel(LogLevel::kInfo);
  Logger::Get().SetOutput(stderr);
}

// Publishers on several threads, consumers that complete on other threads:
// per subscriber, every published event is delivered, queued or dropped.
TEST(WatchHubTest, ConcurrentPublishersAndAsyncConsumers) {
  WatchHub hub(WatchHub::Options{.queue_capacity = 64});
  struct AsyncConsumer {
    std::mutex mu;
    std::vector<EventPtr> pending;
    std::atomic<uint64_t> got{0};
    std::shared_ptr<WatchSubscription> sub;
  };
  std::vector<std::unique_ptr<AsyncConsumer>> consumers;
  for (int i = 0; i < 4; ++i) {
    auto c = std::make_unique<AsyncConsumer>();
    AsyncConsumer* raw = c.get();
    c->sub = hub.Subscribe(WatchFilter{}, [raw](EventPtr e, bool) {
      std::lock_guard<std::mutex> lock(raw->mu);
      raw->pending.push_back(std::move(e));
    });
    consumers.push_back(std::move(c));
  }
  std::atomic<bool> stop{false};
  std::vector<std::thread> drainers;
  for (auto& c : consumers) {
    drainers.emplace_back([&stop, raw = c.get()] {
      while (!stop.load()) {
        bool had = false;
        {
          std::lock_guard<std::mutex> lock(raw->mu);
          if (!raw->pending.empty()) {
            raw->pending.clear();
            had = true;
          }
        }
        if (had) {
          ++raw->got;
          raw->sub->Consumed();
        } else {
          std::this_thread::yield();
        }
      }
    });
  }
  const int kThreads = 4, kPerThread = 5000;
  std::vector<std::thread> publishers;
  for (int t = 0; t < kThreads; ++t) {
    publishers.emplace_back([&hub, t] {
      for (int i = 0; i < kPerThread; ++i) {
        hub.PublishBackendTransition("t" + std::to_string(t),
                                     T(BackendState::kUp, BackendState::kDown));
      }
    });
  }
  for (auto& p : publishers) p.join();
  stop = true;
  for (auto& d : drainers) d.join();
  for (auto& c : consumers) {
    // One event may still be outstanding (delivered, not yet consumed).
    uint64_t accounted =
        c->sub->delivered() + c->sub->dropped() + c->sub->queued() + (c->pending.empty() ? 0 : 1);
    EXPECT_EQ(accounted, static_cast<uint64_t>(kThreads * kPerThread));
    EXPECT_EQ(c->got.load(), c->sub->delivered());
  }
}

}  // namespace
}  // namespace maglev
