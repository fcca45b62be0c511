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
// With --ceiling it first measures what gRPC alone can stream to the same
// clients on this machine: a bare server for the same WatchEvents RPC that
// writes one pre-built Event back to back (no hub, no queue, no maglev
// logic), to 1, 10 and --subscribers subscribers, for each --flush-every
// interval; the best is the ceiling for (2). (With 100 streams the
// free-running flood is unfair and unstable, and the daemon's paced bursts
// can do better than it; see docs/benchmarks.md.)
//
// Usage: bench_api [--seconds N] [--subscribers N] [--rate N] [--no-unary] [--no-watch]
//                  [--no-stalled] [--ceiling] [--flush-every N,N,...]
#include <grpcpp/create_channel.h>
#include <grpcpp/impl/codegen/proto_utils.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/client_callback.h>
#include <sys/resource.h>
#include <time.h>
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
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "api/server.h"
#include "common/dispatcher.h"
#include "common/log.h"
#include "config/loader.h"
#include "core/pipeline.h"
#include "proto/maglev.grpc.pb.h"

namespace maglev {
namespace {

using Clock = std::chrono::steady_clock;

class NoProbes : public ProbeRunner {
 public:
  void Run(const ProbeSpec&, std::function<void(ProbeResult)> done) override {
    done(ProbeResult{ProbeCode::kL4Ok, "", {}});
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

// The ceiling server: WatchEvents only, each stream writes the same Event as
// fast as gRPC takes it. Every `flush_every`-th write goes without
// buffer_hint (a flush); the others let gRPC coalesce, as the daemon does
// while events are queued. `Message` is Event (gRPC serializes it on every
// write) or grpc::ByteBuffer (serialized once, as the daemon's hub does);
// the bytes on the wire are the same.
template <typename Message>
class CeilingWriter final : public grpc::ServerWriteReactor<Message> {
 public:
  CeilingWriter(const Message* message, int flush_every)
      : message_(message), flush_every_(std::max(1, flush_every)) {
    this->StartSendInitialMetadata();
    Next();
  }
  void OnWriteDone(bool ok) override {
    if (!ok) {  // cancelled by the client (or the server shutting down)
      this->Finish(grpc::Status::CANCELLED);
      return;
    }
    Next();
  }
  void OnDone() override { delete this; }

 private:
  void Next() {
    grpc::WriteOptions options;
    if (++written_ % flush_every_ != 0) options.set_buffer_hint();
    this->StartWrite(message_, options);
  }
  const Message* message_;
  const int flush_every_;
  uint64_t written_ = 0;
};

Event CeilingEvent() {
  Event e;
  BackendEvent* be = e.mutable_backend();
  be->set_backend_name("b1234");
  TransitionRecord* tr = be->mutable_transition();
  tr->set_from("up");
  tr->set_to("down");
  tr->set_at_unix_ns(UnixNowNs());
  tr->set_code("L4CON");
  tr->set_detail("connection refused");
  return e;
}

class CeilingService final : public Maglev::CallbackService {
 public:
  explicit CeilingService(int flush_every) : flush_every_(flush_every), event_(CeilingEvent()) {}
  grpc::ServerWriteReactor<Event>* WatchEvents(grpc::CallbackServerContext*,
                                               const WatchRequest*) override {
    return new CeilingWriter<Event>(&event_, flush_every_);
  }

 private:
  const int flush_every_;
  const Event event_;
};

class SerializedCeilingService final
    : public Maglev::WithRawCallbackMethod_WatchEvents<Maglev::CallbackService> {
 public:
  explicit SerializedCeilingService(int flush_every) : flush_every_(flush_every) {
    bool own = false;
    grpc::SerializationTraits<Event>::Serialize(CeilingEvent(), &wire_, &own);
  }
  grpc::ServerWriteReactor<grpc::ByteBuffer>* WatchEvents(grpc::CallbackServerContext*,
                                                          const grpc::ByteBuffer*) override {
    return new CeilingWriter<grpc::ByteBuffer>(&wire_, flush_every_);
  }

 private:
  const int flush_every_;
  grpc::ByteBuffer wire_;
};

double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

// Publishes `rate` transitions/s for `seconds` in 1 ms slices. The
// publishing thread stands for the daemon's core loop: `publisher_cpu`
// (optional) gets the CPU time it spent, i.e. what fanning events out costs
// the daemon.
uint64_t Generate(WatchHub& hub, int rate, double seconds, double* publisher_cpu = nullptr) {
  double cpu_before = ThreadCpuSeconds();
  Transition t;
  t.from = BackendState::kUp;
  t.to = BackendState::kDown;
  t.cause = ProbeCode::kL4Con;
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
  if (publisher_cpu) *publisher_cpu = ThreadCpuSeconds() - cpu_before;
  return sent;
}

std::vector<std::unique_ptr<Maglev::Stub>> ConnectSubscribers(
    const std::string& target, int n, std::vector<std::unique_ptr<Subscriber>>* subs) {
  // One connection per subscriber, as separate watching processes would have.
  std::vector<std::unique_ptr<Maglev::Stub>> stubs;
  for (int i = 0; i < n; ++i) {
    grpc::ChannelArguments args;
    args.SetInt("grpc.channel_id", 1000 + i);
    stubs.push_back(Maglev::NewStub(
        grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args)));
    subs->push_back(std::make_unique<Subscriber>(stubs.back().get(), false));
  }
  for (auto& s : *subs) s->WaitSubscribed();
  return stubs;
}

uint64_t TotalReceived(const std::vector<std::unique_ptr<Subscriber>>& subs) {
  uint64_t got = 0;
  for (const auto& s : subs) got += s->received();
  return got;
}

// One run of the bare server: `n` subscribers, a flush every `flush_every`
// writes, the Event serialized on every write or once. Returns the
// messages/s delivered.
double CeilingOnce(int n, double seconds, int flush_every, bool serialized) {
  CeilingService typed_service(flush_every);
  SerializedCeilingService serialized_service(flush_every);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  if (serialized) {
    builder.RegisterService(&serialized_service);
  } else {
    builder.RegisterService(&typed_service);
  }
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || port == 0) {
    std::fprintf(stderr, "ceiling: cannot start the bare server\n");
    return 0;
  }
  std::string target = "127.0.0.1:" + std::to_string(port);
  std::vector<std::unique_ptr<Subscriber>> subs;
  auto stubs = ConnectSubscribers(target, n, &subs);
  // Half a second to reach the steady state (windows, buffers), then
  // measure.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  std::vector<uint64_t> before;
  for (auto& s : subs) before.push_back(s->received());
  double cpu_before = CpuSeconds();
  auto t0 = Clock::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
  double cpu = CpuSeconds() - cpu_before;
  uint64_t total = 0, slowest = UINT64_MAX;
  for (size_t i = 0; i < subs.size(); ++i) {
    uint64_t got = subs[i]->received() - before[i];
    total += got;
    slowest = std::min(slowest, got);
  }
  std::printf(
      "ceiling run: %d subscriber%s, flush every %d writes, %s: %.0f messages/s; slowest "
      "subscriber "
      "%.0f/s; CPU %.1fs in %.1fs, %.0f messages per "
      "CPU-second\n",
      n, n == 1 ? "" : "s", flush_every, serialized ? "serialized once" : "serialized per write",
      total / elapsed, slowest / elapsed, cpu, elapsed, total / std::max(cpu, 1e-3));
  std::fflush(stdout);
  for (auto& s : subs) s->Cancel();
  for (auto& s : subs) s->WaitDone();
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  server->Wait();
  return total / elapsed;
}

// The bare gRPC ceiling for 1, 10 and `subscribers` subscribers, for each
// flush interval; the best of them is the ceiling.
void Ceiling(int subscribers, double seconds, const std::vector<int>& flush_every_list) {
  std::vector<int> counts = {1, 10, subscribers};
  counts.erase(std::unique(counts.begin(), counts.end()), counts.end());
  for (int n : counts) {
    double best = 0;
    for (int flush_every : flush_every_list) {
      for (bool serialized : {false, true}) {
        best = std::max(best, CeilingOnce(n, seconds, flush_every, serialized));
      }
    }
    std::printf(
        "ceiling: %d subscriber%s, bare gRPC server: %.0f messages/s (target needs "
        "1,000,000/s)\n",
        n, n == 1 ? "" : "s", best);
    std::fflush(stdout);
  }
}

int Main(int argc, char** argv) {
  double seconds = 5;
  int subscribers = 100;
  int rate = 10'000;
  std::vector<int> flush_every = {1, 16, 256};
  bool unary = true, watch = true, stalled = true, ceiling = false;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--no-unary")) unary = false;
    if (!std::strcmp(argv[i], "--no-watch")) watch = false;
    if (!std::strcmp(argv[i], "--no-stalled")) stalled = false;
    if (!std::strcmp(argv[i], "--ceiling")) ceiling = true;
  }
  for (int i = 1; i + 1 < argc; ++i) {
    if (!std::strcmp(argv[i], "--seconds")) seconds = std::atof(argv[i + 1]);
    if (!std::strcmp(argv[i], "--subscribers")) subscribers = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--rate")) rate = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--flush-every")) {
      flush_every.clear();
      std::stringstream list(argv[i + 1]);
      for (std::string n; std::getline(list, n, ',');) flush_every.push_back(std::stoi(n));
    }
  }
  Logger::Get().SetLevel(LogLevel::kWarn);
  if (ceiling) Ceiling(subscribers, seconds, flush_every);

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
  std::unique_ptr<Pipeline> pipeline;
  {
    std::promise<void> started;
    asio::post(io, [&] {
      pipeline = std::make_unique<Pipeline>(dispatcher, runner);
      pipeline->Start(cfg.config);
      started.set_value();
    });
    started.get_future().wait();
  }
  ApiServerOptions opts;
  opts.address = "127.0.0.1:0";
  auto server_or = StartGrpcServer(opts, io, *pipeline, nullptr);
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
    if (!watch) break;
    std::vector<std::unique_ptr<Subscriber>> subs;
    auto stubs = ConnectSubscribers(target, subscribers, &subs);
    uint64_t dropped_before = server->hub().dropped_total();
    double cpu_before = CpuSeconds();
    auto t0 = Clock::now();
    double publisher_cpu = 0;
    uint64_t sent = Generate(server->hub(), r, seconds, &publisher_cpu);
    // Let the streams drain (bounded).
    for (int i = 0; i < 200; ++i) {
      uint64_t got = TotalReceived(subs);
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
        "(daemon and clients together, %.0f messages per CPU-second), publisher thread %.2fs\n",
        subscribers, r, seconds, (unsigned long long)got, (unsigned long long)(sent * subs.size()),
        100.0 * got / std::max<uint64_t>(1, sent * subs.size()), got / elapsed,
        (unsigned long long)dropped, (unsigned long long)min_got, (unsigned long long)sent, cpu,
        elapsed, got / std::max(cpu, 1e-3), publisher_cpu);
    std::fflush(stdout);
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
      pipeline->Stop();
      pipeline.reset();
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
