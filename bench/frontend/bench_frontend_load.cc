// SPDX-License-Identifier: Apache-2.0
// Load on a running maglevd-frontend (docs/benchmarks.md): --clients SSE
// streams on /view/api/events, each checked for a gap-free sequence of ids
// (`<epoch>-<seq>`, +1 each) and for resync events, while API calls go out
// at --api-rate per second on one keep-alive connection and their latency is
// recorded. Prints the numbers; no pass/fail.
//
//   bench_frontend_load --target 127.0.0.1:8080 --clients 500 --seconds 30
#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
constexpr auto kAwait = asio::as_tuple(asio::use_awaitable);

namespace {

struct Sse {
  uint64_t events = 0;
  uint64_t first = 0, last = 0;
  uint64_t gaps = 0;
  uint64_t resyncs = 0;
  uint64_t bytes = 0;
  bool connected = false;
  bool closed = false;
};

struct Options {
  std::string host = "127.0.0.1";
  std::string port = "8080";
  int clients = 500;
  int seconds = 30;
  double api_rate = 20;
  std::vector<std::string> paths = {"/view/api/maglevds", "/view/api/version", "/healthz",
                                    "/view/api/state/r1"};
};

asio::awaitable<void> RunSse(tcp::endpoint ep, Sse& s, const Clock::time_point& end) {
  tcp::socket sock(co_await asio::this_coro::executor);
  auto [ec] = co_await sock.async_connect(ep, kAwait);
  if (ec) {
    s.closed = true;
    co_return;
  }
  std::string req =
      "GET /view/api/events HTTP/1.1\r\nHost: bench\r\nAccept: text/event-stream\r\n\r\n";
  auto [wec, wn] = co_await asio::async_write(sock, asio::buffer(req), kAwait);
  if (wec) co_return;
  std::string pending;
  std::vector<char> buf(64 * 1024);
  bool head = true;
  while (Clock::now() < end) {
    auto [rec, n] = co_await sock.async_read_some(asio::buffer(buf), kAwait);
    if (rec) break;
    s.bytes += n;
    pending.append(buf.data(), n);
    size_t pos = 0;
    if (head) {
      size_t h = pending.find("\r\n\r\n");
      if (h == std::string::npos) continue;
      pos = h + 4;
      head = false;
      s.connected = true;
    }
    for (;;) {
      size_t end_of_frame = pending.find("\n\n", pos);
      if (end_of_frame == std::string::npos) break;
      std::string_view f(pending.data() + pos, end_of_frame - pos);
      pos = end_of_frame + 2;
      // (Chunked transfer encoding, as some servers send, puts its chunk
      // sizes between frames: look for the id anywhere in the block.)
      size_t id_at = f.rfind("id: ", 0) == 0 ? 0 : f.find("\nid: ");
      if (id_at == std::string_view::npos) continue;  // retry:, heartbeats
      if (id_at) f.remove_prefix(id_at + 1);
      size_t dash = f.find('-');
      size_t nl = f.find('\n');
      uint64_t seq =
          std::strtoull(std::string(f.substr(dash + 1, nl - dash - 1)).c_str(), nullptr, 10);
      if (f.find("\nevent: resync\n") != std::string_view::npos) {
        ++s.resyncs;
        s.last = seq;
        continue;
      }
      if (s.events && seq != s.last + 1) s.gaps += seq > s.last ? seq - s.last - 1 : 1;
      if (!s.events) s.first = seq;
      s.last = seq;
      ++s.events;
    }
    pending.erase(0, pos);
  }
  s.closed = true;
  beast::error_code ignored;
  sock.close(ignored);
}

struct Latencies {
  std::vector<double> ms;
  uint64_t errors = 0;
  size_t bytes = 0;
};

asio::awaitable<void> RunApi(tcp::endpoint ep, const Options& o,
                             std::map<std::string, Latencies>& out, const Clock::time_point& end) {
  auto ex = co_await asio::this_coro::executor;
  auto stream = std::make_unique<beast::tcp_stream>(ex);
  bool connected = false;
  asio::steady_timer timer(ex);
  auto next = Clock::now();
  size_t i = 0;
  auto period =
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1.0 / o.api_rate));
  while (Clock::now() < end) {
    next += period;
    timer.expires_at(next);
    co_await timer.async_wait(kAwait);
    const std::string& path = o.paths[i++ % o.paths.size()];
    Latencies& l = out[path];
    auto t0 = Clock::now();
    if (!connected) {
      auto [ec] = co_await stream->async_connect(ep, kAwait);
      if (ec) {
        ++l.errors;
        continue;
      }
      connected = true;
    }
    http::request<http::empty_body> req{http::verb::get, path, 11};
    req.set(http::field::host, "bench");
    stream->expires_after(std::chrono::seconds(10));
    auto [wec, wn] = co_await http::async_write(*stream, req, kAwait);
    beast::flat_buffer b;
    http::response_parser<http::string_body> parser;
    parser.body_limit(256 << 20);
    auto [rec, rn] = co_await http::async_read(*stream, b, parser, kAwait);
    if (wec || rec || parser.get().result() != http::status::ok) {
      ++l.errors;
      stream->close();
      stream = std::make_unique<beast::tcp_stream>(ex);
      connected = false;
      continue;
    }
    l.ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    l.bytes = parser.get().body().size();
    if (!parser.get().keep_alive()) {  // the server closes: reconnect next time
      stream->close();
      stream = std::make_unique<beast::tcp_stream>(ex);
      connected = false;
    }
  }
}

double Pct(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = std::min(v.size() - 1, static_cast<size_t>(p / 100.0 * (v.size() - 1) + 0.5));
  return v[i];
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    std::string v = i + 1 < argc ? argv[i + 1] : "";
    if (a == "--target") {
      size_t c = v.rfind(':');
      o.host = v.substr(0, c);
      o.port = v.substr(c + 1);
      ++i;
    } else if (a == "--clients") {
      o.clients = std::atoi(v.c_str());
      ++i;
    } else if (a == "--seconds") {
      o.seconds = std::atoi(v.c_str());
      ++i;
    } else if (a == "--api-rate") {
      o.api_rate = std::atof(v.c_str());
      ++i;
    } else if (a == "--paths") {
      o.paths.clear();
      std::stringstream ss(v);
      std::string p;
      while (std::getline(ss, p, ',')) o.paths.push_back(p);
      ++i;
    } else {
      std::fprintf(stderr,
                   "usage: bench_frontend_load [--target HOST:PORT] [--clients N] [--seconds N] "
                   "[--api-rate N] [--paths P,P]\n");
      return 2;
    }
  }
  asio::io_context ioc(1);
  tcp::endpoint ep(asio::ip::make_address(o.host),
                   static_cast<uint16_t>(std::atoi(o.port.c_str())));
  std::vector<Sse> sse(o.clients);
  std::map<std::string, Latencies> api;
  auto start = Clock::now();
  auto end = start + std::chrono::seconds(o.seconds);
  for (auto& s : sse) asio::co_spawn(ioc, RunSse(ep, s, end), asio::detached);
  // API calls on a thread of their own: their latency is the server's, not
  // this process's time to get round 500 busy streams.
  asio::io_context api_ioc(1);
  asio::co_spawn(api_ioc, RunApi(ep, o, api, end), asio::detached);
  std::thread api_thread([&] { api_ioc.run(); });
  // Streams that are idle at the end still hold a read: stop the loop then.
  asio::steady_timer stop(ioc, end + std::chrono::seconds(2));
  stop.async_wait([&](beast::error_code) { ioc.stop(); });
  ioc.run();
  api_thread.join();

  uint64_t events = 0, gaps = 0, resyncs = 0, connected = 0, bytes = 0, min_ev = UINT64_MAX,
           max_ev = 0;
  for (const auto& s : sse) {
    events += s.events;
    gaps += s.gaps;
    resyncs += s.resyncs;
    bytes += s.bytes;
    connected += s.connected;
    min_ev = std::min(min_ev, s.events);
    max_ev = std::max(max_ev, s.events);
  }
  double secs = o.seconds;
  std::printf("SSE clients connected: %llu of %d\n", (unsigned long long)connected, o.clients);
  std::printf(
      "events received: %llu in %.0f s = %.0f/s per client (min %llu, max %llu per client)\n",
      (unsigned long long)events, secs, connected ? events / secs / connected : 0.0,
      (unsigned long long)min_ev, (unsigned long long)max_ev);
  std::printf("events lost (gaps in ids): %llu, resyncs: %llu, bytes: %.1f MB\n",
              (unsigned long long)gaps, (unsigned long long)resyncs, bytes / 1e6);
  std::printf("%-22s %8s %8s %8s %8s %8s %7s %10s\n", "API call", "count", "p50 ms", "p90 ms",
              "p99 ms", "max ms", "errors", "bytes");
  std::vector<double> all;
  for (const auto& [path, l] : api) {
    std::printf("%-22s %8zu %8.2f %8.2f %8.2f %8.2f %7llu %10zu\n", path.c_str(), l.ms.size(),
                Pct(l.ms, 50), Pct(l.ms, 90), Pct(l.ms, 99), Pct(l.ms, 100),
                (unsigned long long)l.errors, l.bytes);
    all.insert(all.end(), l.ms.begin(), l.ms.end());
  }
  std::printf("%-22s %8zu %8.2f %8.2f %8.2f %8.2f\n", "all", all.size(), Pct(all, 50), Pct(all, 90),
              Pct(all, 99), Pct(all, 100));
  return 0;
}
