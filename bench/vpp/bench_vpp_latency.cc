// bench_vpp_latency: latency from the probe result that completes `fall` to
// the lb_as_set_weight leaving maglevd, with many backends. It wires the real
// core (Pipeline + DataplaneController on an AsioDispatcher loop thread) and
// the real Reconciler (its own thread) against a real maglev-vppsim process,
// with a scripted ProbeRunner instead of network probes: every probe passes
// until the script marks its backend failing. After everything is up and
// programmed, `--flips` backends (one per frontend where possible) are made
// to fail one after the other, `--spacing-ms` apart. The reconciler records,
// per event batch it sends, the time from the transition on the core loop
// (SyncJob::origin) to the moment the batch is handed to the socket
// (Reconciler::RecentLatencies()); this prints p50/p90/p99/max of those
// samples. Numbers only; nothing is asserted.
//
//   build/bin/bench_vpp_latency --vppsim build/bin/maglev-vppsim [--backends 10000]
//       [--per-frontend 10] [--flips 1000] [--spacing-ms 10] [--sync-interval 30s]
//
// Threads: main (script, measurements), the core loop, the reconciler.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <future>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/dispatcher.h"
#include "common/log.h"
#include "config/loader.h"
#include "core/pipeline.h"
#include "dataplane/controller.h"
#include "prober/prober.h"
#include "sim_process.h"
#include "vpp/lb_client.h"
#include "vpp/lb_session.h"
#include "vpp/reconciler.h"

namespace maglev::bench {
namespace {

using Clock = std::chrono::steady_clock;

// Probes complete on the loop shortly after they start (like a fast real
// probe); a backend in failing_ fails with L4CON. Loop thread only.
class ScriptedRunner : public ProbeRunner {
 public:
  explicit ScriptedRunner(asio::io_context& io) : io_(io) {}
  void Run(const ProbeSpec& spec, std::function<void(ProbeResult)> done) override {
    bool fail = failing_.count(spec.address) > 0;
    asio::post(io_, [done = std::move(done), fail] {
      ProbeResult r;
      r.code = fail ? ProbeCode::kL4Con : ProbeCode::kL4Ok;
      r.detail = fail ? "connection refused" : "";
      r.elapsed = std::chrono::microseconds(50);
      done(std::move(r));
    });
  }
  std::set<IpAddress> failing_;

 private:
  asio::io_context& io_;
};

IpAddress BackendAddress(int i) {
  return IpAddress::V4((10u << 24) | static_cast<uint32_t>(i + 1));
}
IpAddress FrontendAddress(int i) {
  return IpAddress::V4((198u << 24) | (18u << 16) | static_cast<uint32_t>(i));
}

std::string BuildConfig(int backends, int per_frontend, const std::string& sync_interval) {
  std::string y =
      "maglev:\n  vpp:\n    lb:\n      ipv4-src-address: 192.0.2.1\n"
      "      sync-interval: " +
      sync_interval +
      "\n      startup-min-delay: 0s\n      startup-max-delay: 0s\n"
      "  healthchecks:\n    hc:\n      type: tcp\n      port: 80\n      interval: 1s\n"
      "      fast-interval: 100ms\n      down-interval: 1s\n      timeout: 500ms\n"
      "      rise: 2\n      fall: 3\n  backends:\n";
  for (int i = 0; i < backends; ++i)
    y += "    b" + std::to_string(i) + ": { address: " + BackendAddress(i).ToString() +
         ", healthcheck: hc }\n";
  y += "  frontends:\n";
  int frontends = (backends + per_frontend - 1) / per_frontend;
  for (int f = 0; f < frontends; ++f) {
    y += "    fe" + std::to_string(f) + ":\n      address: " + FrontendAddress(f).ToString() +
         "\n      port: 80\n      pools:\n        - name: main\n          backends:\n";
    for (int i = f * per_frontend; i < std::min(backends, (f + 1) * per_frontend); ++i)
      y += "            b" + std::to_string(i) + ": {}\n";
  }
  return y;
}

// Runs fn on the loop and waits for its result.
template <typename T>
T OnLoop(asio::io_context& io, std::function<T()> fn) {
  std::promise<T> p;
  asio::post(io, [&] { p.set_value(fn()); });
  return p.get_future().get();
}

double Percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t idx = static_cast<size_t>(q * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(idx, v.size() - 1)];
}

template <typename Pred>
bool WaitUntil(Pred pred, std::chrono::seconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return pred();
}

int Run(const std::string& sim_binary, int backends, int per_frontend, int flips, int spacing_ms,
        const std::string& sync_interval) {
  TempDir dir;
  // maglevd logs at info by default (a line per transition and per batch):
  // keep that cost in the measurement, but out of the terminal.
  std::string log_path = dir.path() + "/maglev.log";
  FILE* log = std::fopen(log_path.c_str(), "w");
  Logger::Get().SetOutput(log);
  Logger::Get().SetLevel(LogLevel::kInfo);

  auto sim = SimProcess::Start(sim_binary, dir.path(), "vpp");
  if (!sim.ok()) return std::fprintf(stderr, "%s\n", sim.status().ToString().c_str()), 1;
  ConfigResult cfg = ParseConfig(BuildConfig(backends, per_frontend, sync_interval));
  if (!cfg.ok()) return std::fprintf(stderr, "config: %s\n", cfg.error.c_str()), 1;
  const int frontends = static_cast<int>(cfg.config->frontends.size());
  flips = std::min(flips, backends);

  asio::io_context io(1);
  auto work = asio::make_work_guard(io);
  AsioDispatcher dispatcher(io);
  ScriptedRunner runner(io);
  Pipeline pipeline(dispatcher, runner);
  Checker& checker = pipeline.checker();
  ReconcilerOptions ro;
  ro.call_timeout = std::chrono::seconds(30);
  DispatcherThread vpp_loop;
  SocketLbConnector connector((*sim)->socket(), std::chrono::seconds(30));
  Reconciler reconciler(vpp_loop.dispatcher(), connector, ro);
  DataplaneController controller(dispatcher, pipeline.lb(), reconciler);

  std::atomic<int> downs{0};
  pipeline.Start(cfg.config);
  checker.AddListener([&downs](const std::string&, const Transition& t) {
    if (t.to == BackendState::kDown) downs.fetch_add(1);
  });
  controller.Start();
  vpp_loop.Start();
  reconciler.Start();
  std::thread loop([&io] { io.run(); });

  std::printf(
      "%d backends in %d frontends (%d each), tcp check interval 1s, fast-interval "
      "100ms, rise 2, fall 3; scripted probes; real Pipeline + DataplaneController + "
      "Reconciler + maglev-vppsim\n",
      backends, frontends, per_frontend);
  std::fflush(stdout);

  // Everything up (counter at its maximum) and programmed.
  auto t_start = Clock::now();
  const int top = 2 + 3 - 1;
  bool up = WaitUntil(
      [&] {
        return OnLoop<bool>(io, [&] {
          for (const std::string& name : checker.BackendNames()) {
            auto b = checker.GetBackend(name);
            if (!b || b->state != BackendState::kUp || b->counter < top) return false;
          }
          return true;
        });
      },
      std::chrono::seconds(120));
  uint64_t last = ~0ull;
  bool settled = up && WaitUntil(
                           [&] {
                             uint64_t now = reconciler.stats().mutating_calls;
                             bool same = now == last && now > 0;
                             last = now;
                             return same;
                           },
                           std::chrono::seconds(120));
  double ready_s = std::chrono::duration<double>(Clock::now() - t_start).count();
  if (!settled) {
    std::fprintf(stderr, "backends did not all come up / VPP not programmed\n");
  } else {
    std::printf("all up and programmed after %.1fs (%llu lb calls)\n", ready_s,
                static_cast<unsigned long long>(reconciler.stats().mutating_calls));
  }

  // The flips: distinct frontends first, `spacing_ms` apart.
  std::vector<IpAddress> victims;
  for (int k = 0; k < flips; ++k) {
    int f = k % frontends;
    int slot = (k / frontends + k) % per_frontend;
    int idx = std::min(backends - 1, f * per_frontend + slot);
    victims.push_back(BackendAddress(idx));
  }
  size_t n0 = reconciler.RecentLatencies().size();
  ReconcilerStats s0 = reconciler.stats();
  int downs0 = downs.load();
  auto t0 = Clock::now();
  for (int k = 0; k < flips && settled; ++k) {
    std::this_thread::sleep_until(t0 + std::chrono::milliseconds(spacing_ms) * k);
    asio::post(io, [&runner, a = victims[k]] { runner.failing_.insert(a); });
  }
  bool all_down = settled && WaitUntil([&] { return downs.load() - downs0 >= flips; },
                                       std::chrono::seconds(60));
  // Let the last batches go out.
  uint64_t last_calls = ~0ull;
  WaitUntil(
      [&] {
        uint64_t now = reconciler.stats().mutating_calls;
        bool same = now == last_calls;
        last_calls = now;
        return same;
      },
      std::chrono::seconds(30));
  double window_s = std::chrono::duration<double>(Clock::now() - t0).count();
  std::vector<double> all = reconciler.RecentLatencies();
  ReconcilerStats s1 = reconciler.stats();

  // Stop the core first (no more events), then the reconciler.
  OnLoop<bool>(io, [&] {
    pipeline.Stop();
    controller.Stop();
    return true;
  });
  work.reset();
  io.stop();
  loop.join();
  vpp_loop.Run([&] { reconciler.Stop(); });
  vpp_loop.Stop();

  // What VPP ended up with (not timed).
  size_t zero = 0, total = 0;
  {
    LbClient c("bench-verify");
    if (c.Connect((*sim)->socket(), std::chrono::seconds(30)).ok()) {
      if (auto ases = c.DumpAllAses(); ases.ok()) {
        for (const AsInfo& a : *ases) {
          if (!a.active()) continue;
          ++total;
          zero += a.weight.value_or(100) == 0 ? 1 : 0;
        }
      }
    }
  }
  Logger::Get().SetOutput(stderr);  // writes what is queued for `log` first
  if (log) std::fclose(log);

  std::vector<double> samples;
  if (all.size() > n0) samples.assign(all.begin() + static_cast<ptrdiff_t>(n0), all.end());
  for (double& s : samples) s *= 1000.0;  // ms
  double max = samples.empty() ? 0 : *std::max_element(samples.begin(), samples.end());
  std::printf("flipped %d backends down, %d ms apart; %d down transitions seen%s\n", flips,
              spacing_ms, downs.load() - downs0, all_down ? "" : " (NOT all)");
  std::printf(
      "event batches sent: %llu, lb calls: %llu, full syncs during the window: %llu, "
      "window %.1fs\n",
      static_cast<unsigned long long>(s1.sync_runs[0] - s0.sync_runs[0]),
      static_cast<unsigned long long>(s1.mutating_calls - s0.mutating_calls),
      static_cast<unsigned long long>(s1.sync_runs[2] - s0.sync_runs[2]), window_s);
  std::printf("VPP: %zu of %zu active ASes at weight 0\n", zero, total);
  std::printf("latency transition -> lb_as_set_weight handed to the socket (ms), %zu samples:\n",
              samples.size());
  std::printf("  p50 %.3f  p90 %.3f  p99 %.3f  max %.3f\n", Percentile(samples, 0.50),
              Percentile(samples, 0.90), Percentile(samples, 0.99), max);
  return settled && all_down ? 0 : 1;
}

}  // namespace
}  // namespace maglev::bench

int main(int argc, char** argv) {
  std::string sim = "maglev-vppsim";
  int backends = 10000;
  int per_frontend = 10;
  int flips = 1000;
  int spacing_ms = 10;
  std::string sync_interval = "30s";
  CLI::App app{"bench_vpp_latency: health transition to lb_as_set_weight latency"};
  app.add_option("--vppsim", sim, "path of the maglev-vppsim binary")->required();
  app.add_option("--backends", backends, "number of backends")->check(CLI::Range(1, 60000));
  app.add_option("--per-frontend", per_frontend, "backends per frontend")
      ->check(CLI::Range(1, 254));
  app.add_option("--flips", flips, "backends made to fail")->check(CLI::Range(1, 60000));
  app.add_option("--spacing-ms", spacing_ms, "time between two flips")->check(CLI::Range(0, 10000));
  app.add_option("--sync-interval", sync_interval, "periodic full sync (Go duration)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return maglev::bench::Run(sim, backends, per_frontend, flips, spacing_ms, sync_interval);
}
