// SPDX-License-Identifier: Apache-2.0
// The scrape loop against the simulator's stats socket: per-VIP sums and
// route counters after traffic, off and unreachable as clear Unavailable
// errors, a frozen heartbeat dropping the mapping, and the loop on its own
// thread (TSan: Latest() from another thread).
#include "vpp/stats_scraper.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <asio/io_context.hpp>
#include <filesystem>
#include <thread>

#include "common/log.h"
#include "vppsim/lb_model.h"
#include "vppsim/sim_stats.h"
#include "vppsim/stats_server.h"

namespace maglev {
namespace {

struct SimVpp {
  SimVpp() {
    Logger::Get().SetOutput(nullptr);
    vppsim::StatsWriter::Options so;
    so.size = 1 << 20;
    so.num_threads = 3;
    stats = std::move(*vppsim::SimStats::Create(so, 1700000000));
    vppsim::LbModel::Options o;
    o.num_threads = 3;
    model = std::make_unique<vppsim::LbModel>(o, [] { return 0.0; });
    model->set_stats_sink(stats.get());
    path = (std::filesystem::temp_directory_path() /
            ("maglev-scraper-" + std::to_string(::getpid()) + ".sock"))
               .string();
    server = std::make_unique<vppsim::StatsServer>(io, path, stats->writer().fd());
    EXPECT_TRUE(server->Start().ok());
    loop = std::thread([this] { io.run_for(std::chrono::seconds(20)); });
  }
  ~SimVpp() {
    io.stop();
    loop.join();
  }
  asio::io_context io;
  std::unique_ptr<vppsim::SimStats> stats;
  std::unique_ptr<vppsim::LbModel> model;
  std::string path;
  std::unique_ptr<vppsim::StatsServer> server;
  std::thread loop;
};

TEST(StatsScraperTest, OffAndUnreachable) {
  StatsScraper off({});
  off.ScrapeOnce();
  EXPECT_EQ(off.Latest().status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(off.Latest().status().message().find("disabled"), std::string::npos);
  StatsScraper::Options o;
  o.socket_path = "/nonexistent/stats.sock";
  StatsScraper away(o);
  away.ScrapeOnce();
  EXPECT_EQ(away.Latest().status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(away.Latest().status().message().find("/nonexistent/stats.sock"), std::string::npos)
      << away.Latest().status();
}

TEST(StatsScraperTest, SumsAfterTraffic) {
  SimVpp sim;
  vppsim::VipAddDelRequest r;
  r.key.address.un = {192, 0, 2, 10};
  r.key.len = 32;
  r.key.protocol = 6;
  r.key.port = 80;
  r.new_flows_table_length = 16;
  ASSERT_EQ(sim.model->AddDelVip(r), 0);
  LbFlow f;
  f.dst = {192, 0, 2, 10};
  f.src = {10, 0, 0, 1};
  f.dst_port = 80;
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(sim.model->InjectPacket(f, i % 3, 40));
  StatsScraper::Options o;
  o.socket_path = sim.path;
  StatsScraper scraper(o);
  scraper.ScrapeOnce();
  auto s = scraper.Latest();
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->boottime_s, 1700000000u);
  // 6 packets, no AS, 2 per thread: each takes a slot as "no server configured".
  EXPECT_EQ(s->Vip(1)[3], 6u);
  const uint32_t lb =
      *sim.model->RouteStatsIndex(false, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 192, 0, 2, 10}, 32);
  EXPECT_EQ(s->Route(lb), (StatsCombined{6, 240}));
  EXPECT_EQ(s->Vip(999), (std::array<uint64_t, 4>{}));
}

TEST(StatsScraperTest, FrozenHeartbeatDropsTheMapping) {
  SimVpp sim;
  StatsScraper::Options o;
  o.socket_path = sim.path;
  o.heartbeat_stall = std::chrono::milliseconds(0);
  StatsScraper scraper(o);
  scraper.ScrapeOnce();  // first sample: heartbeat 1
  ASSERT_TRUE(scraper.Latest().ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(2));  // past a 0 ms stall bound
  scraper.ScrapeOnce();
  EXPECT_NE(scraper.Latest().status().message().find("heartbeat has not moved"), std::string::npos)
      << scraper.Latest().status();
  sim.stats->Heartbeat();
  scraper.ScrapeOnce();  // reconnects
  EXPECT_TRUE(scraper.Latest().ok());
}

TEST(StatsScraperTest, LoopOnItsOwnThread) {
  SimVpp sim;
  StatsScraper::Options o;
  o.socket_path = sim.path;
  o.interval = std::chrono::milliseconds(1);
  StatsScraper scraper(o);
  scraper.Start();
  absl::StatusOr<StatsSample> s = scraper.Latest();
  for (int i = 0; i < 2000 && !s.ok(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    s = scraper.Latest();
  }
  scraper.Stop();
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->boottime_s, 1700000000u);
}

// The index from `show lb vips verbose` keys each VIP's counters; a
// deleted VIP (removed, awaiting GC) is not reported, and the previous
// sample is kept next to the latest.
TEST(StatsScraperTest, IndexKeysCountersAndPreviousSampleIsKept) {
  SimVpp sim;
  auto add = [&](uint8_t last, uint16_t port, bool del = false) {
    vppsim::VipAddDelRequest r;
    r.key.address.un = {192, 0, 2, last};
    r.key.len = 32;
    r.key.protocol = 6;
    r.key.port = port;
    r.new_flows_table_length = 16;
    r.is_del = del;
    ASSERT_EQ(sim.model->AddDelVip(r), 0);
  };
  add(10, 80);
  add(11, 443);
  auto inject = [&](uint8_t last, uint16_t port, int n) {
    LbFlow f;
    f.dst = {192, 0, 2, last};
    f.src = {10, 0, 0, 1};
    f.dst_port = port;
    for (int i = 0; i < n; ++i) ASSERT_TRUE(sim.model->InjectPacket(f, 0, 40));
  };
  inject(11, 443, 3);
  int resolves = 0;
  StatsScraper::Options o;
  o.socket_path = sim.path;
  o.resolve_index = [&]() -> absl::StatusOr<std::vector<StatsVipIndex>> {
    ++resolves;
    return StatsIndexFromCli(sim.model->ShowVips(true));
  };
  StatsScraper scraper(o);
  scraper.ScrapeOnce();
  EXPECT_EQ(resolves, 1);
  auto s = scraper.Latest();
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_FALSE(scraper.Previous().has_value());
  const VipKey k10 = VipKey::Host(*IpAddress::Parse("192.0.2.10"), 6, 80);
  const VipKey k11 = VipKey::Host(*IpAddress::Parse("192.0.2.11"), 6, 443);
  StatsVipCounters c11 = s->ForVip(k11);
  EXPECT_TRUE(c11.in_vpp);
  EXPECT_EQ(c11.pool_index, 2u);
  EXPECT_EQ(c11.lb[3], 3u);
  EXPECT_EQ(s->ForVip(k10).lb, (std::array<uint64_t, 4>{}));
  EXPECT_TRUE(s->ForVip(k10).in_vpp);
  EXPECT_FALSE(s->ForVip(VipKey::Host(*IpAddress::Parse("192.0.2.12"), 6, 80)).in_vpp);

  inject(11, 443, 2);
  add(10, 80, /*del=*/true);  // removed, awaiting GC: listed " removed"
  scraper.ScrapeOnce();
  auto [latest, previous] = scraper.LatestTwo();
  ASSERT_TRUE(latest.ok());
  ASSERT_TRUE(previous.has_value());
  // No AS: every packet counts once, as "no server configured" or, once the
  // flow's AS-0 sticky entries fill its bucket, "untracked packet".
  auto total = [](const StatsVipCounters& c) { return c.lb[0] + c.lb[1] + c.lb[2] + c.lb[3]; };
  EXPECT_EQ(total(latest->ForVip(k11)), 5u);
  EXPECT_EQ(total(previous->ForVip(k11)), 3u);
  EXPECT_FALSE(latest->ForVip(k10).in_vpp);
  EXPECT_TRUE(previous->ForVip(k10).in_vpp);

  // A failing resolver does not fail the sample; it says why.
  o.resolve_index = []() -> absl::StatusOr<std::vector<StatsVipIndex>> {
    return absl::UnavailableError("no API");
  };
  StatsScraper lonely(o);
  lonely.ScrapeOnce();
  ASSERT_TRUE(lonely.Latest().ok());
  EXPECT_EQ(lonely.Latest()->index_error, "no API");
  EXPECT_FALSE(lonely.Latest()->ForVip(k11).in_vpp);
}

TEST(StatsScraperTest, IndexFromCliSkipsThePlaceholderAndKeepsRemoved) {
  const std::string text =
      " ip4-gre4 [1] 192.0.2.10/32 removed\n  new_size:16\n  protocol:6 port:80\n"
      " ip4-gre4 [2] 192.0.2.10/32\n  new_size:16\n  protocol:6 port:80\n";
  std::vector<StatsVipIndex> idx = StatsIndexFromCli(text);
  ASSERT_EQ(idx.size(), 2u);
  EXPECT_TRUE(idx[0].removed);
  EXPECT_FALSE(idx[1].removed);
  StatsSample s;
  s.index = idx;
  s.vip = {{}, {9, 9, 9, 9}, {1, 2, 3, 4}};
  StatsVipCounters c = s.ForVip(VipKey::Host(*IpAddress::Parse("192.0.2.10"), 6, 80));
  EXPECT_EQ(c.pool_index, 2u);
  EXPECT_EQ(c.lb, (std::array<uint64_t, 4>{1, 2, 3, 4}));
}

}  // namespace
}  // namespace maglev
