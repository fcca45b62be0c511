// API benchmark (prints numbers; no pass/fail on time):
//  1. unary GetFrontend calls/s with 8 concurrent clients (one channel each)
//     on a configuration of 1,000 frontends;
//  2. WatchEvents with 100 consuming subscribers while 10,000 backend
//     transitions/s are published: delivered vs dropped;
//  3. the process's memory with one stalled subscriber (never reads) while
//     events keep coming: bounded by the per-subscriber queue.
// Everything runs in this process: the core loop with a real Checker (fake
// prober; backends without health check, all up), the real gRPC server on
// 127.0.0.1, and real gRPC clients.
//
// Usage: bench_api [--seconds N] [--subscribers N] [--rate N] [--no-unary] [--no-stalled]
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/client_callback.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <future>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "api/server.h"
#include "checker/checker.h"
#include "common/dispatcher.h"
#include "common/log.h"
#include "config/loader.h"
#include "proto/maglev.grpc.pb.h"

namespace maglev {
namespace {

using Clock = std::chrono::steady_clock;

class NoProbes : public ProbeRunner {
 public:
  void Run(const ProbeSpec&, std::function<void(ProbeResult)> done) override {
    done(ProbeResult{true, "L4OK", "", {}});
  }
};

std::string BigConfig(int frontends) {
  std::string y = "maglev:\n  vpp:\n    lb:\n      ipv4-src-address: 192.0.2.1\n  backends:\n";
  for (int i = 0; i < 2 * frontends; ++i) {
    y += "    b" + std::to_string(i) + ": { address: 10." + std::to_string(i / 65536) + "." +
         std::to_string((i / 256) % 256) + "." + std::to_string(i % 256) + " }\n";
  }
  y += "  frontends:\n";
  for (int i = 0; i < frontends; ++i) {
    y += "    fe" + std::to_string(i) + ":\n      address: 198.18." + std::to_string(i / 256) +
         "." + std::to_string(i % 256) +
         "\n      protocol: tcp\n      port: 80\n      pools:\n"
         "        - name: primary\n          backends:\n            b" +
         std::to_string(2 * i) + ": {}\n        - name: fallback\n          backends:\n" +
         "            b" + std::to_string(2 * i + 1) + ": { weight: 50 }\n";
  }
  return y;
}

double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

long RssKiB() {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

// A WatchEvents client on the callback API (no thread per stream). Counts
// what it receives; a stalled one starts the call and never reads.
class Subscriber : public grpc::ClientReadReactor<Event> {
 public:
  Subscriber(Maglev::Stub* stub, bool stalled) : stalled_(stalled) {
    WatchRequest req;
    req.set_log(false);
    stub->async()->WatchEvents(&ctx_, &req, this);
    if (!stalled_) StartRead(&event_);
    StartCall();
  }
  void OnReadInitialMetadataDone(bool) override {
    std::lock_guard<std::mutex> lock(mu_);
    subscribed_ = true;
    cv_.notify_all();
  }
  void OnReadDone(bool ok) override {
    if (!ok) return;
    received_.fetch_add(1, std::memory_order_relaxed);
    StartRead(&event_);
  }
  void OnDone(const grpc::Status&) override {
    std::lock_guard<std::mutex> lock(mu_);
    done_ = true;
    cv_.notify_all();
  }
  void WaitSubscribed() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(10), [this] { return subscribed_ || done_; });
  }
  void Cancel() { ctx_.TryCancel(); }
  void WaitDone() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(10), [this] { return done_; });
  }
  uint64_t received() const { return received_.load(); }

 private:
  bool stalled_;
  grpc::ClientContext ctx_;
  Event event_;
  std::atomic<uint64_t> received_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  bool subscribed_ = false;
  bool done_ = false;
};

// Publishes `rate` transitions/s for `seconds` in 1 ms slices.
uint64_t Generate(WatchHub& hub, int rate, double seconds) {
  Transition t;
  t.from = BackendState::kUp;
  t.to = BackendState::kDown;
  t.code = "L4CON";
  t.detail = "connection refused";
  uint64_t sent = 0;
  auto start = Clock::now();
  auto end = start + std::chrono::duration<double>(seconds);
  for (auto slice = start; slice < end; slice += std::chrono::milliseconds(1)) {
    std::this_thread::sleep_until(slice);
    uint64_t due =
        static_cast<uint64_t>(std::chrono::duration<double>(Clock::now() - start).count() * rate);
    for (; sent < due; ++sent) {
      t.at_unix_ns = UnixNowNs();
      hub.PublishBackendTransition("b" + std::to_string(sent % 2000), t);
    }
  }
  return sent;
}

int Main(int argc, char** argv) {
  double seconds = 5;
  int subscribers = 100;
  int rate = 10'000;
  bool unary = true, stalled = true;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--no-unary")) unary = false;
    if (!std::strcmp(argv[i], "--no-stalled")) stalled = false;
  }
  for (int i = 1; i + 1 < argc; ++i) {
    if (!std::strcmp(argv[i], "--seconds")) seconds = std::atof(argv[i + 1]);
    if (!std::strcmp(argv[i], "--subscribers")) subscribers = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--rate")) rate = std::atoi(argv[i + 1]);
  }
  Logger::Get().SetLevel(LogLevel::kWarn);

  // The daemon side.
  asio::io_context io;
  auto guard = asio::make_work_guard(io);
  std::thread loop([&] { io.run(); });
  AsioDispatcher dispatcher(io);
  NoProbes runner;
  ConfigResult cfg = ParseConfig(BigConfig(1000));
  if (!cfg.ok()) {
    std::fprintf(stderr, "config: %s\n", cfg.error.c_str());
    return 1;
  }
  std::unique_ptr<Checker> checker;
  {
    std::promise<void> started;
    asio::post(io, [&] {
      checker = std::make_unique<Checker>(dispatcher, runner);
      checker->Start(cfg.config);
      started.set_value();
    });
    started.get_future().wait();
  }
  ApiServerOptions opts;
  opts.address = "127.0.0.1:0";
  auto server_or = StartGrpcServer(opts, io, *checker, nullptr);
  if (!server_or.ok()) {
    std::fprintf(stderr, "server: %s\n", std::string(server_or.status().message()).c_str());
    return 1;
  }
  auto server = std::move(*server_or);
  std::string target = "127.0.0.1:" + std::to_string(server->port());
  std::printf("bench_api: server on %s, 1000 frontends, 2000 backends\n", target.c_str());

  // 1. Unary GetFrontend, 8 clients.
  if (unary) {
    constexpr int kClients = 8;
    std::atomic<bool> stop{false};
    std::vector<uint64_t> calls(kClients, 0), errors(kClients, 0);
    std::vector<std::vector<double>> lat(kClients);
    std::vector<std::thread> threads;
    for (int c = 0; c < kClients; ++c) {
      threads.emplace_back([&, c] {
        grpc::ChannelArguments args;
        args.SetInt("grpc.channel_id", c);  // a distinct channel (connection) per client
        auto stub = Maglev::NewStub(
            grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args));
        std::mt19937 rng(c);
        while (!stop.load(std::memory_order_relaxed)) {
          GetFrontendRequest req;
          req.set_name("fe" + std::to_string(rng() % 1000));
          FrontendInfo resp;
          grpc::ClientContext ctx;
          auto t0 = Clock::now();
          grpc::Status st = stub->GetFrontend(&ctx, req, &resp);
          lat[c].push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
          (st.ok() ? calls[c] : errors[c])++;
        }
      });
    }
    auto t0 = Clock::now();
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    stop = true;
    for (auto& t : threads) t.join();
    double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
    uint64_t total = 0, errs = 0;
    std::vector<double> all;
    for (int c = 0; c < kClients; ++c) {
      total += calls[c];
      errs += errors[c];
      all.insert(all.end(), lat[c].begin(), lat[c].end());
    }
    std::sort(all.begin(), all.end());
    auto pct = [&](double p) { return all.empty() ? 0.0 : all[size_t(p * (all.size() - 1))]; };
    std::printf(
        "unary GetFrontend: %d clients, %.1fs: %.0f calls/s, errors %llu, latency p50 %.0fus "
        "p99 %.0fus\n",
        kClients, elapsed, total / elapsed, (unsigned long long)errs, pct(0.5), pct(0.99));
  }

  // 2. WatchEvents fan-out, at the target rate and below it (to show where
  // drops begin on this machine).
  for (int r : {rate / 10, rate / 4, rate / 2, rate}) {
    // One connection per subscriber, as separate watching processes would have.
    std::vector<std::unique_ptr<Maglev::Stub>> stubs;
    std::vector<std::unique_ptr<Subscriber>> subs;
    for (int i = 0; i < subscribers; ++i) {
      grpc::ChannelArguments args;
      args.SetInt("grpc.channel_id", 1000 + i);
      stubs.push_back(Maglev::NewStub(
          grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args)));
      subs.push_back(std::make_unique<Subscriber>(stubs.back().get(), false));
    }
    for (auto& s : subs) s->WaitSubscribed();
    uint64_t dropped_before = server->hub().dropped_total();
    double cpu_before = CpuSeconds();
    auto t0 = Clock::now();
    uint64_t sent = Generate(server->hub(), r, seconds);
    // Let the streams drain (bounded).
    for (int i = 0; i < 200; ++i) {
      uint64_t got = 0;
      for (auto& s : subs) got += s->received();
      uint64_t dropped = server->hub().dropped_total() - dropped_before;
      if (got + dropped >= sent * subs.size()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
    double cpu = CpuSeconds() - cpu_before;
    uint64_t got = 0, min_got = UINT64_MAX;
    for (auto& s : subs) {
      got += s->received();
      min_got = std::min<uint64_t>(min_got, s->received());
    }
    uint64_t dropped = server->hub().dropped_total() - dropped_before;
    std::printf(
        "watch: %d subscribers, %d transitions/s for %.1fs: delivered %llu of %llu (%.2f%%, "
        "%.0f msgs/s), dropped %llu, slowest subscriber %llu of %llu; CPU %.1fs in %.1fs "
        "(daemon and clients together)\n",
        subscribers, r, seconds, (unsigned long long)got, (unsigned long long)(sent * subs.size()),
        100.0 * got / std::max<uint64_t>(1, sent * subs.size()), got / elapsed,
        (unsigned long long)dropped, (unsigned long long)min_got, (unsigned long long)sent, cpu,
        elapsed);
    for (auto& s : subs) s->Cancel();
    for (auto& s : subs) s->WaitDone();
  }

  // 3. One stalled subscriber: memory stays bounded.
  if (stalled) {
    auto stub = Maglev::NewStub(grpc::CreateChannel(target, grpc::InsecureChannelCredentials()));
    auto stalled = std::make_unique<Subscriber>(stub.get(), true);
    stalled->WaitSubscribed();
    uint64_t dropped_before = server->hub().dropped_total();
    long rss_before = RssKiB();
    long rss_peak = rss_before;
    uint64_t sent = 0;
    for (int round = 0; round < 5; ++round) {
      sent += Generate(server->hub(), rate * 4, seconds / 5);
      rss_peak = std::max(rss_peak, RssKiB());
      std::printf("stalled subscriber: after %llu events: RSS %ld KiB (+%ld KiB), dropped %llu\n",
                  (unsigned long long)sent, RssKiB(), RssKiB() - rss_before,
                  (unsigned long long)(server->hub().dropped_total() - dropped_before));
    }
    auto stats = server->hub().Stats();
    size_t queued = stats.empty() ? 0 : stats[0].queued;
    std::printf(
        "stalled subscriber: %llu events, peak RSS growth %ld KiB, queue %zu (capacity %zu), "
        "dropped %llu\n",
        (unsigned long long)sent, rss_peak - rss_before, queued, WatchHub::Options{}.queue_capacity,
        (unsigned long long)(server->hub().dropped_total() - dropped_before));
    stalled->Cancel();
    stalled->WaitDone();
  }

  server->Shutdown();
  {
    std::promise<void> stopped;
    asio::post(io, [&] {
      checker->Stop();
      checker.reset();
      stopped.set_value();
    });
    stopped.get_future().wait();
  }
  guard.reset();
  io.stop();
  loop.join();
  return 0;
}

}  // namespace
}  // namespace maglev

int main(int argc, char** argv) { return maglev::Main(argc, argv); }
