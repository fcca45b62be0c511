// Loopback tests of the raw-socket fast path for plain tcp and http probes
// (Prober::Run): the same results as the asio coroutine path (Prober::Probe)
// for every kind of backend, bounded reads, partial sends, many probes at
// once, no leaked file descriptors, and probes in flight at shutdown.
#include <dirent.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "prober/prober.h"
#include "tests/unit/prober/test_util.h"

namespace maglev {
namespace {

using namespace maglev::testing;
using ::testing::AnyOf;

constexpr const char* kOk = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nServer: t\r\n\r\nok";

// Open file descriptors of this process.
int FdCount() {
  int n = 0;
  if (DIR* d = ::opendir("/proc/self/fd")) {
    while (dirent* e = ::readdir(d)) {
      if (e->d_name[0] != '.') ++n;
    }
    ::closedir(d);
  }
  return n - 1;  // the directory stream's own fd
}

// Accepts and closes at once, before the request arrives.
asio::awaitable<void> CloseAtOnce(tcp::socket s, TestServer*) {
  std::error_code ignored;
  s.close(ignored);
  co_return;
}

// Reads a request head of any size, then answers server->response.
asio::awaitable<void> RespondToLargeRequest(tcp::socket s, TestServer* server) {
  std::string req;
  std::vector<char> buf(64 * 1024);
  while (req.find("\r\n\r\n") == std::string::npos) {
    std::error_code ec;
    size_t n = co_await s.async_read_some(asio::buffer(buf), asio::redirect_error(kAwait, ec));
    if (ec) co_return;
    req.append(buf.data(), n);
  }
  server->requests.push_back(req);
  co_await Send(s, server, server->response);
  co_await WaitClose(s);
}

class FastProbeTest : public ::testing::Test {
 protected:
  asio::io_context io;
  Prober prober{io};

  // Through Run(): the fast path for plain tcp and http.
  ProbeResult Fast(const ProbeSpec& spec) { return RunProbe(io, prober, spec); }

  // Through the awaitable Probe(): always the asio path.
  ProbeResult Asio(const ProbeSpec& spec) {
    std::optional<ProbeResult> result;
    asio::co_spawn(
        io,
        [](Prober* p, ProbeSpec spec, std::optional<ProbeResult>* out) -> asio::awaitable<void> {
          *out = co_await p->Probe(spec);
        }(&prober, spec, &result),
        asio::detached);
    RunUntil(io, [&] { return result.has_value(); });
    if (!result) {
      ADD_FAILURE() << "probe never completed";
      return ProbeResult{ProbeCode::kL4Con, "never completed (no result)", {}};
    }
    return *result;
  }

  // Both paths give the same verdict for `spec`; returns the fast one.
  ProbeResult Both(const ProbeSpec& spec) {
    ProbeResult fast = Fast(spec);
    ProbeResult slow = Asio(spec);
    EXPECT_EQ(fast.ok(), slow.ok());
    EXPECT_EQ(fast.code, slow.code);
    EXPECT_EQ(fast.detail, slow.detail);
    return fast;
  }
};

TEST_F(FastProbeTest, PlainTcpAndHttpTakeTheFastPath) {
  TestServer server(io, Hang);
  auto spec = Spec(CheckType::kHttp, "127.0.0.1", server.port(), 100ms);
  int done = 0;
  prober.Run(spec, [&](ProbeResult) { ++done; });
  spec.type = CheckType::kTcp;
  prober.Run(spec, [&](ProbeResult) { ++done; });
  EXPECT_EQ(prober.FastProbesInFlight(), 2u);
  // TLS and ICMP do not.
  spec.tcp.ssl = true;
  prober.Run(spec, [&](ProbeResult) { ++done; });
  spec.type = CheckType::kHttps;
  prober.Run(spec, [&](ProbeResult) { ++done; });
  EXPECT_EQ(prober.FastProbesInFlight(), 2u);
  RunUntil(io, [&] { return done == 4; });
  EXPECT_EQ(done, 4);
  EXPECT_EQ(prober.FastProbesInFlight(), 0u);
}

TEST_F(FastProbeTest, RefusedPort) {
  const uint16_t port = UnusedPort(io);
  auto r = Both(Spec(CheckType::kTcp, "127.0.0.1", port));
  EXPECT_EQ(r.code, "L4CON");
  EXPECT_EQ(r.detail, "connection refused");
  r = Both(Spec(CheckType::kHttp, "127.0.0.1", port));
  EXPECT_EQ(r.code, "L4CON");
  EXPECT_EQ(r.detail, "connection refused");
}

TEST_F(FastProbeTest, HangingServerTimesOut) {
  TestServer server(io, Hang);
  auto spec = Spec(CheckType::kHttp, "127.0.0.1", server.port(), 150ms);
  auto r = Both(spec);
  EXPECT_EQ(r.code, "L7TOUT");
  EXPECT_EQ(r.detail, "timeout after 150ms");
  EXPECT_GE(r.elapsed, spec.timeout);
  EXPECT_LT(r.elapsed, spec.timeout + 500ms);
  // Accepting is all a tcp check asks for.
  spec.type = CheckType::kTcp;
  r = Both(spec);
  EXPECT_EQ(r.code, "L4OK");
  EXPECT_EQ(r.detail, "connected");
}

TEST_F(FastProbeTest, GarbageResponse) {
  TestServer server(io, Respond, "127.0.0.1", "SSH-2.0-OpenSSH_9.2p1\r\n\r\n");
  auto r = Both(Spec(CheckType::kHttp, "127.0.0.1", server.port()));
  EXPECT_EQ(r.code, "L7RSP");
  EXPECT_EQ(r.detail, "malformed status line");
}

TEST_F(FastProbeTest, Status503) {
  TestServer server(io, Respond, "127.0.0.1",
                    "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n");
  auto r = Both(Spec(CheckType::kHttp, "127.0.0.1", server.port()));
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.code, "L7STS");
  EXPECT_EQ(r.detail, "HTTP 503");
}

TEST_F(FastProbeTest, Status200WithBodyRegexp) {
  TestServer server(io, Respond, "127.0.0.1",
                    "HTTP/1.1 200 OK\r\nContent-Length: 16\r\n\r\nstatus: healthy\n");
  auto spec = Spec(CheckType::kHttp, "127.0.0.1", server.port());
  spec.http.response_regexp = "^status: (ok|healthy)\n";
  auto r = Both(spec);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.code, "L7OK");
  EXPECT_EQ(r.detail, "HTTP 200");
  spec.http.response_regexp = "sick";
  r = Both(spec);
  EXPECT_EQ(r.code, "L7RSP");
  EXPECT_EQ(r.detail, "body does not match \"sick\"");
}

TEST_F(FastProbeTest, CloseDelimitedBodyArrivingWithTheClose) {
  // Body and FIN usually arrive together: the probe must read on to EOF
  // even after a short read, or it would wait for an event that never comes.
  TestServer server(io, Respond, "127.0.0.1", "HTTP/1.0 200 OK\r\n\r\nall good");
  auto spec = Spec(CheckType::kHttp, "127.0.0.1", server.port());
  spec.http.response_regexp = "good$";
  EXPECT_EQ(Both(spec).code, "L7OK");
}

TEST_F(FastProbeTest, EndlessBodyIsReadToTheBoundOnly) {
  TestServer server(io, Endless, "127.0.0.1",
                    "HTTP/1.1 200 OK\r\nContent-Length: 999999999\r\n\r\n");
  auto spec = Spec(CheckType::kHttp, "127.0.0.1", server.port(), 2s);
  spec.http.response_regexp = "rec00066";
  EXPECT_EQ(Both(spec).code, "L7OK");
  spec.http.response_regexp = "rec00067";
  auto r = Both(spec);
  EXPECT_EQ(r.code, "L7RSP");
  EXPECT_EQ(r.detail, "body does not match \"rec00067\"");
  // Without a regexp the body is not read at all.
  spec.http.response_regexp = "";
  EXPECT_EQ(Both(spec).code, "L7OK");
}

TEST_F(FastProbeTest, ServerClosingAtOnce) {
  TestServer server(io, CloseAtOnce);
  auto spec = Spec(CheckType::kHttp, "127.0.0.1", server.port());
  // Whether the close or the reset to the request is seen first depends on
  // timing, on either path.
  auto r = Fast(spec);
  EXPECT_EQ(r.code, "L7RSP");
  EXPECT_THAT(r.detail,
              AnyOf("connection closed before status line", "receive: connection reset by peer",
                    "send: broken pipe", "send: connection reset by peer"));
}

TEST_F(FastProbeTest, SourceAddressIsBound) {
  TestServer server(io, Respond, "127.0.0.1", kOk);
  auto spec = Spec(CheckType::kHttp, "127.0.0.1", server.port());
  spec.source = IpAddress::Parse("127.0.0.3");
  EXPECT_EQ(Fast(spec).code, "L7OK");
  spec.type = CheckType::kTcp;
  EXPECT_EQ(Fast(spec).code, "L4OK");
  RunUntil(io, [&] { return server.peers.size() == 2; });
  EXPECT_THAT(server.peers, ::testing::ElementsAre("127.0.0.3", "127.0.0.3"));
  spec.source = IpAddress::Parse("192.0.2.99");
  auto r = Both(spec);
  EXPECT_EQ(r.code, "L4CON");
  EXPECT_EQ(r.detail, "bind 192.0.2.99: cannot assign requested address");
}

TEST_F(FastProbeTest, LargeRequestIsSentInPieces) {
  // Far more than a socket's send buffer takes at once: the rest goes out
  // on later writable edges.
  TestServer server(io, RespondToLargeRequest, "127.0.0.1", kOk);
  auto spec = Spec(CheckType::kHttp, "127.0.0.1", server.port(), 5s);
  spec.http.path = "/" + std::string(8 * 1024 * 1024, 'x');
  auto r = Fast(spec);
  EXPECT_EQ(r.code, "L7OK") << r.detail;
  ASSERT_EQ(server.requests.size(), 1u);
  EXPECT_GT(server.requests[0].size(), spec.http.path.size());
}

TEST_F(FastProbeTest, ManyProbesAtOnce) {
  // More sockets ready at once than one epoll_wait batch returns.
  TestServer server(io, Respond, "127.0.0.1", kOk);
  constexpr int kProbes = 600;
  int ok = 0, done = 0;
  for (int i = 0; i < kProbes; ++i) {
    auto spec = Spec(CheckType::kHttp, "127.0.0.1", server.port(), 10s);
    prober.Run(spec, [&](ProbeResult r) {
      ++done;
      if (r.code == "L7OK") ++ok;
    });
  }
  RunUntil(io, [&] { return done == kProbes; });
  EXPECT_EQ(done, kProbes);
  EXPECT_EQ(ok, kProbes);
}

TEST_F(FastProbeTest, NoFileDescriptorLeaks) {
  TestServer healthy(io, Respond, "127.0.0.1", kOk);
  TestServer hanging(io, Hang);
  TestServer garbage(io, Respond, "127.0.0.1", "garbage\r\n\r\n");
  TestServer closing(io, CloseAtOnce);
  const uint16_t refused = UnusedPort(io);
  Fast(Spec(CheckType::kTcp, "127.0.0.1", healthy.port()));  // makes the epoll fd
  RunUntil(io, [&] { return healthy.peers.size() == 1; });
  io.poll();
  const int before = FdCount();

  int done = 0;
  int launched = 0;
  for (int round = 0; round < 20; ++round) {
    for (uint16_t port :
         {healthy.port(), hanging.port(), garbage.port(), closing.port(), refused}) {
      for (CheckType type : {CheckType::kHttp, CheckType::kTcp}) {
        ++launched;
        prober.Run(Spec(type, "127.0.0.1", port, 100ms), [&](ProbeResult) { ++done; });
      }
    }
  }
  RunUntil(io, [&] { return done == launched; });
  ASSERT_EQ(done, launched);
  EXPECT_EQ(prober.FastProbesInFlight(), 0u);
  // The servers' ends go away once they see the resets.
  RunUntil(io, [&] { return FdCount() <= before; });
  EXPECT_EQ(FdCount(), before);
}

TEST(FastProbeLifetimeTest, InFlightProbesAreClosedWhenTheLoopGoesAway) {
  const int before = FdCount();
  int called = 0;
  {
    asio::io_context io;
    TestServer server(io, Hang);
    {
      Prober prober(io);
      for (int i = 0; i < 20; ++i) {
        prober.Run(Spec(CheckType::kHttp, "127.0.0.1", server.port(), 30s),
                   [&](ProbeResult) { ++called; });
      }
      RunUntil(io, [&] { return server.requests.size() == 20; });
      EXPECT_EQ(server.requests.size(), 20u);
      EXPECT_EQ(prober.FastProbesInFlight(), 20u);
    }
    // The Prober is gone, its probes are not: they end at their deadline
    // (ProberLifetimeTest.ProbeOutlivesProber). Here the loop goes first.
    io.poll();
  }
  EXPECT_EQ(called, 0);
  EXPECT_EQ(FdCount(), before);
}

TEST(FastProbeLifetimeTest, NothingIsLeftOnTheLoopAfterTheLastProbe) {
  asio::io_context io;
  auto server = std::make_unique<TestServer>(io, Hang);
  std::optional<ProbeResult> result;
  {
    Prober prober(io);
    prober.Run(Spec(CheckType::kHttp, "127.0.0.1", server->port(), 100ms),
               [&](ProbeResult r) { result = std::move(r); });
  }
  RunUntil(io, [&] { return result.has_value(); });
  ASSERT_TRUE(result);
  EXPECT_EQ(result->code, "L7TOUT");
  // With the server gone too, the loop runs out of work: the engine holds
  // no wait or timer once its last probe has ended.
  server.reset();
  io.restart();
  io.run_for(5s);
  EXPECT_TRUE(io.stopped());
}

}  // namespace
}  // namespace maglev
