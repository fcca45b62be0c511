// SPDX-License-Identifier: Apache-2.0
// How much a stats scrape costs: a simulated VPP with N VIPs (default 1,000),
// W workers (default 4) and F unrelated directory entries (default 5,000, a
// real VPP's /err, /nodes and /interfaces entries) serves its segment over
// the stats socket; this program connects like maglevd, then measures
//   - one read of the entries maglevd scrapes (the four lb counters,
//     /net/route/to, /sys/boottime, /sys/heartbeat) plus the per-VIP sums,
//   - the same read after an epoch change (the directory is scanned again),
// and prints the CPU share of one such read every 5 s.
//
//   build/bin/bench_stats_scrape [--vips N] [--workers W] [--filler F] [--reads R]
#include <sys/resource.h>

#include <algorithm>
#include <asio/io_context.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "common/ip_address.h"
#include "common/log.h"
#include "vpp/stats_segment.h"
#include "vppsim/lb_model.h"
#include "vppsim/sim_stats.h"
#include "vppsim/stats_server.h"

using namespace maglev;

namespace {

double CpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_THREAD, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
         (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

struct Stats {
  double mean_ms, p50_ms, p99_ms, max_ms, cpu_ms;
};

template <typename F>
Stats Measure(int reads, F&& read) {
  std::vector<double> ms;
  const double cpu0 = CpuSeconds();
  for (int i = 0; i < reads; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    read();
    ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  const double cpu = (CpuSeconds() - cpu0) * 1000 / reads;
  std::sort(ms.begin(), ms.end());
  double sum = 0;
  for (double v : ms) sum += v;
  return {sum / reads, ms[reads / 2], ms[std::min<size_t>(reads - 1, reads * 99 / 100)], ms.back(),
          cpu};
}

}  // namespace

int main(int argc, char** argv) {
  int vips = 1000, workers = 4, filler = 5000, reads = 200;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    const int v = std::atoi(argv[i + 1]);
    if (a == "--vips") vips = v;
    if (a == "--workers") workers = v;
    if (a == "--filler") filler = v;
    if (a == "--reads") reads = std::max(1, v);
  }
  Logger::Get().SetOutput(nullptr);
  vppsim::StatsWriter::Options so;
  so.num_threads = 1 + workers;
  auto stats = vppsim::SimStats::Create(so, 1700000000);
  if (!stats.ok()) return 1;
  double now = 0;
  vppsim::LbModel::Options mo;
  mo.num_threads = 1 + workers;
  vppsim::LbModel model(mo, [&] { return now; });
  model.set_stats_sink(stats->get());
  for (int i = 0; i < filler; ++i)
    (*stats)->writer().AddScalar("/err/node-" + std::to_string(i), i);
  for (int i = 0; i < vips; ++i) {
    vppsim::VipAddDelRequest r;
    r.key.address.af = 0;
    r.key.address.un = {10, static_cast<uint8_t>(i >> 16), static_cast<uint8_t>(i >> 8),
                        static_cast<uint8_t>(i)};
    r.key.len = 32;
    r.key.protocol = 6;
    r.key.port = 80;
    r.new_flows_table_length = 16;
    model.AddDelVip(r);
    LbFlow f;
    f.dst = {10, static_cast<uint8_t>(i >> 16), static_cast<uint8_t>(i >> 8),
             static_cast<uint8_t>(i)};
    f.src = {192, 0, 2, 1};
    for (int p = 0; p < 3; ++p) model.InjectPacket(f, 1 + p % std::max(1, workers), 60);
  }

  asio::io_context io;
  const std::string path =
      (std::filesystem::temp_directory_path() / ("bench-stats-" + std::to_string(getpid())))
          .string();
  vppsim::StatsServer server(io, path, (*stats)->writer().fd());
  if (!server.Start().ok()) return 3;
  std::thread loop([&] { io.run_for(std::chrono::seconds(5)); });
  auto seg = StatsSegment::Connect(path);
  io.stop();
  loop.join();
  server.Stop();
  if (!seg.ok()) {
    std::fprintf(stderr, "%s\n", seg.status().ToString().c_str());
    return 1;
  }
  const std::vector<std::string> names = {"packet from existing sessions",
                                          "first session packet",
                                          "untracked packet",
                                          "no server configured",
                                          "/net/route/to",
                                          "/sys/boottime",
                                          "/sys/heartbeat"};
  uint64_t check = 0;
  auto scrape = [&] {
    auto snap = (*seg)->Read(names);
    if (!snap.ok()) std::abort();
    // What the scraper keeps: per VIP the four counters summed over threads.
    for (int c = 0; c < 4; ++c) {
      const StatsEntry* e = snap->Find(names[c]);
      for (int v = 1; v <= vips; ++v) check += e->SimpleSum(v);
    }
  };
  scrape();  // warm
  Stats steady = Measure(reads, scrape);
  Stats rescan = Measure(std::max(1, reads / 4), [&] {
    (*stats)->writer().SetScalar(0, 0);
    (*stats)->writer().Lock();  // an epoch bump: names resolved again
    (*stats)->writer().Unlock();
    scrape();
  });
  std::printf("stats segment: %d VIPs, %d threads, %zu directory entries, %zu KiB mapped\n", vips,
              1 + workers, static_cast<size_t>(filler + 9), (*seg)->size() / 1024);
  std::printf("one read (same epoch):   mean %.3f ms  p50 %.3f  p99 %.3f  max %.3f  cpu %.3f ms\n",
              steady.mean_ms, steady.p50_ms, steady.p99_ms, steady.max_ms, steady.cpu_ms);
  std::printf("one read (epoch moved):  mean %.3f ms  p50 %.3f  p99 %.3f  max %.3f  cpu %.3f ms\n",
              rescan.mean_ms, rescan.p50_ms, rescan.p99_ms, rescan.max_ms, rescan.cpu_ms);
  std::printf("every 5 s: %.4f %% of a core (same epoch), %.4f %% (epoch moved every time)\n",
              steady.cpu_ms / 5000 * 100, rescan.cpu_ms / 5000 * 100);
  return check == 0 ? 1 : 0;
}
