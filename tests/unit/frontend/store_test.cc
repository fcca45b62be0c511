// SPDX-License-Identifier: Apache-2.0
#include "store.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace maglev::frontend {
namespace {

using nlohmann::json;

constexpr int64_t kNow = 1'800'000'000'000'000'000;

class StoreTest : public ::testing::Test {
 protected:
  StoreTest() : ring_(9, 2000, std::chrono::seconds(30)), store_(ring_, [this] { ++notified_; }) {
    store_.SetClockForTest([] { return kNow; });
    store_.AddMaglevd("r1", "127.0.0.1:9090");
  }

  // Every frame published since `after`, as (event, data).
  std::vector<std::pair<std::string, json>> Events(uint64_t after = 0) {
    std::vector<std::pair<std::string, json>> out;
    auto b = ring_.Collect(after, 1 << 30, EventRing::Clock::now());
    for (const auto& f : b.frames) {
      size_t ev = f->find("event: ") + 7;
      size_t nl = f->find('\n', ev);
      size_t data = f->find("data: ") + 6;
      out.emplace_back(f->substr(ev, nl - ev), json::parse(f->substr(data, f->size() - data - 2)));
    }
    return out;
  }

  static maglev::FrontendInfo Web() {
    maglev::FrontendInfo fe;
    fe.set_name("web");
    fe.set_address("192.0.2.80");
    fe.set_protocol("tcp");
    fe.set_port(80);
    fe.set_state("up");
    fe.set_active_pool("primary");
    auto* pool = fe.add_pools();
    pool->set_name("primary");
    for (const char* n : {"web0", "web1"}) {
      auto* b = pool->add_backends();
      b->set_name(n);
      b->set_weight(100);
      b->set_effective_weight(100);
      b->set_state("up");
      b->set_enabled(true);
      b->set_vpp_weight(100);
    }
    return fe;
  }

  static maglev::BackendInfo Backend(const std::string& name, const std::string& addr) {
    maglev::BackendInfo be;
    be.set_name(name);
    be.set_address(addr);
    be.set_state("up");
    be.set_enabled(true);
    be.add_frontends("web");
    auto* t = be.add_transitions();
    t->set_from("unknown");
    t->set_to("up");
    t->set_at_unix_ns(kNow - 1000);
    return be;
  }

  static maglev::VPPLBState Lb(uint32_t web1_buckets) {
    maglev::VPPLBState s;
    auto* vip = s.add_vips();
    vip->set_prefix("192.0.2.80/32");
    vip->set_protocol(6);
    vip->set_port(80);
    vip->set_encap("gre4");
    vip->set_flow_table_length(1024);
    auto* a = vip->add_application_servers();
    a->set_address("127.0.1.2");
    a->set_weight(100);
    a->set_num_buckets(web1_buckets);
    auto* b = vip->add_application_servers();
    b->set_address("127.0.1.1");
    b->set_weight(100);
    b->set_num_buckets(1024 - web1_buckets);
    return s;
  }

  EventRing ring_;
  int notified_ = 0;
  Store store_;
};

TEST_F(StoreTest, PublishesOnlyRealChanges) {
  uint64_t start = ring_.last_seq();
  store_.PutFrontend("r1", Web());
  store_.PutFrontend("r1", Web());  // the same again: nothing new
  auto ev = Events(start);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].first, "frontend");
  EXPECT_EQ(ev[0].second["maglevd"], "r1");
  EXPECT_EQ(ev[0].second["frontend"]["pools"][0]["backends"][1]["name"], "web1");
  EXPECT_GT(notified_, 0);
}

TEST_F(StoreTest, SnapshotIdCoversExactlyWhatItContains) {
  store_.PutBackend("r1", Backend("web0", "127.0.1.1"));
  json snap = json::parse(store_.StateJson());
  std::string id = snap["event_id"];
  EXPECT_EQ(id, ring_.IdOf(ring_.last_seq()));
  EXPECT_EQ(snap["maglevds"][0]["backends"]["web0"]["address"], "127.0.1.1");
  EXPECT_EQ(snap["maglevds"][0]["status"]["connected"], false);
  // The next change is the next id.
  store_.PutBackend("r1", Backend("web0", "127.0.1.9"));
  auto after = ring_.ResumeAfter(id, EventRing::Clock::now());
  ASSERT_TRUE(after);
  auto ev = Events(*after);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].second["backend"]["address"], "127.0.1.9");
}

TEST_F(StoreTest, ATransitionTurnsTheBackendAndItsFrontendsAtOnce) {
  store_.PutBackend("r1", Backend("web0", "127.0.1.1"));
  store_.PutFrontend("r1", Web());
  uint64_t start = ring_.last_seq();
  maglev::Event ev;
  auto* b = ev.mutable_backend();
  b->set_backend_name("web0");
  b->mutable_transition()->set_from("up");
  b->mutable_transition()->set_to("down");
  b->mutable_transition()->set_at_unix_ns(kNow);
  b->mutable_transition()->set_code("L4CON");
  Dirty d = store_.OnEvent("r1", ev);
  EXPECT_EQ(d.backends, std::set<std::string>{"web0"});
  EXPECT_EQ(d.frontends, std::set<std::string>{"web"});
  EXPECT_FALSE(d.full);
  auto events = Events(start);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].first, "backend");
  EXPECT_EQ(events[0].second["backend"]["state"], "down");
  EXPECT_EQ(events[0].second["backend"]["transitions"][0]["code"], "L4CON");
  EXPECT_EQ(events[0].second["backend"]["transitions"].size(), 2u);
  EXPECT_EQ(events[1].first, "frontend");
  EXPECT_EQ(events[1].second["frontend"]["pools"][0]["backends"][0]["state"], "down");
}

TEST_F(StoreTest, DisableFlipsEnabledAndAnUnknownBackendAsksForAFullRefresh) {
  store_.PutBackend("r1", Backend("web0", "127.0.1.1"));
  maglev::Event ev;
  ev.mutable_backend()->set_backend_name("web0");
  ev.mutable_backend()->mutable_transition()->set_from("up");
  ev.mutable_backend()->mutable_transition()->set_to("disabled");
  store_.OnEvent("r1", ev);
  json snap = json::parse(*store_.MaglevdStateJson("r1"));
  EXPECT_EQ(snap["maglevd"]["backends"]["web0"]["enabled"], false);
  ev.mutable_backend()->set_backend_name("new-one");
  EXPECT_TRUE(store_.OnEvent("r1", ev).full);
}

TEST_F(StoreTest, ProbeRecordsKeepTheLastResultAndTheStreak) {
  auto log = [](const char* msg, const char* ok) {
    maglev::Event ev;
    auto* l = ev.mutable_log();
    l->set_msg(msg);
    l->set_level("debug");
    l->set_at_unix_ns(kNow);
    auto add = [l](const char* k, const char* v) {
      auto* a = l->add_attrs();
      a->set_key(k);
      a->set_value(v);
    };
    add("backend", "web0");
    if (ok) {
      add("ok", ok);
      add("code", std::string(ok) == "true" ? "L7OK" : "L7STS");
      add("detail", "HTTP \xff 503");  // not UTF-8: must not break JSON
      add("elapsed", "1.2ms");
    }
    return ev;
  };
  store_.OnEvent("r1", log("probe-start", nullptr));
  json snap = json::parse(store_.StateJson());
  EXPECT_EQ(snap["maglevds"][0]["probes"]["web0"]["in_flight"], true);
  store_.OnEvent("r1", log("probe-done", "true"));
  store_.OnEvent("r1", log("probe-done", "true"));
  store_.OnEvent("r1", log("probe-done", "false"));
  store_.OnEvent("r1", log("probe-done", "false"));
  store_.OnEvent("r1", log("probe-done", "false"));
  snap = json::parse(store_.StateJson());
  const json& p = snap["maglevds"][0]["probes"]["web0"];
  EXPECT_EQ(p["in_flight"], false);
  EXPECT_EQ(p["streak"], -3);
  EXPECT_EQ(p["code"], "L7STS");
  EXPECT_EQ(p["elapsed"], "1.2ms");
  // Probe records become `probe` events, not `log` events.
  for (const auto& [type, data] : Events()) EXPECT_NE(type, "log");
}

TEST_F(StoreTest, LogRecordsAreForwardedAndSayWhatToFetch) {
  maglev::Event ev;
  ev.mutable_log()->set_msg("lb-sync");
  ev.mutable_log()->set_level("info");
  auto* a = ev.mutable_log()->add_attrs();
  a->set_key("calls");
  a->set_value("3");
  uint64_t start = ring_.last_seq();
  Dirty d = store_.OnEvent("r1", ev);
  EXPECT_TRUE(d.lb_state);
  auto events = Events(start);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].first, "log");
  EXPECT_EQ(events[0].second["attrs"]["calls"], "3");
  EXPECT_EQ(events[1].first, "vpp");
  EXPECT_EQ(events[1].second["vpp"]["last_sync"]["calls"], "3");
  ev.mutable_log()->set_msg("config-reload");
  EXPECT_TRUE(store_.OnEvent("r1", ev).full);
  ev.mutable_log()->set_msg("frontend-pool-weight");
  a->set_key("frontend");
  a->set_value("web");
  EXPECT_EQ(store_.OnEvent("r1", ev).frontends, std::set<std::string>{"web"});
}

TEST_F(StoreTest, JoinsVppBucketsByBackendAddressAndReportsChangedVips) {
  store_.PutBackend("r1", Backend("web0", "127.0.1.1"));
  store_.PutBackend("r1", Backend("web1", "127.0.1.2"));
  store_.PutFrontend("r1", Web());
  maglev::VPPLBState lb = Lb(400);
  EXPECT_EQ(store_.PutLbState("r1", &lb), std::set<std::string>{"web"});
  EXPECT_TRUE(store_.PutLbState("r1", &lb).empty());  // unchanged
  json fe = json::parse(*store_.MaglevdStateJson("r1"))["maglevd"]["frontends"]["web"];
  EXPECT_EQ(fe["pools"][0]["backends"][0]["vpp_buckets"], 624);
  EXPECT_EQ(fe["pools"][0]["backends"][1]["vpp_buckets"], 400);
  EXPECT_EQ(fe["vip"]["ases"][0]["address"], "127.0.1.1");  // sorted
  EXPECT_EQ(fe["vip"]["flow_table_length"], 1024);
  std::string fp = fe["vip"]["fingerprint"];
  maglev::VPPLBState other = Lb(500);
  EXPECT_EQ(store_.PutLbState("r1", &other), std::set<std::string>{"web"});
  fe = json::parse(*store_.MaglevdStateJson("r1"))["maglevd"]["frontends"]["web"];
  EXPECT_NE(fe["vip"]["fingerprint"], fp);
  // VPP unreadable: the VIP is unknown, not missing.
  EXPECT_EQ(store_.PutLbState("r1", nullptr), std::set<std::string>{"web"});
  fe = json::parse(*store_.MaglevdStateJson("r1"))["maglevd"]["frontends"]["web"];
  EXPECT_EQ(fe["vip"]["unknown"], true);
}

TEST(VipView, FingerprintIgnoresOrderAndIdleAses) {
  maglev::VPPLBVIP a, b;
  for (auto* v : {&a, &b}) {
    v->set_encap("gre4");
    v->set_flow_table_length(1024);
  }
  auto add = [](maglev::VPPLBVIP* v, const char* addr, uint32_t w, uint32_t n) {
    auto* as = v->add_application_servers();
    as->set_address(addr);
    as->set_weight(w);
    as->set_num_buckets(n);
  };
  add(&a, "10.0.0.1", 100, 600);
  add(&a, "10.0.0.2", 50, 424);
  add(&b, "10.0.0.2", 50, 424);
  add(&b, "10.0.0.1", 100, 600);
  add(&b, "10.0.0.3", 0, 0);  // left behind for sticky flows: does not hash
  EXPECT_EQ(MakeVipView(a).fingerprint, MakeVipView(b).fingerprint);
  EXPECT_EQ(MakeVipView(a).fingerprint.size(), 16u);
  b.set_flow_table_length(2048);
  EXPECT_NE(MakeVipView(a).fingerprint, MakeVipView(b).fingerprint);
}

TEST_F(StoreTest, RetainRemovesWhatMaglevdNoLongerHas) {
  store_.PutBackend("r1", Backend("web0", "127.0.1.1"));
  store_.PutBackend("r1", Backend("web1", "127.0.1.2"));
  store_.PutFrontend("r1", Web());
  uint64_t start = ring_.last_seq();
  store_.RetainBackends("r1", {"web1"});
  store_.RetainFrontends("r1", {});
  auto events = Events(start);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].first, "backend-removed");
  EXPECT_EQ(events[0].second["name"], "web0");
  EXPECT_EQ(events[1].first, "frontend-removed");
  json snap = json::parse(store_.StateJson());
  EXPECT_TRUE(snap["maglevds"][0]["frontends"].empty());
  EXPECT_EQ(snap["maglevds"][0]["backends"].size(), 1u);
}

TEST_F(StoreTest, HistoryKeepsTheLastHourAndMergesLiveWithFetched) {
  maglev::BackendInfo be = Backend("web0", "127.0.1.1");
  be.clear_transitions();
  for (int i = 0; i < 10; ++i) {  // one every 10 minutes, the oldest 100 minutes ago
    auto* t = be.add_transitions();
    t->set_from(i % 2 ? "up" : "down");
    t->set_to(i % 2 ? "down" : "up");
    t->set_at_unix_ns(kNow - int64_t(i + 1) * 600'000'000'000);
  }
  store_.PutBackend("r1", be);
  store_.PutBackend("r1", be);  // the same records again: no duplicates
  json b = json::parse(store_.StateJson())["maglevds"][0]["backends"]["web0"];
  // 6 within the hour (10..60 min ago) plus the one before it.
  EXPECT_EQ(b["transitions"].size(), 7u);
  EXPECT_GT(b["transitions"][0]["at_ns"].get<int64_t>(),
            b["transitions"][1]["at_ns"].get<int64_t>());
}

TEST_F(StoreTest, StatusEventsOnConnectAndDisconnect) {
  uint64_t start = ring_.last_seq();
  store_.SetConnected("r1", true, "");
  store_.SetConnected("r1", true, "");
  store_.SetConnected("r1", false, "unavailable: refused");
  auto events = Events(start);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].second["status"]["connected"], true);
  EXPECT_EQ(events[1].second["status"]["error"], "unavailable: refused");
  EXPECT_FALSE(store_.MaglevdStateJson("nope"));
  json list = json::parse(store_.MaglevdsJson());
  EXPECT_EQ(list["maglevds"][0]["name"], "r1");
}

}  // namespace
}  // namespace maglev::frontend
