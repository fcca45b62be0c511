// SPDX-License-Identifier: Apache-2.0
// The alternative we measured maglevd-frontend's HTTP layer against
// (docs/design.md, docs/benchmarks.md): Debian's cpp-httplib serving the same
// SSE fan-out from the same EventRing, with the same frames, at the same
// synthetic event rate, plus the small API calls. cpp-httplib runs one
// blocking worker thread per connection, so its pool must be as large as the
// number of streams plus the API connections (--threads).
//
//   bench_httplib_sse --listen 127.0.0.1:18091 --threads 520 --rate 1000
// then bench_frontend_load --target 127.0.0.1:18091 --paths /healthz,/view/api/version
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>

#include "event_ring.h"

int main(int argc, char** argv) {
  std::string host = "127.0.0.1";
  int port = 18091;
  size_t threads = 520;
  double rate = 1000;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i], v = argv[i + 1];
    if (a == "--listen") {
      host = v.substr(0, v.rfind(':'));
      port = std::atoi(v.substr(v.rfind(':') + 1).c_str());
    } else if (a == "--threads") {
      threads = std::strtoul(v.c_str(), nullptr, 10);
    } else if (a == "--rate") {
      rate = std::atof(v.c_str());
    }
  }
  using Clock = maglev::frontend::EventRing::Clock;
  maglev::frontend::EventRing ring(1, 2000, std::chrono::seconds(30));
  std::mutex mu;
  std::condition_variable cv;
  std::atomic<bool> stop{false};

  // The same kind of events as bench_maglevd's, paced every 10 ms; readers
  // are woken every 25 ms like maglevd-frontend's flush.
  std::thread gen([&] {
    auto next = Clock::now();
    double carry = 0;
    uint64_t n = 0;
    auto last_wake = Clock::now();
    while (!stop) {
      next += std::chrono::milliseconds(10);
      std::this_thread::sleep_until(next);
      carry += rate * 0.01;
      int count = static_cast<int>(carry);
      carry -= count;
      for (int k = 0; k < count; ++k, ++n) {
        char data[256];
        std::snprintf(data, sizeof data,
                      "{\"at_ns\":1796354117054502504,\"backend\":\"be%04llu\",\"code\":\"L7OK\","
                      "\"detail\":\"HTTP 200\",\"elapsed\":\"1.234ms\",\"maglevd\":\"r1\",\"ok\":"
                      "true,\"phase\":\"done\",\"streak\":11}",
                      static_cast<unsigned long long>(n % 2000));
        ring.Append("probe", data, Clock::now());
      }
      if (Clock::now() - last_wake >= std::chrono::milliseconds(25)) {
        last_wake = Clock::now();
        cv.notify_all();
      }
    }
  });

  httplib::Server svr;
  svr.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  svr.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("{\"status\":\"ok\"}", "application/json");
  });
  svr.Get("/view/api/version", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("{\"version\":\"bench\"}", "application/json");
  });
  svr.Get("/view/api/events", [&](const httplib::Request&, httplib::Response& res) {
    res.set_header("Cache-Control", "no-cache");
    res.set_header("X-Accel-Buffering", "no");
    auto cursor = std::make_shared<uint64_t>(ring.last_seq());
    res.set_content_provider("text/event-stream", [&, cursor](size_t, httplib::DataSink& sink) {
      for (;;) {
        auto b = ring.Collect(*cursor, 256 * 1024, Clock::now());
        if (b.gap) {
          *cursor = ring.last_seq();
          continue;
        }
        if (!b.frames.empty()) {
          std::string out;
          for (const auto& f : b.frames) out += *f;
          *cursor = b.last_seq;
          return sink.write(out.data(), out.size());
        }
        std::unique_lock lock(mu);
        cv.wait_for(lock, std::chrono::seconds(15));
        if (stop) return false;
      }
    });
  });
  std::printf("bench_httplib_sse: %s:%d, %zu worker threads, %.0f events/s\n", host.c_str(), port,
              threads, rate);
  std::fflush(stdout);
  svr.listen(host.c_str(), port);
  stop = true;
  gen.join();
  return 0;
}
