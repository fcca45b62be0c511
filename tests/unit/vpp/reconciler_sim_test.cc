// SPDX-License-Identifier: Apache-2.0
//
// The reconciler on one thread: a simulated loop and an in-memory VPP (the
// simulator's model, no socket). Coalescing, the supersede rules, the dirty
// cache and the reconnect backoff, each step driven by the test: no sleeps,
// no threads, microseconds per test.
#include <gtest/gtest.h>

#include "common/log.h"
#include "vpp/fake_lb.h"
#include "vpp/reconciler.h"

namespace maglev {
namespace {

using namespace std::chrono_literals;
using maglev::testing::FakeLbConnector;
using maglev::testing::FakeVpp;

IpAddress Ip(const std::string& s) { return *IpAddress::Parse(s); }

// A VIP 192.0.2.<n>:80/tcp named fe<n> with ASes 198.51.100.<i> at weight w[i-1].
DesiredVip Vip(int n, std::vector<int> w) {
  DesiredVip v;
  v.frontend = "fe" + std::to_string(n);
  v.spec.key = VipKey::Host(Ip("192.0.2." + std::to_string(n)), kLbProtoTcp, 80);
  v.spec.new_flows_table_length = 1024;
  for (size_t i = 0; i < w.size(); ++i)
    v.ases.push_back(DesiredAs{"b" + std::to_string(i + 1),
                               Ip("198.51.100." + std::to_string(i + 1)),
                               static_cast<uint8_t>(w[i]), true});
  return v;
}

LbConf Conf() {
  LbConf c;
  c.ip4_src_address = Ip("192.0.2.1");
  c.ip6_src_address = Ip("2001:db8::1");
  return c;
}

SyncJob Job(SyncJob::Kind kind, std::vector<DesiredVip> vips) {
  SyncJob j;
  j.kind = kind;
  j.vips = std::move(vips);
  j.conf = Conf();
  return j;
}

class ReconcilerSimTest : public ::testing::Test {
 protected:
  ReconcilerSimTest() : vpp_(loop_), connector_(vpp_), rec_(loop_, connector_, Options()) {
    Logger::Get().SetOutput(nullptr);
    rec_.SetOnConnected([this] { ++connected_; });
    rec_.Start();
    loop_.RunPosted();
  }
  ~ReconcilerSimTest() override {
    rec_.Stop();
    Logger::Get().SetOutput(stderr);
  }
  static ReconcilerOptions Options() {
    ReconcilerOptions o;
    o.ping_interval = 10s;
    return o;
  }
  // Runs `job` now and returns its outcome.
  absl::Status Run(SyncJob job) {
    std::optional<absl::Status> result;
    job.done = [&result](absl::Status st) { result = st; };
    rec_.Submit(std::move(job));
    loop_.RunPosted();
    EXPECT_TRUE(result.has_value());
    return result.value_or(absl::UnknownError("job never finished"));
  }
  std::vector<std::string> TakeCalls() { return std::exchange(vpp_.calls, {}); }

  SimDispatcher loop_;
  FakeVpp vpp_;
  FakeLbConnector connector_;
  Reconciler rec_;
  int connected_ = 0;
};

TEST_F(ReconcilerSimTest, ConnectsAndProgramsConfFirst) {
  ASSERT_TRUE(rec_.connected());
  EXPECT_EQ(connected_, 1);
  ASSERT_TRUE(Run(Job(SyncJob::Kind::kFrontend, {Vip(10, {100, 50})})).ok());
  EXPECT_EQ(TakeCalls(),
            (std::vector<std::string>{
                "set-conf ip4-src 192.0.2.1 ip6-src 2001:db8::1 buckets 1024 timeout 40",

                "add-vip 192.0.2.10/32 tcp/80 encap gre4 new-flows-table-length 1024",
                "add-as 192.0.2.10/32 tcp/80 198.51.100.1 weight 100",
                "add-as 192.0.2.10/32 tcp/80 198.51.100.2 weight 50"}));
}

TEST_F(ReconcilerSimTest, EventsAreCoalescedPerFrontendNewestWinsFlushesAccumulate) {
  ASSERT_TRUE(Run(Job(SyncJob::Kind::kFrontend, {Vip(10, {100, 100}), Vip(11, {100})})).ok());
  TakeCalls();
  int dumps = vpp_.dumps;
  // Three events for fe10 and one for fe11 before the loop runs: one batch.
  SyncJob a = Job(SyncJob::Kind::kEvent, {Vip(10, {0, 100})});
  a.flush_now["fe10"] = {Ip("198.51.100.1")};
  rec_.Submit(a);
  rec_.Submit(Job(SyncJob::Kind::kEvent, {Vip(10, {0, 40})}));
  rec_.Submit(Job(SyncJob::Kind::kEvent, {Vip(11, {20})}));
  rec_.Submit(Job(SyncJob::Kind::kEvent, {Vip(10, {0, 60})}));
  loop_.RunPosted();
  EXPECT_EQ(TakeCalls(), (std::vector<std::string>{
                             "set-as-weight 192.0.2.10/32 tcp/80 198.51.100.1 weight 0 flush",
                             "set-as-weight 192.0.2.10/32 tcp/80 198.51.100.2 weight 60",
                             "set-as-weight 192.0.2.11/32 tcp/80 198.51.100.1 weight 20"}));
  EXPECT_EQ(vpp_.dumps, dumps);  // diffed against the cache: no dump
  EXPECT_EQ(rec_.stats().sync_runs[static_cast<int>(SyncJob::Kind::kEvent)], 1u);
}

TEST_F(ReconcilerSimTest, AFrontendSyncSupersedesOlderEventsAndKeepsTheirFlush) {
  ASSERT_TRUE(Run(Job(SyncJob::Kind::kFrontend, {Vip(10, {0, 100})})).ok());
  TakeCalls();
  SyncJob stale = Job(SyncJob::Kind::kEvent, {Vip(10, {0, 100})});
  stale.flush_now["fe10"] = {Ip("198.51.100.1")};  // already at 0: flush anyway
  rec_.Submit(stale);
  ASSERT_TRUE(Run(Job(SyncJob::Kind::kFrontend, {Vip(10, {0, 30})})).ok());
  EXPECT_EQ(TakeCalls(), (std::vector<std::string>{
                             "set-as-weight 192.0.2.10/32 tcp/80 198.51.100.1 weight 0 flush",
                             "set-as-weight 192.0.2.10/32 tcp/80 198.51.100.2 weight 30"}));
  loop_.Advance(1s);
  EXPECT_TRUE(TakeCalls().empty());  // the stale event did not run after it
}

TEST_F(ReconcilerSimTest, AFullSyncSupersedesEventsOfRemovedFrontends) {
  ASSERT_TRUE(Run(Job(SyncJob::Kind::kFull, {Vip(10, {100}), Vip(11, {100})})).ok());
  TakeCalls();
  // fe11 changes, then a reload removes it: the full sync (without fe11)
  // deletes the VIP; the older event must not re-create it.
  rec_.Submit(Job(SyncJob::Kind::kEvent, {Vip(11, {50})}));
  ASSERT_TRUE(Run(Job(SyncJob::Kind::kFull, {Vip(10, {100})})).ok());
  EXPECT_EQ(TakeCalls(), (std::vector<std::string>{"del-as 192.0.2.11/32 tcp/80 198.51.100.1 flush",
                                                   "del-vip 192.0.2.11/32 tcp/80"}));
  loop_.Advance(1s);
  EXPECT_TRUE(TakeCalls().empty());
  // And an idle full sync sends nothing.
  ASSERT_TRUE(Run(Job(SyncJob::Kind::kFull, {Vip(10, {100})})).ok());
  EXPECT_TRUE(TakeCalls().empty());
}

TEST_F(ReconcilerSimTest, AFailedCallMakesTheVipDirtyAndTheNextEventReDumpsIt) {
  ASSERT_TRUE(Run(Job(SyncJob::Kind::kFrontend, {Vip(10, {100})})).ok());
  TakeCalls();
  // Behind our back, the AS is deleted: the cache still believes in it.
  vppsim::AsAddDelRequest del;
  del.vip.address.un = {192, 0, 2, 10};
  del.vip.len = 32;
  del.vip.protocol = kLbProtoTcp;
  del.vip.port = 80;
  del.as.un = {198, 51, 100, 1};
  del.v2 = true;
  del.is_del = true;
  ASSERT_EQ(vpp_.model().AddDelAs(del), 0);
  int dumps = vpp_.dumps;
  rec_.Submit(Job(SyncJob::Kind::kEvent, {Vip(10, {40})}));
  loop_.RunPosted();
  EXPECT_TRUE(TakeCalls().empty());  // set-weight of a removed AS: refused by VPP
  EXPECT_EQ(rec_.stats().sync_failures, 1u);
  EXPECT_EQ(vpp_.dumps, dumps);
  // The VIP is dirty now: the next event dumps it first, and repairs.
  rec_.Submit(Job(SyncJob::Kind::kEvent, {Vip(10, {40})}));
  loop_.RunPosted();
  EXPECT_EQ(vpp_.dumps, dumps + 1);
  EXPECT_EQ(TakeCalls(),
            (std::vector<std::string>{"add-as 192.0.2.10/32 tcp/80 198.51.100.1 weight 40"}));
}

TEST_F(ReconcilerSimTest, ReconnectsWithBackoffAndChecksTheConfAgain) {
  ASSERT_TRUE(Run(Job(SyncJob::Kind::kFrontend, {Vip(10, {100})})).ok());
  TakeCalls();
  vpp_.Down();
  loop_.RunPosted();
  EXPECT_FALSE(rec_.connected());  // noticed while idle, without a ping
  EXPECT_EQ(rec_.stats().disconnects, 1u);
  // While down: a waited-for job is refused, an internal one dropped.
  EXPECT_EQ(Run(Job(SyncJob::Kind::kFrontend, {Vip(10, {50})})).code(),
            absl::StatusCode::kUnavailable);
  // Attempts at +100 ms, +300 ms, +700 ms, +1200 ms, +1700 ms...
  int connects = vpp_.connects;
  loop_.Advance(650ms);
  vpp_.Restart();  // back, empty
  loop_.Advance(40ms);
  EXPECT_FALSE(rec_.connected());  // the next attempt is at +700 ms
  loop_.Advance(20ms);
  EXPECT_TRUE(rec_.connected());
  EXPECT_EQ(vpp_.connects, connects + 1);
  EXPECT_EQ(connected_, 2);
  // A fresh VPP: the conf is checked again before the first VIP.
  rec_.Submit(Job(SyncJob::Kind::kEvent, {Vip(10, {100})}));
  loop_.RunPosted();
  std::vector<std::string> calls = TakeCalls();
  ASSERT_GE(calls.size(), 2u);
  EXPECT_EQ(calls[0].rfind("set-conf", 0), 0u) << calls[0];
  EXPECT_EQ(calls[1], "add-vip 192.0.2.10/32 tcp/80 encap gre4 new-flows-table-length 1024");
}

TEST_F(ReconcilerSimTest, AnUnreachableVppIsRetriedAtTheBackoffCeiling) {
  vpp_.Down("connect /fake/api.sock: Connection refused");
  loop_.RunPosted();
  int connects = vpp_.connects;
  loop_.Advance(10s);
  EXPECT_FALSE(rec_.connected());
  EXPECT_EQ(vpp_.connects, connects);  // nothing connected
  vpp_.Up();
  loop_.Advance(500ms);  // at most one ceiling away
  EXPECT_TRUE(rec_.connected());
}

}  // namespace
}  // namespace maglev
