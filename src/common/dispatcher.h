// Time, timers, posting and descriptor watching for a loop (the core loop,
// the reconciler's), behind an interface so that timing (intervals, jitter,
// rise/fall, warmup, reconnects) is tested on a simulated clock in
// microseconds. AsioDispatcher wraps an io_context; SimDispatcher is driven
// by the test (one thread runs every loop of a test). All methods are called
// on the loop thread, except AsioDispatcher::Post which is thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "common/duration.h"

namespace asio {
class io_context;
}

namespace maglev {

using MonoTime = std::chrono::steady_clock::time_point;

// A re-armable one-shot timer owned by its user; destroying it cancels it.
class Timer {
 public:
  virtual ~Timer() = default;
  // (Re)arms the timer; a pending expiry is replaced.
  virtual void Enable(Duration delay) = 0;
  virtual void Disable() = 0;
  virtual bool Enabled() const = 0;
};

// Watches a file descriptor for its user; destroying it ends the watch.
class FdWatch {
 public:
  virtual ~FdWatch() = default;
};

class Dispatcher {
 public:
  virtual ~Dispatcher() = default;
  virtual MonoTime Now() const = 0;
  virtual int64_t WallNowNs() const = 0;  // unix time, ns (transition timestamps)
  virtual std::unique_ptr<Timer> CreateTimer(std::function<void()> cb) = 0;
  // Runs fn on the loop thread soon (never inline).
  virtual void Post(std::function<void()> fn) = 0;
  // Runs `on_readable` on the loop whenever `fd` becomes readable (the fd
  // stays the caller's), until the watch is destroyed, which the callback
  // itself may do. A simulated loop has no descriptors: its watch never
  // fires.
  virtual std::unique_ptr<FdWatch> WatchReadable(int fd, std::function<void()> on_readable) = 0;
};

class AsioDispatcher : public Dispatcher {
 public:
  explicit AsioDispatcher(asio::io_context& io) : io_(io) {}
  MonoTime Now() const override;
  int64_t WallNowNs() const override;
  std::unique_ptr<Timer> CreateTimer(std::function<void()> cb) override;
  void Post(std::function<void()> fn) override;
  std::unique_ptr<FdWatch> WatchReadable(int fd, std::function<void()> on_readable) override;
  asio::io_context& io() { return io_; }

 private:
  asio::io_context& io_;
};

// A loop of its own: an io_context run by a dedicated thread, with its
// AsioDispatcher (maglevd's reconciler thread). Thread-safe.
class DispatcherThread {
 public:
  DispatcherThread();
  ~DispatcherThread();  // Stop()
  DispatcherThread(const DispatcherThread&) = delete;
  DispatcherThread& operator=(const DispatcherThread&) = delete;

  Dispatcher& dispatcher() { return *dispatcher_; }
  void Start();
  // Runs fn on the thread and waits for it (not from the thread itself).
  void Run(std::function<void()> fn);
  // Lets the work already posted finish, then joins the thread.
  void Stop();

 private:
  std::unique_ptr<asio::io_context> io_;
  std::unique_ptr<AsioDispatcher> dispatcher_;
  struct Work;
  std::unique_ptr<Work> work_;
  std::thread thread_;
};

// Simulated time: nothing happens until the test advances the clock.
class SimDispatcher : public Dispatcher {
 public:
  SimDispatcher();
  ~SimDispatcher() override;
  MonoTime Now() const override { return now_; }
  int64_t WallNowNs() const override;
  std::unique_ptr<Timer> CreateTimer(std::function<void()> cb) override;
  void Post(std::function<void()> fn) override;
  std::unique_ptr<FdWatch> WatchReadable(int fd, std::function<void()> on_readable) override;

  // Runs posted work and every timer due at or before now+d, in time order,
  // moving the clock to each expiry; ends with the clock at now+d.
  void Advance(Duration d);
  // Runs posted work (and anything it posts) without moving the clock.
  void RunPosted();
  size_t PendingTimers() const { return queue_.size(); }

 private:
  class SimTimer;
  friend class SimTimer;
  MonoTime now_;
  int64_t wall_base_ns_;
  MonoTime mono_base_;
  uint64_t seq_ = 0;
  // (expiry, seq) -> timer; a timer holds its own key to erase on re-arm.
  std::map<std::pair<MonoTime, uint64_t>, SimTimer*> queue_;
  std::vector<std::function<void()>> posted_;
};

}  // namespace maglev
