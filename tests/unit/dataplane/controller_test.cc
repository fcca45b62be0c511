// SPDX-License-Identifier: Apache-2.0
//
// The whole walk on one thread: scripted probes -> checker -> lb stage ->
// dataplane controller -> reconciler -> an in-memory VPP, on one simulated
// loop. The warmup (nothing before startup-min-delay, frontends released as
// their backends resolve, everything at startup-max-delay), the periodic
// sync, the re-program after a VPP restart, a reload. No sleeps, no
// sockets, no threads.
#include "dataplane/controller.h"

#include <gtest/gtest.h>

#include "checker/checker_test_util.h"
#include "common/log.h"
#include "core/pipeline.h"
#include "vpp/fake_lb.h"

namespace maglev {
namespace {

using namespace maglev::testing;

const char* kConfig = R"(
maglev:
  vpp:
    lb:
      ipv4-src-address: 192.0.2.1
      sync-interval: 30s
      startup-min-delay: 5s
      startup-max-delay: 30s
  healthchecks:
    hc: { type: http, port: 80, interval: 2s, timeout: 1s, rise: 2, fall: 3 }
  backends:
    a: { address: 127.0.0.1, healthcheck: hc }
    b: { address: 127.0.0.2, healthcheck: hc }
    s: { address: 127.0.0.3 }
  frontends:
    web:
      address: 192.0.2.80
      port: 80
      pools:
        - name: primary
          backends: { a: {}, b: { weight: 50 } }
    static:
      address: 192.0.2.81
      port: 80
      pools:
        - name: only
          backends: { s: {} }
)";

class ControllerTest : public ::testing::Test {
 protected:
  ControllerTest()
      : runner_(loop_),
        pipeline_(loop_, runner_, CheckerOptions{7, 0.10}),
        vpp_(loop_),
        connector_(vpp_),
        reconciler_(loop_, connector_),
        controller_(loop_, pipeline_.lb(), reconciler_) {
    Logger::Get().SetOutput(nullptr);
  }
  ~ControllerTest() override {
    controller_.Stop();
    reconciler_.Stop();
    pipeline_.Stop();
    Logger::Get().SetOutput(stderr);
  }
  void Start(const std::string& yaml = kConfig) {
    pipeline_.Start(Parse(yaml));
    controller_.Start();
    reconciler_.Start();
  }
  std::vector<std::string> TakeCalls() { return std::exchange(vpp_.calls, {}); }
  // How many VIPs VPP holds.
  size_t Vips() { return vpp_.model().VipDump().size(); }
  uint64_t FullSyncs() {
    return reconciler_.stats().sync_runs[static_cast<int>(SyncJob::Kind::kFull)];
  }

  SimDispatcher loop_;
  FakeRunner runner_;
  Pipeline pipeline_;
  FakeVpp vpp_;
  FakeLbConnector connector_;
  Reconciler reconciler_;
  DataplaneController controller_;
};

TEST_F(ControllerTest, WarmupHoldsVppThenReleasesFrontendsAsTheyResolve) {
  runner_.Hold("127.0.0.2");  // b's first probe does not answer for now
  Start();
  loop_.Advance(std::chrono::milliseconds(4900));
  // a and s resolved long ago, but startup-min-delay holds VPP untouched.
  EXPECT_TRUE(reconciler_.connected());
  EXPECT_TRUE(TakeCalls().empty());
  EXPECT_FALSE(controller_.Released("static"));
  loop_.Advance(std::chrono::milliseconds(200));
  // Past it: `static` (every backend resolved) is released and programmed,
  // the global conf first; `web` still waits for b.
  EXPECT_TRUE(controller_.Released("static"));
  EXPECT_FALSE(controller_.Released("web"));
  std::vector<std::string> calls = TakeCalls();
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_EQ(calls[0].rfind("set-conf ip4-src 192.0.2.1", 0), 0u) << calls[0];
  EXPECT_EQ(calls[1].rfind("add-vip 192.0.2.81/32", 0), 0u) << calls[1];
  EXPECT_EQ(Vips(), 1u);
  // b answers: web resolves and is released at once.
  for (auto& done : runner_.held_) done(ProbeResult{ProbeCode::kL7Ok, "HTTP 200", {}});
  runner_.held_.clear();
  loop_.RunPosted();
  EXPECT_TRUE(controller_.Released("web"));
  EXPECT_EQ(Vips(), 2u);
  EXPECT_FALSE(controller_.warmup_done());
  EXPECT_EQ(FullSyncs(), 0u);
  // At startup-max-delay the full sync runs, then every sync-interval.
  loop_.Advance(std::chrono::seconds(25));
  EXPECT_TRUE(controller_.warmup_done());
  EXPECT_EQ(FullSyncs(), 1u);
  TakeCalls();
  loop_.Advance(std::chrono::seconds(61));
  EXPECT_EQ(FullSyncs(), 3u);
  EXPECT_TRUE(TakeCalls().empty());  // idle: nothing to change
}

// The state file's last health (docs/dataplane.md, "Warmup"): a frontend
// whose first probes match it is released before startup-min-delay; one
// that differs waits for startup-min-delay as without a file. Each release
// is reported to the route hook once.
TEST_F(ControllerTest, PersistedHealthReleasesMatchingFrontendsEarly) {
  runner_.Fail("127.0.0.2");  // b probes down
  controller_.SetPersistedHealth({{"a", BackendState::kUp},
                                  {"b", BackendState::kUp},  // differs: web waits
                                  {"s", BackendState::kUp}});
  std::vector<std::string> released;
  controller_.SetOnRelease([&](const std::string& fe) { released.push_back(fe); });
  Start();
  loop_.Advance(std::chrono::seconds(3));       // every first probe is in
  EXPECT_TRUE(controller_.Released("static"));  // s up, as persisted
  EXPECT_FALSE(controller_.Released("web"));    // b down, persisted up
  EXPECT_EQ(Vips(), 1u);
  EXPECT_EQ(released, std::vector<std::string>{"static"});
  loop_.Advance(std::chrono::milliseconds(2100));  // past startup-min-delay
  EXPECT_TRUE(controller_.Released("web"));
  EXPECT_EQ(released, (std::vector<std::string>{"static", "web"}));
  loop_.Advance(std::chrono::seconds(30));  // warmup done: nobody is reported twice
  EXPECT_TRUE(controller_.warmup_done());
  EXPECT_EQ(released.size(), 2u);
}

TEST_F(ControllerTest, AtMaxDelayEverythingIsProgrammedEvenUnresolved) {
  runner_.Hold("127.0.0.2");
  Start();
  loop_.Advance(std::chrono::seconds(31));
  EXPECT_TRUE(controller_.warmup_done());
  EXPECT_EQ(Vips(), 2u);  // web too, b at weight 0 (unknown)
  auto dump = vpp_.model().VipDump();
  ASSERT_EQ(dump.size(), 2u);
}

TEST_F(ControllerTest, TransitionsAreProgrammedAndAVppRestartIsReprogrammed) {
  Start();
  loop_.Advance(std::chrono::seconds(31));
  ASSERT_TRUE(controller_.warmup_done());
  TakeCalls();
  // b fails: three failures, then one weight change, flushed.
  runner_.Fail("127.0.0.2");
  loop_.Advance(std::chrono::seconds(10));
  EXPECT_EQ(
      TakeCalls(),
      (std::vector<std::string>{"set-as-weight 192.0.2.80/32 tcp/80 127.0.0.2 weight 0 flush"}));
  // VPP restarts empty: noticed at once, reconnected after the backoff and
  // re-programmed by a full sync, conf first.
  vpp_.Restart();
  loop_.Advance(std::chrono::milliseconds(150));
  EXPECT_EQ(Vips(), 2u);
  std::vector<std::string> calls = TakeCalls();
  ASSERT_FALSE(calls.empty());
  EXPECT_EQ(calls[0].rfind("set-conf", 0), 0u) << calls[0];
}

TEST_F(ControllerTest, AReloadRemovesAFrontendAndAddsOne) {
  Start();
  loop_.Advance(std::chrono::seconds(31));
  TakeCalls();
  std::string yaml = Replace(kConfig, "    static:\n      address: 192.0.2.81",
                             "    other:\n      address: 192.0.2.82");
  pipeline_.Reload(Parse(yaml));
  loop_.RunPosted();
  std::vector<std::string> calls = TakeCalls();
  EXPECT_EQ(calls,
            (std::vector<std::string>{
                "del-as 192.0.2.81/32 tcp/80 127.0.0.3 flush", "del-vip 192.0.2.81/32 tcp/80",
                "add-vip 192.0.2.82/32 tcp/80 encap gre4 new-flows-table-length 1024",
                "add-as 192.0.2.82/32 tcp/80 127.0.0.3 weight 100"}));
}

TEST_F(ControllerTest, OperatorSyncsAndDesiredState) {
  Start();
  loop_.Advance(std::chrono::seconds(31));
  EXPECT_EQ(controller_.Sync(std::string("nope"), nullptr).code(), absl::StatusCode::kNotFound);
  auto desired = controller_.Desired("web");
  ASSERT_TRUE(desired.ok());
  EXPECT_EQ(desired->ases.size(), 2u);
  std::optional<absl::Status> done;
  ASSERT_TRUE(controller_.Sync(std::string("web"), [&](absl::Status st) { done = st; }).ok());
  loop_.RunPosted();
  ASSERT_TRUE(done.has_value());
  EXPECT_TRUE(done->ok());
}

}  // namespace
}  // namespace maglev
