// SPDX-License-Identifier: Apache-2.0
// The stats-segment reader (src/vpp/stats_segment.h) against the simulator's
// segment (src/vppsim/sim_stats.h): values after injected traffic, an epoch
// bump and in_progress during a read, slot reuse after a removal and after a
// VIP is deleted, more threads than VIPs, the socket handshake (and the ways
// it can fail), the legacy layout, and hostile segments. No sleeps: the
// writer is driven directly, and a read hook injects writes mid-read.
#include "vpp/stats_segment.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <asio/io_context.hpp>
#include <atomic>
#include <cstring>
#include <filesystem>
#include <thread>

#include "common/ip_address.h"
#include "common/log.h"
#include "maglev/flow_hash.h"
#include "maglev/maglev.h"
#include "vppsim/lb_model.h"
#include "vppsim/sim_stats.h"
#include "vppsim/stats_server.h"

namespace maglev {
namespace {

using vppsim::LbModel;
using vppsim::SimStats;

const std::vector<std::string> kLbNames = {"packet from existing sessions", "first session packet",
                                           "untracked packet", "no server configured"};

vppsim::ApiAddress Addr(const std::string& text) {
  IpAddress ip = *IpAddress::Parse(text);
  vppsim::ApiAddress a;
  if (ip.is_v4()) {
    a.af = 0;
    std::memcpy(a.un.data(), ip.v4_bytes(), 4);
  } else {
    a.af = 1;
    a.un = ip.ip46();
  }
  return a;
}

vppsim::ApiVipKey Key(const std::string& addr, uint8_t len, uint8_t protocol, uint16_t port) {
  vppsim::ApiVipKey k;
  k.address = Addr(addr);
  k.len = len;
  k.protocol = protocol;
  k.port = port;
  return k;
}

LbFlow Flow(const std::string& src, const std::string& dst, uint16_t sport, uint16_t dport,
            uint8_t protocol = kIpProtocolTcp) {
  IpAddress s = *IpAddress::Parse(src);
  IpAddress d = *IpAddress::Parse(dst);
  LbFlow f;
  f.ip6 = d.is_v6();
  if (f.ip6) {
    f.src = s.ip46();
    f.dst = d.ip46();
  } else {
    std::memcpy(f.src.data(), s.v4_bytes(), 4);
    std::memcpy(f.dst.data(), d.v4_bytes(), 4);
  }
  f.protocol = protocol;
  f.src_port = sport;
  f.dst_port = dport;
  return f;
}

// A simulated VPP's lb model mirrored into a stats segment.
struct Sim {
  explicit Sim(uint32_t threads, size_t size = 1u << 20) {
    Logger::Get().SetOutput(nullptr);
    vppsim::StatsWriter::Options so;
    so.size = size;
    so.num_threads = threads;
    auto s = SimStats::Create(so, 1700000000);
    EXPECT_TRUE(s.ok()) << s.status();
    stats = std::move(*s);
    LbModel::Options o;
    o.num_threads = threads;
    model = std::make_unique<LbModel>(o, [this] { return now; });
    model->set_stats_sink(stats.get());
  }
  int32_t AddVip(const vppsim::ApiVipKey& key, uint32_t length = 1024) {
    vppsim::VipAddDelRequest r;
    r.key = key;
    r.new_flows_table_length = length;
    return model->AddDelVip(r);
  }
  int32_t DelVip(const vppsim::ApiVipKey& key) {
    vppsim::VipAddDelRequest r;
    r.key = key;
    r.is_del = true;
    return model->AddDelVip(r);
  }
  int32_t AddAs(const vppsim::ApiVipKey& vip, const std::string& as, uint8_t weight = 100) {
    vppsim::AsAddDelRequest r;
    r.vip = vip;
    r.as = Addr(as);
    r.v2 = true;
    r.weight = weight;
    return model->AddDelAs(r);
  }
  std::unique_ptr<StatsSegment> Attach(StatsSegmentOptions options = {}) {
    auto seg = StatsSegment::Attach(stats->writer().data(), stats->writer().size(), options);
    EXPECT_TRUE(seg.ok()) << seg.status();
    return seg.ok() ? std::move(*seg) : nullptr;
  }
  uint32_t VipIndex(const vppsim::ApiVipKey& key) {
    for (uint32_t i : model->VipDump()) {
      const vppsim::LbVip& v = model->vip(i);
      if (v.port == key.port) return i;
    }
    return 0;
  }

  double now = 0;
  std::unique_ptr<SimStats> stats;
  std::unique_ptr<LbModel> model;
};

std::vector<std::string> AllNames() {
  std::vector<std::string> n = {"/sys/heartbeat", "/sys/boottime", "/net/route/to"};
  n.insert(n.end(), kLbNames.begin(), kLbNames.end());
  return n;
}

// The reader sees exactly what the simulator counted, summed over threads.
void ExpectSegmentEqualsModel(StatsSegment& seg, Sim& sim, uint32_t vip_index, uint32_t route_lb) {
  auto snap = seg.Read(AllNames());
  ASSERT_TRUE(snap.ok()) << snap.status();
  for (uint32_t c = 0; c < 4; ++c) {
    const StatsEntry* e = snap->Find(kLbNames[c]);
    ASSERT_NE(e, nullptr) << kLbNames[c];
    EXPECT_EQ(e->type, StatsType::kCounterSimple);
    EXPECT_EQ(e->simple.size(), sim.model->num_threads());
    EXPECT_EQ(e->SimpleSum(vip_index),
              sim.model->VipCounter(static_cast<vppsim::LbVipCounter>(c), vip_index))
        << kLbNames[c];
  }
  const StatsEntry* route = snap->Find("/net/route/to");
  ASSERT_NE(route, nullptr);
  EXPECT_EQ(route->type, StatsType::kCounterCombined);
  EXPECT_EQ(route->CombinedSum(route_lb).packets, sim.model->RoutePackets(route_lb));
}

TEST(StatsSegmentTest, LayoutAndSysEntries) {
  Sim sim(1);
  auto seg = sim.Attach();
  ASSERT_NE(seg, nullptr);
  EXPECT_EQ(seg->layout(), StatsLayout::kV2);
  auto all = seg->ReadAll();
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_GE(all->entries.size(), 5u);
  // Fixed indices 0..2 (22.06+), scalars.
  EXPECT_EQ(all->entries[0].name, "/sys/heartbeat");
  EXPECT_EQ(all->entries[1].name, "/sys/last_stats_clear");
  EXPECT_EQ(all->entries[2].name, "/sys/boottime");
  EXPECT_EQ(all->entries[2].type, StatsType::kScalar);
  EXPECT_EQ(all->entries[2].scalar, 1700000000u);
  EXPECT_EQ(all->entries[0].scalar, 1u);
  sim.stats->Heartbeat();
  auto hb = seg->Read({"/sys/heartbeat"});
  ASSERT_TRUE(hb.ok());
  EXPECT_EQ(hb->entries.at(0).scalar, 2u);
  // The lb counters do not exist before the first VIP (STATS.md §4.2).
  EXPECT_EQ(all->Find("first session packet"), nullptr);
  const auto key = Key("192.0.2.10", 32, 6, 80);
  ASSERT_EQ(sim.AddVip(key), 0);
  auto after = seg->Read(kLbNames);
  ASSERT_TRUE(after.ok());
  ASSERT_EQ(after->entries.size(), 4u);
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ(after->entries[i].name, kLbNames[i]);
}

TEST(StatsSegmentTest, CountersAfterInjectedTrafficEqualTheSimulatorsFlowForFlow) {
  Sim sim(3);  // main + 2 workers
  const auto key = Key("192.0.2.10", 32, 6, 80);
  ASSERT_EQ(sim.AddVip(key), 0);
  const char* ases[] = {"10.0.0.1", "10.0.0.2", "10.0.0.3"};
  for (const char* a : ases) ASSERT_EQ(sim.AddAs(key, a), 0);
  // The AS a new flow lands on, computed independently of the simulator:
  // VPP's flow hash and the Maglev table builder.
  std::vector<MaglevEntry> entries;
  for (const char* a : ases) entries.push_back({IpAddress::Parse(a)->ip46(), 100});
  const std::vector<uint32_t> table = BuildNewFlowTable(entries, 1024);
  uint64_t packets = 0;
  for (int i = 0; i < 200; ++i) {
    LbFlow f = Flow("10.1." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1),
                    "192.0.2.10", static_cast<uint16_t>(40000 + i), 80);
    const uint32_t thread = 1 + i % 2;
    for (int p = 0; p < 3; ++p) {
      auto r = sim.model->InjectPacket(f, thread, 60);
      ASSERT_TRUE(r.has_value());
      ++packets;
      EXPECT_EQ(r->counter, p == 0 ? vppsim::kCounterFirstPacket : vppsim::kCounterNextPacket);
      const uint32_t predicted = table[LbNewFlowBucket(LbFlowHash(f, false), 1024)];
      EXPECT_EQ(sim.model->as(r->as_index).address, entries[predicted].ip46) << i;
    }
  }
  const uint32_t vip = sim.VipIndex(key);
  const uint32_t lb =
      *sim.model->RouteStatsIndex(false, IpAddress::Parse("192.0.2.10")->ip46(), 32);
  auto seg = sim.Attach();
  ASSERT_NE(seg, nullptr);
  ExpectSegmentEqualsModel(*seg, sim, vip, lb);
  auto snap = seg->Read(AllNames());
  ASSERT_TRUE(snap.ok());
  EXPECT_EQ(snap->Find("first session packet")->SimpleSum(vip), 200u);
  EXPECT_EQ(snap->Find("packet from existing sessions")->SimpleSum(vip), 400u);
  EXPECT_EQ(snap->Find("/net/route/to")->CombinedSum(lb), (StatsCombined{packets, packets * 60}));
  // Thread 0 carried nothing; workers 1 and 2 carried 100 flows each.
  EXPECT_EQ(snap->Find("first session packet")->simple[0][vip], 0u);
  EXPECT_EQ(snap->Find("first session packet")->simple[1][vip], 100u);
  EXPECT_EQ(snap->Find("first session packet")->simple[2][vip], 100u);
}

TEST(StatsSegmentTest, NoServerAndPerPortMiss) {
  Sim sim(1);
  const auto key = Key("192.0.2.10", 32, 6, 80);
  ASSERT_EQ(sim.AddVip(key), 0);
  // No AS: "no server configured", and a sticky entry holding AS 0.
  auto r = sim.model->InjectPacket(Flow("10.0.0.9", "192.0.2.10", 1234, 80), 0, 40);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->counter, vppsim::kCounterNoServer);
  // Same prefix, a port no VIP has: the placeholder, index 0.
  r = sim.model->InjectPacket(Flow("10.0.0.9", "192.0.2.10", 1234, 81), 0, 40);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->vip_index, 0u);
  EXPECT_EQ(r->counter, vppsim::kCounterNoServer);
  // Not a VIP route at all: lb never sees it.
  EXPECT_FALSE(sim.model->InjectPacket(Flow("10.0.0.9", "192.0.2.11", 1, 80), 0, 40));
  auto seg = sim.Attach();
  auto snap = seg->Read({"no server configured"});
  ASSERT_TRUE(snap.ok());
  EXPECT_EQ(snap->entries.at(0).SimpleSum(sim.VipIndex(key)), 1u);
  EXPECT_EQ(snap->entries.at(0).SimpleSum(0), 1u);
}

TEST(StatsSegmentTest, EpochBumpDuringAReadIsRetriedAndNamesReResolved) {
  Sim sim(2);
  const auto key = Key("192.0.2.10", 32, 6, 80);
  ASSERT_EQ(sim.AddVip(key), 0);
  StatsSegmentOptions options;
  bool added = false;
  options.after_copy = [&](int attempt) {
    if (attempt == 0 && !added) {
      added = true;
      // A writer adds an entry between our copy and our re-check.
      sim.stats->writer().AddScalar("/test/added", 7);
    }
  };
  auto seg = sim.Attach(options);
  ASSERT_NE(seg, nullptr);
  auto snap = seg->Read({"/sys/boottime", "/test/added"});
  ASSERT_TRUE(snap.ok()) << snap.status();
  EXPECT_EQ(seg->retries(), 1u);
  EXPECT_EQ(seg->directory_scans(), 2u);  // once per epoch seen
  ASSERT_NE(snap->Find("/test/added"), nullptr);
  EXPECT_EQ(snap->Find("/test/added")->scalar, 7u);
  // Same epoch again: the cached names are used, no scan.
  auto again = seg->Read({"/sys/boottime"});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(seg->directory_scans(), 2u);
  EXPECT_EQ(seg->retries(), 1u);
}

TEST(StatsSegmentTest, InProgressDuringAReadIsNeverReturned) {
  Sim sim(1);
  StatsSegmentOptions options;
  options.max_attempts = 3;
  options.max_spin = std::chrono::microseconds(0);
  bool locked = false;
  options.after_copy = [&](int attempt) {
    if (attempt == 0 && !locked) {
      sim.stats->writer().Lock();  // a writer takes the lock mid-read ...
      locked = true;
    }
  };
  auto seg = sim.Attach(options);
  ASSERT_NE(seg, nullptr);
  auto busy = seg->Read({"/sys/boottime"});
  // ... and holds it: no attempt may return, and the read gives up in bounded time.
  EXPECT_EQ(busy.status().code(), absl::StatusCode::kUnavailable) << busy.status();
  sim.stats->writer().SetScalar(2, 42);
  sim.stats->writer().Unlock();
  auto snap = seg->Read({"/sys/boottime"});
  ASSERT_TRUE(snap.ok()) << snap.status();
  EXPECT_EQ(snap->entries.at(0).scalar, 42u);
}

TEST(StatsSegmentTest, RemovedEntrysSlotIsReusedLifo) {
  Sim sim(2);
  auto& w = sim.stats->writer();
  const uint32_t a = w.AddSimpleCounter("/test/a");
  const uint32_t b = w.AddSimpleCounter("/test/b");
  w.Validate(a, 3);
  w.AddSimple(a, 1, 3, 5);
  auto seg = sim.Attach();
  auto snap = seg->Read({"/test/a", "/test/b"});
  ASSERT_TRUE(snap.ok());
  EXPECT_EQ(snap->Find("/test/a")->SimpleSum(3), 5u);
  w.RemoveEntry(a);
  w.RemoveEntry(b);
  snap = seg->Read({"/test/a", "/test/b"});
  ASSERT_TRUE(snap.ok());
  EXPECT_TRUE(snap->entries.empty());
  // Most recently freed first.
  EXPECT_EQ(w.AddSimpleCounter("/test/c"), b);
  EXPECT_EQ(w.AddCombinedCounter("/test/d"), a);
  snap = seg->Read({"/test/a", "/test/c", "/test/d"});
  ASSERT_TRUE(snap.ok());
  ASSERT_EQ(snap->entries.size(), 2u);
  EXPECT_EQ(snap->entries[0].name, "/test/c");
  EXPECT_EQ(snap->entries[1].name, "/test/d");
  EXPECT_EQ(snap->entries[1].type, StatsType::kCounterCombined);
  EXPECT_EQ(snap->entries[1].CombinedSum(3), StatsCombined{});  // fresh, zeroed
}

TEST(StatsSegmentTest, DeletedVipsIndexIsReusedAndZeroed) {
  Sim sim(2);
  const auto a = Key("192.0.2.10", 32, 6, 80);
  ASSERT_EQ(sim.AddVip(a), 0);
  ASSERT_EQ(sim.AddAs(a, "10.0.0.1"), 0);
  const uint32_t index = sim.VipIndex(a);
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(sim.model->InjectPacket(Flow("10.9.9.9", "192.0.2.10", 1000 + i, 80), 1, 40));
  }
  auto seg = sim.Attach();
  auto snap = seg->Read({"first session packet"});
  ASSERT_TRUE(snap.ok());
  EXPECT_EQ(snap->entries.at(0).SimpleSum(index), 5u);
  ASSERT_EQ(sim.DelVip(a), 0);
  // A delete zeroes nothing: the values stay until the index is reused.
  snap = seg->Read({"first session packet"});
  EXPECT_EQ(snap->entries.at(0).SimpleSum(index), 5u);
  // The sticky entries keep the AS (and so the VIP) alive until flushed.
  sim.now = 100;
  sim.model->BackgroundGc();
  EXPECT_EQ(sim.model->num_vip_slots(), 1u);
  sim.model->FlushAllFlowTables();
  sim.now = 200;
  sim.model->BackgroundGc();
  sim.model->BackgroundGc();
  EXPECT_EQ(sim.model->num_vip_slots(), 0u);
  const auto b = Key("198.51.100.1", 32, 17, 53);
  ASSERT_EQ(sim.AddVip(b), 0);
  EXPECT_EQ(sim.VipIndex(b), index);
  snap = seg->Read({"first session packet"});
  EXPECT_EQ(snap->entries.at(0).SimpleSum(index), 0u);
}

TEST(StatsSegmentTest, MoreThreadsThanVips) {
  Sim sim(9);  // main + 8 workers, 2 VIPs
  const auto a = Key("192.0.2.10", 32, 6, 80);
  const auto b = Key("2001:db8::10", 128, 17, 53);
  ASSERT_EQ(sim.AddVip(a), 0);
  ASSERT_EQ(sim.AddVip(b), 0);
  ASSERT_EQ(sim.AddAs(a, "10.0.0.1"), 0);
  for (uint32_t t = 0; t < 9; ++t) {
    for (uint32_t n = 0; n <= t; ++n) {
      ASSERT_TRUE(sim.model->InjectPacket(Flow("10.0.0.5", "192.0.2.10", 5000 + t, 80), t, 40));
      ASSERT_TRUE(
          sim.model->InjectPacket(Flow("2001:db8::5", "2001:db8::10", 5000, 53, 17), t, 60));
    }
  }
  auto seg = sim.Attach();
  auto snap = seg->Read(AllNames());
  ASSERT_TRUE(snap.ok());
  const StatsEntry* first = snap->Find("first session packet");
  const StatsEntry* next = snap->Find("packet from existing sessions");
  const StatsEntry* none = snap->Find("no server configured");
  ASSERT_EQ(first->simple.size(), 9u);
  for (uint32_t t = 0; t < 9; ++t) {
    EXPECT_EQ(first->simple[t].size(), next->simple[t].size());
    EXPECT_EQ(first->simple[t][sim.VipIndex(a)], 1u) << t;
    EXPECT_EQ(next->simple[t][sim.VipIndex(a)], t) << t;
  }
  // VIP b has no AS. A sticky entry holding AS 0 never counts as an existing
  // session: each packet of the flow takes one more slot of its bucket ("no
  // server configured") until the 4 slots are full, then "untracked packet"
  // (STATS.md §5.3). Thread t sent t+1 packets: sum of min(t+1, 4) = 30.
  EXPECT_EQ(none->SimpleSum(sim.VipIndex(b)), 30u);
  EXPECT_EQ(snap->Find("untracked packet")->SimpleSum(sim.VipIndex(b)), 15u);
  EXPECT_EQ(next->SimpleSum(sim.VipIndex(b)), 0u);
  ExpectSegmentEqualsModel(
      *seg, sim, sim.VipIndex(a),
      *sim.model->RouteStatsIndex(false, IpAddress::Parse("192.0.2.10")->ip46(), 32));
}

TEST(StatsSegmentTest, ManyVipsGrowTheVectorsUnderTheLock) {
  Sim sim(2);
  auto seg = sim.Attach();
  uint64_t epoch = 0;
  for (int i = 0; i < 300; ++i) {
    const auto key =
        Key("10.0." + std::to_string(i / 200) + "." + std::to_string(i % 200), 32, 6, 80);
    ASSERT_EQ(sim.AddVip(key, 16), 0);
    if (i % 50 == 0) {
      auto snap = seg->Read(AllNames());
      ASSERT_TRUE(snap.ok()) << snap.status();
      EXPECT_GE(snap->epoch, epoch);
      epoch = snap->epoch;
      EXPECT_GE(snap->Find("first session packet")->simple[1].size(), static_cast<size_t>(i + 2));
    }
  }
}

// A writer thread changing the layout and the counters while a reader thread
// reads: every read is either consistent or retried (ThreadSanitizer: the
// stores and loads meet only through atomics).
TEST(StatsSegmentTest, ConcurrentWriterAndReader) {
  Sim sim(3);
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (int i = 0; i < 400; ++i) {
      const auto key =
          Key("10.1." + std::to_string(i / 200) + "." + std::to_string(i % 200), 32, 6, 80);
      sim.AddVip(key, 16);
      sim.AddAs(key, "10.0.0.1");
      sim.model->InjectPacket(
          Flow("10.9.0.1", "10.1." + std::to_string(i / 200) + "." + std::to_string(i % 200), 7,
               80),
          1 + i % 2, 40);
      if (i % 10 == 0) {
        uint32_t e = sim.stats->writer().AddScalar("/test/tmp", i);
        sim.stats->writer().RemoveEntry(e);
      }
    }
    done = true;
  });
  StatsSegmentOptions options;
  options.max_attempts = 1000;
  auto seg = sim.Attach(options);
  int reads = 0;
  while (!done || reads == 0) {
    auto snap = seg->Read(AllNames());
    if (snap.ok()) {
      ++reads;
      if (const StatsEntry* e = snap->Find("first session packet")) {
        EXPECT_EQ(e->simple.size(), 3u);
      }
    }
  }
  writer.join();
  auto snap = seg->Read(AllNames());
  ASSERT_TRUE(snap.ok());
  uint64_t sum = 0;
  const StatsEntry* e = snap->Find("first session packet");
  for (size_t i = 0; i < 402; ++i) sum += e->SimpleSum(i);
  EXPECT_EQ(sum, 400u);
}

// --- the socket -----------------------------------------------------------

std::string TempSocket(const char* name) {
  std::string dir =
      std::filesystem::temp_directory_path() / ("maglev-stats-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  return dir + "/" + name;
}

TEST(StatsSegmentSocketTest, ConnectReceivesAndMapsTheSegment) {
  Sim sim(2);
  asio::io_context io;
  const std::string path = TempSocket("stats.sock");
  vppsim::StatsServer server(io, path, sim.stats->writer().fd());
  ASSERT_TRUE(server.Start().ok());
  std::thread loop([&] { io.run_for(std::chrono::seconds(10)); });
  auto seg = StatsSegment::Connect(path);
  ASSERT_TRUE(seg.ok()) << seg.status();
  EXPECT_EQ((*seg)->size(), sim.stats->writer().size());
  auto snap = (*seg)->Read({"/sys/boottime"});
  ASSERT_TRUE(snap.ok());
  EXPECT_EQ(snap->entries.at(0).scalar, 1700000000u);
  // A second client gets the same memory.
  auto seg2 = StatsSegment::Connect(path);
  ASSERT_TRUE(seg2.ok()) << seg2.status();
  io.stop();
  loop.join();
  EXPECT_EQ(server.served(), 2u);
  // The writer's changes show through the other process' view of the memfd.
  sim.stats->Heartbeat();
  EXPECT_EQ((*seg)->Read({"/sys/heartbeat"})->entries.at(0).scalar, 2u);
  server.Stop();
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(StatsSegmentSocketTest, NothingListening) {
  auto seg = StatsSegment::Connect(TempSocket("absent.sock"));
  EXPECT_EQ(seg.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(seg.status().message().find("cannot connect to VPP stats socket"), std::string::npos)
      << seg.status();
}

// A peer that accepts and then sends `fd` (or nothing when fd < 0).
void ServeOnce(const std::string& path, int fd, int listen_fd) {
  int c = ::accept(listen_fd, nullptr, nullptr);
  if (c < 0) return;
  char byte = 'x';
  iovec iov{&byte, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (fd >= 0) {
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    cmsghdr* cm = CMSG_FIRSTHDR(&msg);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(cm), &fd, sizeof(int));
  }
  ::sendmsg(c, &msg, MSG_NOSIGNAL);
  ::close(c);
  (void)path;
}

int Listen(const std::string& path) {
  ::unlink(path.c_str());
  int s = ::socket(AF_UNIX, SOCK_SEQPACKET, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  EXPECT_EQ(::bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  EXPECT_EQ(::listen(s, 5), 0);
  return s;
}

TEST(StatsSegmentSocketTest, PeerSendsNoDescriptor) {
  const std::string path = TempSocket("nofd.sock");
  int s = Listen(path);
  std::thread peer([&] { ServeOnce(path, -1, s); });
  auto seg = StatsSegment::Connect(path);
  peer.join();
  ::close(s);
  EXPECT_EQ(seg.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(seg.status().message().find("sent no file descriptor"), std::string::npos)
      << seg.status();
}

TEST(StatsSegmentSocketTest, UnsealedSegmentIsRefused) {
  const std::string path = TempSocket("unsealed.sock");
  int memfd = ::memfd_create("not sealed", MFD_CLOEXEC);
  ASSERT_EQ(::ftruncate(memfd, 8192), 0);
  int s = Listen(path);
  std::thread peer([&] { ServeOnce(path, memfd, s); });
  auto seg = StatsSegment::Connect(path);
  peer.join();
  ::close(s);
  ::close(memfd);
  EXPECT_EQ(seg.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(seg.status().message().find("F_SEAL_SHRINK"), std::string::npos) << seg.status();
}

TEST(StatsSegmentSocketTest, PeerThatNeverAnswersTimesOut) {
  const std::string path = TempSocket("silent.sock");
  int s = Listen(path);  // listens, never accepts
  StatsSegmentOptions options;
  options.connect_timeout = std::chrono::milliseconds(50);
  auto seg = StatsSegment::Connect(path, options);
  ::close(s);
  EXPECT_EQ(seg.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(seg.status().message().find("within 50 ms"), std::string::npos) << seg.status();
}

// --- layouts and hostile segments ------------------------------------------

// A hand-made segment: 8-aligned words, VPP-side pointers = kBase + offset.
struct Builder {
  static constexpr uint64_t kBase = 0x7f0000000000ull;
  std::vector<uint64_t> w = std::vector<uint64_t>(2048, 0);  // 16 KiB
  uint64_t next = 4096;
  void Set(uint64_t off, uint64_t v) { w[off / 8] = v; }
  // A vector of `len` elements of `elt` bytes; returns its data offset.
  uint64_t Vec(uint32_t len, uint64_t elt) {
    uint64_t data = next + 8;
    Set(data - 8, len);
    next = data + (len * elt + 7) / 8 * 8;
    return data;
  }
  uint64_t Ptr(uint64_t off) const { return kBase + off; }
  void Header(uint64_t dir, uint64_t error_vector = 0) {
    Set(0, 2);
    Set(8, kBase);
    Set(16, 1);
    Set(32, Ptr(dir));
    Set(40, error_vector ? Ptr(error_vector) : 0);
  }
  void Entry(uint64_t dir, uint32_t i, uint32_t type, uint64_t value, const std::string& name) {
    const uint64_t e = dir + 144 * i;
    Set(e, type);
    Set(e + 8, value);
    std::memcpy(reinterpret_cast<char*>(w.data()) + e + 16, name.data(), name.size());
  }
  size_t size() const { return w.size() * 8; }
};

TEST(StatsSegmentLayoutTest, VersionsAndLegacyLayout) {
  std::vector<uint64_t> zero(16, 0);
  EXPECT_EQ(StatsSegment::Attach(zero.data(), 128).status().code(),
            absl::StatusCode::kFailedPrecondition);
  zero[0] = 1;
  auto v1 = StatsSegment::Attach(zero.data(), 128);
  EXPECT_NE(v1.status().message().find("version 1"), std::string::npos) << v1.status();
  EXPECT_EQ(StatsSegment::Attach(zero.data(), 40).status().code(),
            absl::StatusCode::kFailedPrecondition);

  // 20.09-22.02: an error vector at offset 40 and the old type numbers.
  Builder b;
  const uint64_t dir = b.Vec(4, 144);
  const uint64_t errors = b.Vec(2, 8);  // two threads
  const uint64_t t0 = b.Vec(3, 8);
  const uint64_t t1 = b.Vec(3, 8);
  b.Set(errors, b.Ptr(t0));
  b.Set(errors + 8, b.Ptr(t1));
  b.Set(t0 + 16, 5);
  b.Set(t1 + 16, 6);
  b.Header(dir, errors);
  b.Entry(dir, 0, 1, 77, "/sys/heartbeat");
  b.Entry(dir, 1, 4, 2, "/err/ip4-input/bad");         // ERROR_INDEX, index 2
  b.Entry(dir, 2, 6, 0, "");                           // legacy EMPTY
  b.Entry(dir, 3, 7, 0x0000000300000000ull, "/link");  // legacy SYMLINK to entry 0, object 3
  auto seg = StatsSegment::Attach(b.w.data(), b.size());
  ASSERT_TRUE(seg.ok()) << seg.status();
  EXPECT_EQ((*seg)->layout(), StatsLayout::kLegacyV2);
  auto all = (*seg)->ReadAll();
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->entries.size(), 3u);
  EXPECT_EQ(all->entries[0].scalar, 77u);
  EXPECT_EQ(all->entries[1].type, StatsType::kErrorIndex);
  EXPECT_EQ(all->entries[1].scalar, 11u);
  EXPECT_EQ(all->entries[2].type, StatsType::kSymlink);
  EXPECT_EQ(all->entries[2].symlink_object, 3u);
}

TEST(StatsSegmentLayoutTest, NameVectorsAndSymlinks) {
  Builder b;
  const uint64_t dir = b.Vec(3, 144);
  const uint64_t threads = b.Vec(1, 8);
  const uint64_t col = b.Vec(2, 16);
  b.Set(threads, b.Ptr(col));
  b.Set(col + 16, 9);   // object 1 packets
  b.Set(col + 24, 99);  // object 1 bytes
  const uint64_t names = b.Vec(3, 8);
  const uint64_t s0 = b.Vec(4, 1);
  std::memcpy(reinterpret_cast<char*>(b.w.data()) + s0, "lo0", 4);
  b.Set(names, b.Ptr(s0));
  b.Set(names + 8, 0);  // a hole keeps its position
  b.Set(names + 16, b.Ptr(s0));
  b.Header(dir);
  b.Entry(dir, 0, 3, b.Ptr(threads), "/if/rx");
  b.Entry(dir, 1, 4, b.Ptr(names), "/if/names");
  b.Entry(dir, 2, 6, 0x0000000100000000ull, "/interfaces/lo0/rx");
  auto seg = StatsSegment::Attach(b.w.data(), b.size());
  ASSERT_TRUE(seg.ok());
  auto all = (*seg)->ReadAll();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->entries.size(), 3u);
  ASSERT_EQ(all->entries[1].names.size(), 3u);
  EXPECT_EQ(all->entries[1].names[0], "lo0");
  EXPECT_FALSE(all->entries[1].names[1].has_value());
  EXPECT_EQ(all->entries[2].CombinedSum(0), (StatsCombined{9, 99}));
}

TEST(StatsSegmentLayoutTest, HostilePointersAndLengthsAreContained) {
  Builder b;
  const uint64_t dir = b.Vec(5, 144);
  const uint64_t threads = b.Vec(2, 8);
  b.Header(dir);
  b.Set(threads, b.Ptr(b.size() - 8));  // data vector at the very end
  b.Set(threads + 8, b.Ptr(8));         // points into the header
  b.Entry(dir, 0, 2, b.Ptr(threads), "/bad/a");
  b.Entry(dir, 1, 2, 0x1234, "/bad/below-base");    // below base
  b.Entry(dir, 2, 3, b.Ptr(b.size()), "/bad/end");  // one past the end
  b.Entry(dir, 3, 6, 0xffffffffffffffffull, "/bad/link");
  b.Entry(dir, 4, 2, b.Ptr(threads) + 4, "/bad/misaligned");
  auto seg = StatsSegment::Attach(b.w.data(), b.size());
  ASSERT_TRUE(seg.ok());
  auto all = (*seg)->ReadAll();
  ASSERT_TRUE(all.ok()) << all.status();
  for (const StatsEntry& e : all->entries) {
    for (const auto& t : e.simple) EXPECT_LE(t.size(), b.size() / 8);
  }
  // A length past the mapping: the vector is ignored, not read.
  b.Set(dir - 8, 0xffffffff);
  auto again = (*seg)->ReadAll();
  EXPECT_EQ(again.status().code(), absl::StatusCode::kDataLoss) << again.status();
  // Directory pointer outside the segment.
  b.Set(32, 0);
  EXPECT_EQ((*seg)->ReadAll().status().code(), absl::StatusCode::kDataLoss);
}

TEST(StatsSegmentLayoutTest, CopyBudgetBoundsAHostileSegment) {
  // Every entry points at one vector of many threads, each a big column: the
  // output would be entries x threads x column; the budget stops it.
  Builder b;
  b.w.resize(1 << 17);  // 1 MiB
  const uint64_t dir = b.Vec(20, 144);
  const uint64_t col = b.Vec(60000, 8);
  const uint64_t threads = b.Vec(1000, 8);
  for (int t = 0; t < 1000; ++t) b.Set(threads + 8 * t, b.Ptr(col));
  b.Header(dir);
  for (uint32_t i = 0; i < 20; ++i) b.Entry(dir, i, 2, b.Ptr(threads), "/x" + std::to_string(i));
  StatsSegmentOptions options;
  options.max_copy_bytes = 16u << 20;
  auto seg = StatsSegment::Attach(b.w.data(), b.size(), options);
  ASSERT_TRUE(seg.ok());
  EXPECT_EQ((*seg)->ReadAll().status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ((*seg)->Read({"/x3"}).status().code(), absl::StatusCode::kResourceExhausted);
}

TEST(StatsSegmentLayoutTest, AStaleNameIsNotReadWithoutAnEpochChange) {
  Builder b;
  const uint64_t dir = b.Vec(2, 144);
  b.Header(dir);
  b.Entry(dir, 0, 1, 5, "/a");
  b.Entry(dir, 1, 1, 6, "/b");
  auto seg = StatsSegment::Attach(b.w.data(), b.size());
  ASSERT_TRUE(seg.ok());
  ASSERT_EQ((*seg)->Read({"/a"})->entries.size(), 1u);
  // VPP's removal step 2: the slot becomes EMPTY without an epoch bump.
  b.Entry(dir, 0, 5, 0xffffffff, std::string(8, '\0'));
  auto snap = (*seg)->Read({"/a", "/b"});
  ASSERT_TRUE(snap.ok());
  ASSERT_EQ(snap->entries.size(), 1u);
  EXPECT_EQ(snap->entries[0].name, "/b");
  EXPECT_EQ((*seg)->directory_scans(), 2u);  // re-resolved
}

}  // namespace
}  // namespace maglev

namespace maglev {
namespace {

// Writes the fuzz target's seed corpus (tests/fuzz/corpus/stats_segment/)
// when MAGLEV_WRITE_STATS_CORPUS names a directory: small simulator segments
// with traffic, and the legacy layout.
TEST(StatsSegmentCorpus, WriteSeedsWhenAsked) {
  const char* dir = std::getenv("MAGLEV_WRITE_STATS_CORPUS");
  if (dir == nullptr) GTEST_SKIP() << "set MAGLEV_WRITE_STATS_CORPUS=DIR to write the seeds";
  auto write = [&](const std::string& name, const uint8_t* data, size_t size) {
    FILE* f = std::fopen((std::string(dir) + "/" + name).c_str(), "wb");
    ASSERT_NE(f, nullptr);
    std::fwrite(data, 1, size, f);
    std::fclose(f);
  };
  for (uint32_t threads : {1u, 3u}) {
    Sim sim(threads, 16384);
    const auto key = Key("192.0.2.10", 32, 6, 80);
    ASSERT_EQ(sim.AddVip(key, 16), 0);
    ASSERT_EQ(sim.AddAs(key, "10.0.0.1"), 0);
    ASSERT_EQ(sim.AddVip(Key("2001:db8::1", 128, 17, 53), 16), 0);
    for (int i = 0; i < 5; ++i) {
      sim.model->InjectPacket(Flow("10.0.0.9", "192.0.2.10", 100 + i, 80), i % threads, 40);
    }
    uint32_t e = sim.stats->writer().AddScalar("/test/removed", 1);
    sim.stats->writer().RemoveEntry(e);
    write("sim-" + std::to_string(threads) + "-threads", sim.stats->writer().data(),
          sim.stats->writer().size());
  }
}

}  // namespace
}  // namespace maglev
