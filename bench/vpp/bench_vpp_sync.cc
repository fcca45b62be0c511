// bench_vpp_sync: how fast a full sync of N VIPs x M ASes lands in an empty
// maglev-vppsim, with every request pipelined in one LbClient::Execute batch
// versus one request at a time (each waits for its reply), and through the
// real Reconciler (conf check, dumps, diff, pipelined apply). Then an idle
// full sync over the same state, counting its mutating calls (should be 0).
// Each mode gets a fresh simulator. Prints numbers; asserts nothing on time.
//
//   build/bin/bench_vpp_sync --vppsim build/bin/maglev-vppsim [--vips 1000] [--ases 32]
//
// Single-threaded apart from the Reconciler's own thread.
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "common/ip_address.h"
#include "common/log.h"
#include "sim_process.h"
#include "vpp/desired.h"
#include "vpp/lb_client.h"
#include "vpp/lb_session.h"
#include "vpp/reconciler.h"

namespace maglev::bench {
namespace {

using Clock = std::chrono::steady_clock;

double Since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

IpAddress VipAddress(int i) { return IpAddress::V4((198u << 24) | (18u << 16) | (i & 0xffff)); }
IpAddress AsAddress(int vip, int as) {
  return IpAddress::V4((10u << 24) | (static_cast<uint32_t>(vip) << 8) | (as + 1));
}

std::vector<DesiredVip> BuildDesired(int vips, int ases) {
  std::vector<DesiredVip> out;
  for (int v = 0; v < vips; ++v) {
    DesiredVip d;
    d.frontend = "fe" + std::to_string(v);
    d.spec.key = VipKey::Host(VipAddress(v), kLbProtoTcp, 80).Normalized();
    d.spec.encap = LbEncap::kGre4;
    d.spec.new_flows_table_length = 1024;
    for (int a = 0; a < ases; ++a)
      d.ases.push_back(DesiredAs{"be" + std::to_string(a), AsAddress(v, a), 100, false});
    out.push_back(std::move(d));
  }
  return out;
}

std::vector<LbCall> BuildCalls(const std::vector<DesiredVip>& desired) {
  std::vector<LbCall> calls;
  for (const DesiredVip& d : desired) {
    calls.push_back(LbAddVip{d.spec});
    for (const DesiredAs& a : d.ases) calls.push_back(LbAddAs{d.spec.key, a.address, a.weight});
  }
  return calls;
}

// Counts live VIPs and active ASes (not timed).
bool Verify(const std::string& socket, int vips, int ases, std::string* why) {
  LbClient c("bench-verify");
  if (!c.Connect(socket, std::chrono::seconds(10)).ok()) {
    *why = "cannot connect to verify";
    return false;
  }
  auto v = c.DumpVips();
  auto a = c.DumpAllAses();
  if (!v.ok() || !a.ok()) {
    *why = "dump failed";
    return false;
  }
  size_t active = 0;
  for (const AsInfo& x : *a) active += x.active() ? 1 : 0;
  if (v->size() != static_cast<size_t>(vips) || active != static_cast<size_t>(vips * ases)) {
    *why = "simulator holds " + std::to_string(v->size()) + " VIPs / " + std::to_string(active) +
           " active ASes";
    return false;
  }
  return true;
}

struct Row {
  std::string mode;
  uint64_t requests = 0;
  uint64_t mutating = 0;
  double seconds = 0;
  double sim_cpu = 0;
  double own_cpu = 0;
  std::string note;
};

void Print(const Row& r) {
  std::printf("%-34s %9llu %9llu %9.3f %11.0f %9.2f %9.2f  %s\n", r.mode.c_str(),
              static_cast<unsigned long long>(r.requests),
              static_cast<unsigned long long>(r.mutating), r.seconds,
              r.seconds > 0 ? r.requests / r.seconds : 0.0, r.own_cpu, r.sim_cpu, r.note.c_str());
  std::fflush(stdout);
}

int Run(const std::string& sim_binary, int vips, int ases) {
  Logger::Get().SetLevel(LogLevel::kError);
  TempDir dir;
  const std::vector<DesiredVip> desired = BuildDesired(vips, ases);
  const std::vector<LbCall> calls = BuildCalls(desired);
  std::printf(
      "full sync of %d VIPs x %d ASes (weight 100, table 1024) into an empty "
      "maglev-vppsim: %zu lb requests\n\n",
      vips, ases, calls.size());
  std::printf("%-34s %9s %9s %9s %11s %9s %9s\n", "mode", "requests", "mutating", "wall s",
              "requests/s", "own cpu s", "sim cpu s");

  // 1. Everything in one pipelined batch.
  {
    auto sim = SimProcess::Start(sim_binary, dir.path(), "pipelined");
    if (!sim.ok()) return std::fprintf(stderr, "%s\n", sim.status().ToString().c_str()), 1;
    LbClient c("bench-pipelined");
    if (!c.Connect((*sim)->socket(), std::chrono::seconds(30)).ok()) return 1;
    double cpu0 = ProcessCpuSeconds((*sim)->pid());
    double own0 = ProcessCpuSeconds(getpid());
    auto t0 = Clock::now();
    std::vector<absl::Status> res = c.Execute(calls);
    Row r;
    r.mode = "pipelined (one Execute batch)";
    r.requests = r.mutating = calls.size();
    r.seconds = Since(t0);
    r.own_cpu = ProcessCpuSeconds(getpid()) - own0;
    r.sim_cpu = ProcessCpuSeconds((*sim)->pid()) - cpu0;
    size_t failed = 0;
    for (const auto& s : res) failed += s.ok() ? 0 : 1;
    std::string why;
    r.note = failed ? std::to_string(failed) + " failed"
                    : (Verify((*sim)->socket(), vips, ases, &why) ? "verified" : why);
    Print(r);
  }

  // 2. One request at a time: each waits for its reply before the next.
  {
    auto sim = SimProcess::Start(sim_binary, dir.path(), "sequential");
    if (!sim.ok()) return std::fprintf(stderr, "%s\n", sim.status().ToString().c_str()), 1;
    LbClient c("bench-sequential");
    if (!c.Connect((*sim)->socket(), std::chrono::seconds(30)).ok()) return 1;
    double cpu0 = ProcessCpuSeconds((*sim)->pid());
    double own0 = ProcessCpuSeconds(getpid());
    size_t failed = 0;
    auto t0 = Clock::now();
    for (const LbCall& call : calls) {
      std::vector<absl::Status> res = c.Execute({call});
      failed += res.front().ok() ? 0 : 1;
    }
    Row r;
    r.mode = "one request at a time";
    r.requests = r.mutating = calls.size();
    r.seconds = Since(t0);
    r.own_cpu = ProcessCpuSeconds(getpid()) - own0;
    r.sim_cpu = ProcessCpuSeconds((*sim)->pid()) - cpu0;
    std::string why;
    r.note = failed ? std::to_string(failed) + " failed"
                    : (Verify((*sim)->socket(), vips, ases, &why) ? "verified" : why);
    Print(r);
  }

  // 3. The real Reconciler: a kFull SyncJob into an empty simulator, then
  //    an idle one over the same state.
  {
    auto sim = SimProcess::Start(sim_binary, dir.path(), "reconciler");
    if (!sim.ok()) return std::fprintf(stderr, "%s\n", sim.status().ToString().c_str()), 1;
    ReconcilerOptions ro;
    ro.call_timeout = std::chrono::seconds(30);
    DispatcherThread loop;
    SocketLbConnector connector((*sim)->socket(), std::chrono::seconds(30));
    Reconciler rec(loop.dispatcher(), connector, ro);
    loop.Start();
    rec.Start();
    for (int i = 0; i < 400 && !rec.connected(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    if (!rec.connected()) return std::fprintf(stderr, "reconciler did not connect\n"), 1;
    LbConf conf;
    conf.ip4_src_address = *IpAddress::Parse("192.0.2.1");
    conf.ip6_src_address = *IpAddress::Parse("2001:db8::1");
    conf.sticky_buckets_per_core = 65536;
    conf.flow_timeout = 40;
    for (int round = 0; round < 2; ++round) {
      SyncJob job;
      job.kind = SyncJob::Kind::kFull;
      job.vips = desired;
      job.conf = conf;
      std::promise<absl::Status> done;
      job.done = [&done](absl::Status s) { done.set_value(s); };
      ReconcilerStats s0 = rec.stats();
      uint64_t api0 = rec.api_counters()->total_calls();
      double cpu0 = ProcessCpuSeconds((*sim)->pid());
      double own0 = ProcessCpuSeconds(getpid());
      auto t0 = Clock::now();
      rec.Submit(std::move(job));
      absl::Status st = done.get_future().get();
      Row r;
      r.mode = round == 0 ? "reconciler full sync (empty VPP)" : "reconciler full sync (idle)";
      r.seconds = Since(t0);
      r.sim_cpu = ProcessCpuSeconds((*sim)->pid()) - cpu0;
      r.own_cpu = ProcessCpuSeconds(getpid()) - own0;
      r.requests = rec.api_counters()->total_calls() - api0;
      r.mutating = rec.stats().mutating_calls - s0.mutating_calls;
      std::string why;
      r.note = !st.ok() ? std::string(st.message())
                        : (Verify((*sim)->socket(), vips, ases, &why) ? "verified" : why);
      Print(r);
    }
    loop.Run([&] { rec.Stop(); });
    loop.Stop();
  }
  std::printf(
      "\nrequests = lb API requests sent (a dump counts once; its details are not counted);\n"
      "mutating = lb calls that change state. Idle full sync: conf get + 2 dumps, 0 mutating.\n");
  return 0;
}

}  // namespace
}  // namespace maglev::bench

int main(int argc, char** argv) {
  std::string sim = "maglev-vppsim";
  int vips = 1000;
  int ases = 32;
  CLI::App app{"bench_vpp_sync: full sync into maglev-vppsim, pipelined vs one at a time"};
  app.add_option("--vppsim", sim, "path of the maglev-vppsim binary")->required();
  app.add_option("--vips", vips, "number of VIPs")->check(CLI::Range(1, 65535));
  app.add_option("--ases", ases, "ASes per VIP")->check(CLI::Range(1, 254));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return maglev::bench::Run(sim, vips, ases);
}
