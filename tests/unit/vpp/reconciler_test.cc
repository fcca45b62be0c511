// The Reconciler against the simulator's real socket server, each on its own
// thread, with jobs and queries coming from several more threads: the place
// where maglevd's threads meet (core loop, gRPC handlers, reconciler). Built
// and run under ThreadSanitizer too (scripts/test.sh).
#include "vpp/reconciler.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <asio/post.hpp>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>
#include <utility>

#include "common/log.h"
#include "vpp/lb_client.h"
#include "vppsim/server.h"

namespace maglev {
namespace {

using namespace std::chrono_literals;

IpAddress Ip(const std::string& s) { return *IpAddress::Parse(s); }

// A VIP 192.0.2.<n>:80/tcp with ASes 198.51.100.<1..count>, weight w(i).
DesiredVip Vip(int n, int count, const std::function<uint8_t(int)>& w) {
  DesiredVip v;
  v.frontend = "fe" + std::to_string(n);
  v.spec.key = VipKey::Host(Ip("192.0.2." + std::to_string(n)), 6, 80);
  v.spec.encap = LbEncap::kGre4;
  v.spec.new_flows_table_length = 1024;
  for (int i = 1; i <= count; ++i) {
    v.ases.push_back(
        DesiredAs{"b" + std::to_string(i), Ip("198.51.100." + std::to_string(i)), w(i), true});
  }
  return v;
}

// The simulator's server on its own thread; restartable on the same path.
class Sim {
 public:
  explicit Sim(std::string path) : path_(std::move(path)) {}
  ~Sim() { Stop(); }
  void Start() {
    io_ = std::make_unique<asio::io_context>();
    vppsim::SimServer::Options o;
    o.socket_path = path_;
    o.gc_interval = Duration::zero();
    auto s = vppsim::SimServer::Create(*io_, o);
    ASSERT_TRUE(s.ok()) << s.status();
    server_ = std::move(*s);
    ASSERT_TRUE(server_->Start().ok());
    thread_ = std::thread([io = io_.get()] { io->run(); });
  }
  void Stop() {
    if (!thread_.joinable()) return;
    asio::post(*io_, [s = server_.get()] { s->Stop(); });
    thread_.join();
    server_.reset();
    io_.reset();
  }

 private:
  std::string path_;
  std::unique_ptr<asio::io_context> io_;
  std::unique_ptr<vppsim::SimServer> server_;
  std::thread thread_;
};

class ReconcilerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Logger::Get().SetOutput(nullptr);
    char dir[] = "/tmp/maglev-reconciler-test-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    path_ = dir_ + "/api.sock";
    sim_ = std::make_unique<Sim>(path_);
    sim_->Start();
    ReconcilerOptions o;
    o.ping_interval = 50ms;
    o.retry_interval = 50ms;
    o.call_timeout = 2s;
    StartReconciler(o);
    rec_->SetOnConnected([this] { connects_.fetch_add(1); });
    rec_->Start();
    ASSERT_TRUE(WaitFor([&] { return rec_->connected(); }));
  }
  // The reconciler on a thread of its own, over the simulator's socket, as
  // in maglevd (started by the caller, after SetOnConnected).
  void StartReconciler(const ReconcilerOptions& o) {
    StopReconciler();
    thread_ = std::make_unique<DispatcherThread>();
    connector_ = std::make_unique<SocketLbConnector>(
        path_, std::chrono::duration_cast<std::chrono::milliseconds>(o.call_timeout));
    rec_ = std::make_unique<Reconciler>(thread_->dispatcher(), *connector_, o);
    thread_->Start();
  }
  void StopReconciler() {
    if (!rec_) return;
    thread_->Run([this] { rec_->Stop(); });
    thread_->Stop();
    rec_.reset();
    connector_.reset();
    thread_.reset();
  }
  void TearDown() override {
    StopReconciler();
    sim_.reset();
    rmdir(dir_.c_str());
    Logger::Get().SetOutput(stderr);
  }

  // Polls (bounded: 10 s) for `pred`.
  static bool WaitFor(const std::function<bool()>& pred) {
    for (int i = 0; i < 1000; ++i) {
      if (pred()) return true;
      std::this_thread::sleep_for(10ms);
    }
    return pred();
  }

  absl::Status RunJob(SyncJob job) {
    std::promise<absl::Status> p;
    job.done = [&p](absl::Status st) { p.set_value(st); };
    rec_->Submit(std::move(job));
    return p.get_future().get();
  }

  // Returns once everything submitted before has run on the reconciler's
  // thread (one io_context thread: work runs in the order posted).
  void Barrier() {
    std::promise<void> p;
    rec_->GetStatus([&p](VppStatusInfo) { p.set_value(); });
    p.get_future().get();
  }

  absl::StatusOr<Reconciler::VipInspection> Inspect(const VipKey& key) {
    std::promise<absl::StatusOr<Reconciler::VipInspection>> p;
    rec_->InspectVip(
        key, [&p](absl::StatusOr<Reconciler::VipInspection> r) { p.set_value(std::move(r)); });
    return p.get_future().get();
  }

  std::string dir_, path_;
  std::unique_ptr<Sim> sim_;
  std::unique_ptr<DispatcherThread> thread_;
  std::unique_ptr<SocketLbConnector> connector_;
  std::unique_ptr<Reconciler> rec_;
  std::atomic<int> connects_{0};
};

TEST_F(ReconcilerTest, ConcurrentJobsAndQueriesConverge) {
  // Four threads stand in for the core loop and gRPC handlers: each submits
  // event jobs for its own VIPs (weights changing on every round) and asks
  // for status, state and inspections in between.
  constexpr int kThreads = 4, kVipsPerThread = 3, kRounds = 40;
  std::atomic<int> queries{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int r = 0; r < kRounds; ++r) {
        for (int v = 0; v < kVipsPerThread; ++v) {
          int n = 10 + t * kVipsPerThread + v;
          SyncJob job;
          job.kind = SyncJob::Kind::kEvent;
          job.vips = {
              Vip(n, 4, [r](int i) { return static_cast<uint8_t>((r * 7 + i * 13) % 101); })};
          job.origin = std::chrono::steady_clock::now();
          rec_->Submit(std::move(job));
        }
        if (r % 8 == 0) {
          rec_->GetStatus([&](VppStatusInfo) { queries.fetch_add(1); });
          rec_->GetLbState([&](absl::StatusOr<LbStateSnapshot>) { queries.fetch_add(1); });
          rec_->InspectVip(
              VipKey::Host(Ip("192.0.2.10"), 6, 80),
              [&](absl::StatusOr<Reconciler::VipInspection>) { queries.fetch_add(1); });
          (void)rec_->stats();
          (void)rec_->RecentLatencies();
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  Barrier();  // every event job drained
  // The final desired state: the last round's weights. A frontend sync
  // (dump, diff) after everything else must find nothing left to do.
  const int last = kRounds - 1;
  for (int n = 10; n < 10 + kThreads * kVipsPerThread; ++n) {
    DesiredVip want =
        Vip(n, 4, [](int i) { return static_cast<uint8_t>((last * 7 + i * 13) % 101); });
    SyncJob job;
    job.kind = SyncJob::Kind::kFrontend;
    job.vips = {want};
    uint64_t before = rec_->stats().mutating_calls;
    ASSERT_TRUE(RunJob(std::move(job)).ok());
    EXPECT_EQ(rec_->stats().mutating_calls, before) << "VIP " << n << " was not converged";
    auto seen = Inspect(want.spec.key);
    ASSERT_TRUE(seen.ok()) << seen.status();
    ASSERT_TRUE(seen->vip.has_value());
    EXPECT_TRUE(CompareVip(want, &*seen->vip, seen->level).in_sync());
  }
  EXPECT_TRUE(WaitFor([&] { return queries.load() == kThreads * (kRounds / 8) * 3; }));
  EXPECT_EQ(rec_->stats().sync_failures, 0u);
}

TEST_F(ReconcilerTest, AFrontendSyncSupersedesOlderPendingEvents) {
  // The reconciler is held busy while an event (old desired state) and then
  // a frontend sync (newer desired state) of the same frontend are queued;
  // they land in one drain, where events run last. The newer state must win,
  // and the event's flush request must survive.
  DesiredVip first = Vip(40, 2, [](int i) { return static_cast<uint8_t>(i == 1 ? 0 : 100); });
  SyncJob setup;
  setup.kind = SyncJob::Kind::kFrontend;
  setup.vips = {first};
  ASSERT_TRUE(RunJob(setup).ok());

  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<void> holding;
  rec_->GetStatus([&holding, released](VppStatusInfo) {
    holding.set_value();
    released.wait();
  });
  holding.get_future().wait();
  SyncJob stale;
  stale.kind = SyncJob::Kind::kEvent;
  stale.vips = {first};  // 198.51.100.1 disabled again: already at 0, flush it anyway
  stale.flush_now["fe40"] = {Ip("198.51.100.1")};
  rec_->Submit(stale);
  DesiredVip newer = Vip(40, 2, [](int i) { return static_cast<uint8_t>(i == 1 ? 0 : 30); });
  SyncJob sync;
  sync.kind = SyncJob::Kind::kFrontend;
  sync.vips = {newer};
  std::promise<absl::Status> synced;
  sync.done = [&synced](absl::Status st) { synced.set_value(st); };
  rec_->Submit(std::move(sync));
  uint64_t before = rec_->stats().mutating_calls;
  release.set_value();
  ASSERT_TRUE(synced.get_future().get().ok());
  Barrier();
  auto seen = Inspect(newer.spec.key);
  ASSERT_TRUE(seen.ok());
  ASSERT_TRUE(seen->vip.has_value());
  EXPECT_TRUE(CompareVip(newer, &*seen->vip, seen->level).in_sync());
  EXPECT_EQ(seen->vip->active.at(Ip("198.51.100.2")).weight, 30);
  // Two calls: 198.51.100.2 to 30, and the flush of 198.51.100.1 (at 0
  // already) that only the event had asked for. Nothing after them.
  EXPECT_EQ(rec_->stats().mutating_calls - before, 2u);
}

TEST_F(ReconcilerTest, InspectSeesDriftWithoutRepairingIt) {
  DesiredVip want = Vip(20, 2, [](int) { return uint8_t{100}; });
  SyncJob job;
  job.kind = SyncJob::Kind::kFrontend;
  job.vips = {want};
  ASSERT_TRUE(RunJob(job).ok());

  // Another API client changes a weight behind the reconciler's back.
  LbClient other("drift");
  ASSERT_TRUE(other.Connect(path_, 2000ms).ok());
  std::vector<LbCall> drift = {LbSetAsWeight{want.spec.key, Ip("198.51.100.2"), 42, false}};
  for (const absl::Status& st : other.Execute(drift)) ASSERT_TRUE(st.ok()) << st;

  for (int i = 0; i < 2; ++i) {  // looking twice: still there
    auto seen = Inspect(want.spec.key);
    ASSERT_TRUE(seen.ok()) << seen.status();
    ASSERT_TRUE(seen->vip.has_value());
    EXPECT_EQ(seen->level, LbApiLevel::kWeights);
    EXPECT_EQ(seen->vip->active.at(Ip("198.51.100.2")).weight, 42);
    VipComparison c = CompareVip(want, &*seen->vip, seen->level);
    EXPECT_EQ(c.differing, std::set<IpAddress>{Ip("198.51.100.2")});
  }
  // The operator's sync repairs it.
  ASSERT_TRUE(RunJob(job).ok());
  auto seen = Inspect(want.spec.key);
  ASSERT_TRUE(seen.ok());
  EXPECT_TRUE(CompareVip(want, &*seen->vip, seen->level).in_sync());
  // A VIP VPP does not have.
  seen = Inspect(VipKey::Host(Ip("192.0.2.99"), 6, 80));
  ASSERT_TRUE(seen.ok());
  EXPECT_FALSE(seen->vip.has_value());
}

TEST_F(ReconcilerTest, ReconnectsWhenTheSimulatorComesBack) {
  EXPECT_EQ(connects_.load(), 1);
  sim_->Stop();
  ASSERT_TRUE(WaitFor([&] { return !rec_->connected(); }));
  // While disconnected: queries and waited-for jobs answer Unavailable.
  EXPECT_EQ(Inspect(VipKey::Host(Ip("192.0.2.1"), 6, 80)).status().code(),
            absl::StatusCode::kUnavailable);
  SyncJob job;
  job.kind = SyncJob::Kind::kFrontend;
  job.vips = {Vip(30, 1, [](int) { return uint8_t{100}; })};
  EXPECT_EQ(RunJob(job).code(), absl::StatusCode::kUnavailable);

  sim_->Start();
  ASSERT_TRUE(WaitFor([&] { return rec_->connected(); }));
  EXPECT_EQ(connects_.load(), 2);
  EXPECT_TRUE(RunJob(job).ok());
  auto seen = Inspect(job.vips[0].spec.key);
  ASSERT_TRUE(seen.ok());
  ASSERT_TRUE(seen->vip.has_value());
  EXPECT_EQ(seen->vip->active.size(), 1u);
}

// The lb-call records the reconciler logs at debug, in order.
class CallRecorder {
 public:
  CallRecorder() {
    id_ = Logger::Get().AddSink(LogLevel::kDebug, [this](const LogRecord& r) {
      if (r.msg != "lb-call") return;
      for (const LogField& f : r.attrs) {
        if (f.key != "call") continue;
        std::lock_guard<std::mutex> lock(mu_);
        calls_.push_back(f.value);
      }
    });
  }
  ~CallRecorder() { Logger::Get().RemoveSink(id_); }
  std::vector<std::string> Take() {
    std::lock_guard<std::mutex> lock(mu_);
    return std::exchange(calls_, {});
  }

 private:
  int id_;
  std::mutex mu_;
  std::vector<std::string> calls_;
};

LbConf TestConf() {
  LbConf c;
  c.ip4_src_address = Ip("192.0.2.1");
  c.ip6_src_address = Ip("2001:db8::1");
  c.sticky_buckets_per_core = 1024;
  c.flow_timeout = 40;
  return c;
}

// A fresh VPP has GRE sources 255.255.255.255 / ffff:...: a VIP programmed
// before lb_conf forwards packets that backends drop. Frontend and event
// syncs (warmup releases frontends with them, long before the first full
// sync) must set the conf first.
TEST_F(ReconcilerTest, ConfIsSetBeforeTheFirstVipOfAnySync) {
  CallRecorder rec;
  SyncJob job;
  job.kind = SyncJob::Kind::kFrontend;
  job.conf = TestConf();
  job.vips = {Vip(50, 2, [](int) { return uint8_t{100}; })};
  ASSERT_TRUE(RunJob(job).ok());
  std::vector<std::string> calls = rec.Take();
  ASSERT_GE(calls.size(), 4u);
  EXPECT_EQ(calls[0].rfind("set-conf", 0), 0u) << calls[0];
  EXPECT_EQ(calls[1].rfind("add-vip", 0), 0u) << calls[1];

  // Verified once per connection: the next event sync sends only its own
  // calls.
  SyncJob event;
  event.kind = SyncJob::Kind::kEvent;
  event.conf = TestConf();
  event.vips = {Vip(51, 1, [](int) { return uint8_t{100}; })};
  rec_->Submit(event);
  Barrier();
  calls = rec.Take();
  ASSERT_FALSE(calls.empty());
  for (const std::string& c : calls) EXPECT_NE(c.rfind("set-conf", 0), 0u) << c;

  // After VPP restarts (conf back to its defaults), the first event sync
  // sets it again before its VIP.
  sim_->Stop();
  ASSERT_TRUE(WaitFor([&] { return !rec_->connected(); }));
  sim_->Start();
  ASSERT_TRUE(WaitFor([&] { return rec_->connected(); }));
  Barrier();
  rec.Take();
  rec_->Submit(event);
  Barrier();
  calls = rec.Take();
  ASSERT_GE(calls.size(), 2u);
  EXPECT_EQ(calls[0].rfind("set-conf", 0), 0u) << calls[0];
  EXPECT_EQ(calls[1].rfind("add-vip", 0), 0u) << calls[1];
}

// VPP closing the socket (a restart) is noticed at once, not at the next
// ping (here an hour away), and the reconnect follows within the backoff.
TEST_F(ReconcilerTest, NoticesVppGoingAwayWithoutWaitingForThePing) {
  ReconcilerOptions o;
  o.ping_interval = std::chrono::hours(1);
  o.call_timeout = 2s;
  StartReconciler(o);
  std::atomic<int> connects{0};
  rec_->SetOnConnected([&] { connects.fetch_add(1); });
  rec_->Start();
  ASSERT_TRUE(WaitFor([&] { return rec_->connected(); }));
  sim_->Stop();
  ASSERT_TRUE(WaitFor([&] { return !rec_->connected(); }));
  EXPECT_EQ(rec_->stats().disconnects, 1u);
  sim_->Start();
  ASSERT_TRUE(WaitFor([&] { return rec_->connected(); }));
  EXPECT_EQ(connects.load(), 2);
  StopReconciler();
}

}  // namespace
}  // namespace maglev
