#include "common/dispatcher.h"

#include <unistd.h>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <future>
#include <optional>

#include "common/log.h"

namespace maglev {

namespace {

class AsioTimer : public Timer {
 public:
  AsioTimer(asio::io_context& io, std::function<void()> cb)
      : timer_(io), cb_(std::move(cb)), alive_(std::make_shared<bool>(true)) {}
  ~AsioTimer() override {
    *alive_ = false;
    timer_.cancel();
  }
  void Enable(Duration delay) override {
    ++generation_;
    enabled_ = true;
    timer_.expires_after(delay);
    uint64_t gen = generation_;
    std::weak_ptr<bool> alive = alive_;
    timer_.async_wait([this, gen, alive](const std::error_code& ec) {
      auto a = alive.lock();
      if (ec || !a || !*a || gen != generation_) return;
      enabled_ = false;
      cb_();
    });
  }
  void Disable() override {
    ++generation_;
    enabled_ = false;
    timer_.cancel();
  }
  bool Enabled() const override { return enabled_; }

 private:
  asio::steady_timer timer_;
  std::function<void()> cb_;
  std::shared_ptr<bool> alive_;
  uint64_t generation_ = 0;
  bool enabled_ = false;
};

// Watches a dup of the caller's fd, so that asio may own (and close) it.
class AsioFdWatch : public FdWatch {
 public:
  AsioFdWatch(asio::io_context& io, int fd, std::function<void()> cb)
      : desc_(io, fd), cb_(std::move(cb)), alive_(std::make_shared<bool>(true)) {
    Arm();
  }
  ~AsioFdWatch() override {
    *alive_ = false;
    std::error_code ignored;
    desc_.close(ignored);
  }

 private:
  void Arm() {
    std::weak_ptr<bool> alive = alive_;
    desc_.async_wait(asio::posix::stream_descriptor::wait_read,
                     [this, alive](const std::error_code& ec) {
                       auto a = alive.lock();
                       if (ec || !a || !*a) return;
                       // A copy: the callback may destroy this watch.
                       std::function<void()> cb = cb_;
                       cb();
                       if (*a) Arm();
                     });
  }
  asio::posix::stream_descriptor desc_;
  std::function<void()> cb_;
  std::shared_ptr<bool> alive_;
};

class NeverFdWatch : public FdWatch {};

}  // namespace

MonoTime AsioDispatcher::Now() const { return std::chrono::steady_clock::now(); }
int64_t AsioDispatcher::WallNowNs() const { return UnixNowNs(); }
std::unique_ptr<Timer> AsioDispatcher::CreateTimer(std::function<void()> cb) {
  return std::make_unique<AsioTimer>(io_, std::move(cb));
}
void AsioDispatcher::Post(std::function<void()> fn) { asio::post(io_, std::move(fn)); }
std::unique_ptr<FdWatch> AsioDispatcher::WatchReadable(int fd, std::function<void()> on_readable) {
  int own = ::dup(fd);
  if (own < 0) return std::make_unique<NeverFdWatch>();
  return std::make_unique<AsioFdWatch>(io_, own, std::move(on_readable));
}

struct DispatcherThread::Work {
  explicit Work(asio::io_context& io) : guard(asio::make_work_guard(io)) {}
  asio::executor_work_guard<asio::io_context::executor_type> guard;
};

DispatcherThread::DispatcherThread()
    : io_(std::make_unique<asio::io_context>(1)),
      dispatcher_(std::make_unique<AsioDispatcher>(*io_)) {}

DispatcherThread::~DispatcherThread() { Stop(); }

void DispatcherThread::Start() {
  if (thread_.joinable()) return;
  work_ = std::make_unique<Work>(*io_);
  thread_ = std::thread([this] { io_->run(); });
}

void DispatcherThread::Run(std::function<void()> fn) {
  std::promise<void> done;
  asio::post(*io_, [&] {
    fn();
    done.set_value();
  });
  done.get_future().wait();
}

void DispatcherThread::Stop() {
  if (!thread_.joinable()) return;
  work_.reset();
  asio::post(*io_, [this] { io_->stop(); });
  thread_.join();
}

class SimDispatcher::SimTimer : public Timer {
 public:
  SimTimer(SimDispatcher& d, std::function<void()> cb) : d_(d), cb_(std::move(cb)) {}
  ~SimTimer() override { Disable(); }
  void Enable(Duration delay) override {
    Disable();
    key_ = {d_.now_ + delay, d_.seq_++};
    d_.queue_[key_] = this;
    enabled_ = true;
  }
  void Disable() override {
    if (enabled_) d_.queue_.erase(key_);
    enabled_ = false;
  }
  bool Enabled() const override { return enabled_; }
  void Fire() {
    enabled_ = false;
    cb_();
  }

 private:
  SimDispatcher& d_;
  std::function<void()> cb_;
  std::pair<MonoTime, uint64_t> key_;
  bool enabled_ = false;
};

SimDispatcher::SimDispatcher()
    : now_(MonoTime(std::chrono::hours(1000))),
      wall_base_ns_(1'700'000'000'000'000'000),
      mono_base_(now_) {}
SimDispatcher::~SimDispatcher() = default;

int64_t SimDispatcher::WallNowNs() const {
  return wall_base_ns_ + std::chrono::duration_cast<Duration>(now_ - mono_base_).count();
}

std::unique_ptr<Timer> SimDispatcher::CreateTimer(std::function<void()> cb) {
  return std::make_unique<SimTimer>(*this, std::move(cb));
}

void SimDispatcher::Post(std::function<void()> fn) { posted_.push_back(std::move(fn)); }

std::unique_ptr<FdWatch> SimDispatcher::WatchReadable(int, std::function<void()>) {
  return std::make_unique<NeverFdWatch>();
}

void SimDispatcher::RunPosted() {
  while (!posted_.empty()) {
    auto batch = std::move(posted_);
    posted_.clear();
    for (auto& fn : batch) fn();
  }
}

void SimDispatcher::Advance(Duration d) {
  MonoTime end = now_ + d;
  RunPosted();
  while (!queue_.empty() && queue_.begin()->first.first <= end) {
    auto it = queue_.begin();
    SimTimer* t = it->second;
    now_ = it->first.first;
    queue_.erase(it);
    t->Fire();
    RunPosted();
  }
  now_ = end;
}

}  // namespace maglev
