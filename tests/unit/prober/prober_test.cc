// Loopback tests of the tcp, tls, http and https probers against misbehaving
// servers that run on the same io_context as the prober.
#include "prober/prober.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "tests/unit/prober/test_util.h"

namespace maglev {
namespace {

using namespace maglev::testing;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr const char* kOk = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nServer: t\r\n\r\nok";

class ProberTest : public ::testing::Test {
 protected:
  asio::io_context io;
  Prober prober{io};

  ProbeResult Probe(const ProbeSpec& spec) { return RunProbe(io, prober, spec); }
};

TEST_F(ProberTest, UserAgentNamesProductAndVersion) {
  EXPECT_EQ(UserAgent(), std::string("maglevd/") + MAGLEV_VERSION);
}

TEST_F(ProberTest, TcpConnects) {
  TestServer server(io, Silent);
  auto r = Probe(Spec(CheckType::kTcp, "127.0.0.1", server.port()));
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.code, "L4OK");
  EXPECT_EQ(r.detail, "connected");
  EXPECT_GT(r.elapsed.count(), 0);
}

TEST_F(ProberTest, TcpRefused) {
  auto r = Probe(Spec(CheckType::kTcp, "127.0.0.1", UnusedPort(io)));
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.code, "L4CON");
  EXPECT_EQ(r.detail, "connection refused");
}

TEST_F(ProberTest, HttpRefusedIsL4) {
  auto r = Probe(Spec(CheckType::kHttp, "127.0.0.1", UnusedPort(io)));
  EXPECT_EQ(r.code, "L4CON");
  EXPECT_EQ(r.detail, "connection refused");
}

TEST_F(ProberTest, ConnectTimeoutOnFullBacklog) {
  // A listener with a zero backlog that never accepts: once one connection
  // sits in its queue, further SYNs are dropped and connect() hangs.
  int lfd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_storage ss;
  socklen_t len = IpAddress::Parse("127.0.0.1")->ToSockaddr(0, &ss);
  ASSERT_EQ(::bind(lfd, reinterpret_cast<sockaddr*>(&ss), len), 0);
  ASSERT_EQ(::listen(lfd, 0), 0);
  len = sizeof(ss);
  ::getsockname(lfd, reinterpret_cast<sockaddr*>(&ss), &len);
  const uint16_t port = ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  std::vector<int> fillers;
  for (int i = 0; i < 3; ++i) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    ::connect(fd, reinterpret_cast<sockaddr*>(&ss), len);
    fillers.push_back(fd);
  }
  auto spec = Spec(CheckType::kHttp, "127.0.0.1", port, 300ms);
  auto r = Probe(spec);
  EXPECT_EQ(r.code, "L4TOUT");
  EXPECT_EQ(r.detail, "timeout after 300ms");
  EXPECT_GE(r.elapsed, spec.timeout);
  for (int fd : fillers) ::close(fd);
  ::close(lfd);
}

TEST_F(ProberTest, Http200SendsTheSpecifiedRequest) {
  TestServer server(io, Respond, "127.0.0.1", kOk);
  auto spec = Spec(CheckType::kHttp, "127.0.0.1", server.port());
  spec.http.path = "/healthz?x=1";
  auto r = Probe(spec);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.code, "L7OK");
  EXPECT_EQ(r.detail, "HTTP 200");
  ASSERT_EQ(server.requests.size(), 1u);
  EXPECT_EQ(server.requests[0],
            "GET /healthz?x=1 HTTP/1.1\r\n"
            "Host: 127.0.0.1:" +
                std::to_string(server.port()) +
                "\r\n"
                "User-Agent: maglevd/" MAGLEV_VERSION
                "\r\n"
                "Connection: close\r\n"
                "Accept: */*\r\n\r\n");
}

TEST_F(ProberTest, HttpExplicitHostHeader) {
  TestServer server(io, Respond, "127.0.0.1", kOk);
  auto spec = Spec(CheckType::kHttp, "127.0.0.1", server.port());
  spec.http.host = "www.example.net";
  EXPECT_EQ(Probe(spec).code, "L7OK");
  ASSERT_EQ(server.requests.size(), 1u);
  EXPECT_THAT(server.requests[0], HasSubstr("\r\nHost: www.example.net\r\n"));
}

TEST_F(ProberTest, HttpIpv6HostHeaderInBrackets) {
  std::unique_ptr<TestServer> server;
  try {
    server = std::make_unique<TestServer>(io, Respond, "::1", kOk);
  } catch (const std::exception& e) {
    GTEST_SKIP() << "no IPv6 loopback here: " << e.what();
  }
  auto r = Probe(Spec(CheckType::kHttp, "::1", server->port()));
  EXPECT_EQ(r.code, "L7OK");
  ASSERT_EQ(server->requests.size(), 1u);
  EXPECT_THAT(server->requests[0],
              HasSubstr("\r\nHost: [::1]:" + std::to_string(server->port()) + "\r\n"));
}

TEST_F(ProberTest, Http503IsL7Sts) {
  TestServer server(io, Respond, "127.0.0.1",
                    "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n");
  auto r = Probe(Spec(CheckType::kHttp, "127.0.0.1", server.port()));
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.code, "L7STS");
  EXPECT_EQ(r.detail, "HTTP 503");
}

TEST_F(ProberTest, StatusRangeIsInclusive) {
  TestServer server(io, Respond, "127.0.0.1", "HTTP/1.1 302 Found\r\nContent-Length: 0\r\n\r\n");
  auto spec = Spec(CheckType::kHttp, "127.0.0.1", server.port());
  EXPECT_EQ(Probe(spec).code, "L7OK");  // default 200-399
  spec.http.response_code_min = 200;
  spec.http.response_code_max = 299;
  auto r = Probe(spec);
  EXPECT_EQ(r.code, "L7STS");
  EXPECT_EQ(r.detail, "HTTP 302");
  spec.http.response_code_min = 302;
  spec.http.response_code_max = 302;
  EXPECT_EQ(Probe(spec).code, "L7OK");
}

TEST_F(ProberTest, GarbageIsL7Rsp) {
  TestServer server(io, Respond, "127.0.0.1", "SSH-2.0-OpenSSH_9.2p1\r\n\r\n");
  auto r = Probe(Spec(CheckType::kHttp, "127.0.0.1", server.port()));
  EXPECT_EQ(r.code, "L7RSP");
  EXPECT_EQ(r.detail, "malformed status line");
}

TEST_F(ProberTest, CloseWithoutAnswerIsL7Rsp) {
  TestServer server(io, CloseSilently);
  auto r = Probe(Spec(CheckType::kHttp, "127.0.0.1", server.port()));
  EXPECT_EQ(r.code, "L7RSP");
  EXPECT_EQ(r.detail, "connection closed before status line");
  EXPECT_EQ(server.requests.size(), 1u);
}

TEST_F(ProberTest, NeverAnsweringIsL7Tout) {
  TestServer server(io, Hang);
  auto spec = Spec(CheckType::kHttp, "127.0.0.1", server.port(), 200ms);
  auto r = Probe(spec);
  EXPECT_EQ(r.code, "L7TOUT");
  EXPECT_EQ(r.detail, "timeout after 200ms");
  EXPECT_GE(r.elapsed, spec.timeout);
}

TEST_F(ProberTest, TricklingServerIsL7Tout) {
  // Every byte arrives well within any per-read timeout; only the deadline
  // on the whole probe catches it.
  TestServer server(io, Trickle, "127.0.0.1", kOk);
  auto spec = Spec(CheckType::kHttp, "127.0.0.1", server.port(), 350ms);
  auto r = Probe(spec);
  EXPECT_EQ(r.code, "L7TOUT");
  EXPECT_GT(server.bytes_written, 0u);
  EXPECT_LT(server.bytes_written, std::string(kOk).size());
}

TEST_F(ProberTest, BodyRegexpMatches) {
  TestServer server(io, Respond, "127.0.0.1",
                    "HTTP/1.1 200 OK\r\nContent-Length: 16\r\n\r\nstatus: healthy\n");
  auto spec = Spec(CheckType::kHttp, "127.0.0.1", server.port());
  spec.http.response_regexp = "^status: (ok|healthy)\n";
  auto r = Probe(spec);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.code, "L7OK");
  EXPECT_EQ(r.detail, "HTTP 200");
}

TEST_F(ProberTest, BodyRegexpMismatch) {
  TestServer server(io, Respond, "127.0.0.1", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nerror");
  auto spec = Spec(CheckType::kHttp, "127.0.0.1", server.port());
  spec.http.response_regexp = "ok";
  auto r = Probe(spec);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.code, "L7RSP");
  EXPECT_EQ(r.detail, "body does not match \"ok\"");
}

TEST_F(ProberTest, InvalidRegexpIsReported) {
  TestServer server(io, Respond, "127.0.0.1", kOk);
  auto spec = Spec(CheckType::kHttp, "127.0.0.1", server.port());
  spec.http.response_regexp = "(unclosed";
  auto r = Probe(spec);
  EXPECT_EQ(r.code, "L7RSP");
  EXPECT_THAT(r.detail, StartsWith("invalid response-regexp: "));
}

TEST_F(ProberTest, ChunkedBodyIsDecodedBeforeMatching) {
  TestServer server(io, Respond, "127.0.0.1",
                    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                    "3\r\nhel\r\n4;ext=1\r\nlo w\r\n4\r\norld\r\n0\r\n\r\n");
  auto spec = Spec(CheckType::kHttp, "127.0.0.1", server.port());
  spec.http.response_regexp = "^hello world$";
  EXPECT_EQ(Probe(spec).code, "L7OK");
}

TEST_F(ProberTest, CloseDelimitedBodyIsMatched) {
  TestServer server(io, Respond, "127.0.0.1", "HTTP/1.0 200 OK\r\n\r\nall good");
  auto spec = Spec(CheckType::kHttp, "127.0.0.1", server.port());
  spec.http.response_regexp = "good";
  EXPECT_EQ(Probe(spec).code, "L7OK");
}

TEST_F(ProberTest, EndlessBodyWithoutRegexpIsNotRead) {
  TestServer server(io, Endless, "127.0.0.1", "HTTP/1.1 200 OK\r\n\r\n");
  auto r = Probe(Spec(CheckType::kHttp, "127.0.0.1", server.port()));
  EXPECT_EQ(r.code, "L7OK");
}

TEST_F(ProberTest, EndlessBodyStopsAtTheBound) {
  // Close-delimited, Content-Length and chunked bodies that never end.
  struct Case {
    const char* head;
    bool chunked;
  };
  for (const Case& c : {Case{"HTTP/1.1 200 OK\r\n\r\n", false},
                        Case{"HTTP/1.1 200 OK\r\nContent-Length: 999999999\r\n\r\n", false},
                        Case{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", true}}) {
    SCOPED_TRACE(c.head);
    TestServer server(io, Endless, "127.0.0.1", c.head);
    server.chunked = c.chunked;
    auto spec = Spec(CheckType::kHttp, "127.0.0.1", server.port(), 2s);
    spec.http.response_regexp = "never-there";
    auto r = Probe(spec);
    EXPECT_EQ(r.code, "L7RSP");
    EXPECT_EQ(r.detail, "body does not match \"never-there\"");
    // The body is matched on what was read: the record starting at 65000
    // is in the first 64 KiB, the one starting at 66000 is not.
    spec.http.response_regexp = "rec00066";
    EXPECT_EQ(Probe(spec).code, "L7OK");
    spec.http.response_regexp = "rec00067";
    EXPECT_EQ(Probe(spec).code, "L7RSP");
  }
}

TEST_F(ProberTest, SourceAddressIsBound) {
  TestServer server(io, Respond, "127.0.0.1", kOk);
  auto spec = Spec(CheckType::kHttp, "127.0.0.1", server.port());
  spec.source = IpAddress::Parse("127.0.0.2");
  EXPECT_EQ(Probe(spec).code, "L7OK");
  spec.type = CheckType::kTcp;
  EXPECT_EQ(Probe(spec).code, "L4OK");
  RunUntil(io, [&] { return server.peers.size() == 2; });
  ASSERT_EQ(server.peers.size(), 2u);
  EXPECT_EQ(server.peers[0], "127.0.0.2");
  EXPECT_EQ(server.peers[1], "127.0.0.2");
}

TEST_F(ProberTest, UnusableSourceAddressIsL4Con) {
  TestServer server(io, Silent);
  auto spec = Spec(CheckType::kTcp, "127.0.0.1", server.port());
  spec.source = IpAddress::Parse("192.0.2.99");  // not local: bind fails, nothing is sent
  auto r = Probe(spec);
  EXPECT_EQ(r.code, "L4CON");
  EXPECT_EQ(r.detail, "bind 192.0.2.99: cannot assign requested address");
  EXPECT_TRUE(server.peers.empty());
}

TEST_F(ProberTest, UnknownNetnsIsL4Con) {
  auto spec = Spec(CheckType::kHttp, "127.0.0.1", 80);
  spec.netns = "maglev-no-such-namespace";
  auto r = Probe(spec);
  EXPECT_EQ(r.code, "L4CON");
  EXPECT_EQ(r.detail,
            "netns \"maglev-no-such-namespace\": open /var/run/netns/maglev-no-such-namespace: "
            "no such file or directory");
  spec.netns = "../etc";
  r = Probe(spec);
  EXPECT_EQ(r.code, "L4CON");
  EXPECT_EQ(r.detail, "netns \"../etc\": invalid namespace name");
}

TEST_F(ProberTest, AwaitableProbe) {
  TestServer server(io, Respond, "127.0.0.1", kOk);
  std::optional<ProbeResult> result;
  asio::co_spawn(
      io,
      [](Prober* p, ProbeSpec spec, std::optional<ProbeResult>* out) -> asio::awaitable<void> {
        *out = co_await p->Probe(spec);
      }(&prober, Spec(CheckType::kHttp, "127.0.0.1", server.port()), &result),
      asio::detached);
  RunUntil(io, [&] { return result.has_value(); });
  ASSERT_TRUE(result);
  EXPECT_EQ(result->code, "L7OK");
}

TEST(ProberLifetimeTest, ProbeOutlivesProber) {
  asio::io_context io;
  TestServer server(io, Hang);
  std::optional<ProbeResult> result;
  {
    Prober prober(io);
    prober.Run(Spec(CheckType::kHttp, "127.0.0.1", server.port(), 200ms),
               [&](ProbeResult r) { result = std::move(r); });
  }
  RunUntil(io, [&] { return result.has_value(); });
  ASSERT_TRUE(result);
  EXPECT_EQ(result->code, "L7TOUT");
}

// A hanging backend never holds up the others: every healthy probe completes
// while the hanging ones are still pending.
TEST_F(ProberTest, HangingBackendDoesNotStallOthers) {
  TestServer hanging(io, Hang);
  TestServer silent_tls(io, Silent);
  TestServer trickle(io, Trickle, "127.0.0.1", kOk);
  TestServer healthy(io, Respond, "127.0.0.1", kOk);
  std::vector<std::string> order;
  int pending_slow = 0;
  int healthy_done_while_slow_pending = 0;

  auto run_slow = [&](ProbeSpec spec, std::string name) {
    ++pending_slow;
    prober.Run(spec, [&, name](ProbeResult r) {
      order.push_back(name + ":" + std::string(ProbeCodeName(r.code)));
      --pending_slow;
    });
  };
  run_slow(Spec(CheckType::kHttp, "127.0.0.1", hanging.port(), 1s), "hang");
  auto tls = Spec(CheckType::kHttps, "127.0.0.1", silent_tls.port(), 1s);
  run_slow(tls, "tls");
  run_slow(Spec(CheckType::kHttp, "127.0.0.1", trickle.port(), 1s), "trickle");
  constexpr int kHealthy = 50;
  for (int i = 0; i < kHealthy; ++i) {
    auto spec = Spec(CheckType::kHttp, "127.0.0.1", healthy.port(), 1s);
    spec.source = IpAddress::Parse("127.0.1." + std::to_string(i + 1));
    prober.Run(spec, [&](ProbeResult r) {
      order.push_back("healthy:" + std::string(ProbeCodeName(r.code)));
      if (pending_slow == 3) ++healthy_done_while_slow_pending;
    });
  }
  RunUntil(io, [&] { return order.size() == kHealthy + 3; });
  ASSERT_EQ(order.size(), kHealthy + 3u);
  EXPECT_EQ(healthy_done_while_slow_pending, kHealthy);
  for (int i = 0; i < kHealthy; ++i) EXPECT_EQ(order[i], "healthy:L7OK");
  std::vector<std::string> slow(order.begin() + kHealthy, order.end());
  EXPECT_THAT(slow, ::testing::UnorderedElementsAre("hang:L7TOUT", "tls:L6TOUT", "trickle:L7TOUT"));
}

// ---------------------------------------------------------------------------
// TLS

class TlsTest : public ProberTest {
 protected:
  TestCert self_signed = MakeCert("www.test.example", "DNS:www.test.example", nullptr, false);
  std::unique_ptr<asio::ssl::context> ctx = ServerContext(self_signed);
};

TEST_F(TlsTest, HttpsSelfSignedFailsVerification) {
  TestServer server(io, TlsRespond, "127.0.0.1", kOk);
  server.tls = ctx.get();
  auto spec = Spec(CheckType::kHttps, "127.0.0.1", server.port());
  spec.http.server_name = "www.test.example";
  auto r = Probe(spec);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.code, "L6RSP");
  EXPECT_EQ(r.detail, "certificate verify failed: self-signed certificate");
  EXPECT_EQ(server.handshakes, 0);
}

TEST_F(TlsTest, HttpsInsecureSkipVerifyPassesAndSendsSni) {
  TestServer server(io, TlsRespond, "127.0.0.1", kOk);
  server.tls = ctx.get();
  auto spec = Spec(CheckType::kHttps, "127.0.0.1", server.port());
  spec.http.server_name = "sni.test.example";
  spec.http.host = "host.test.example";
  spec.http.insecure_skip_verify = true;
  auto r = Probe(spec);
  EXPECT_TRUE(r.ok()) << r.detail;
  EXPECT_EQ(r.code, "L7OK");
  EXPECT_EQ(r.detail, "HTTP 200");
  ASSERT_EQ(server.server_names.size(), 1u);
  EXPECT_EQ(server.server_names[0], "sni.test.example");
  ASSERT_EQ(server.requests.size(), 1u);
  EXPECT_THAT(server.requests[0], HasSubstr("\r\nHost: host.test.example\r\n"));
}

TEST_F(TlsTest, HttpsSniDefaultsToHostWithoutPort) {
  TestServer server(io, TlsRespond, "127.0.0.1", kOk);
  server.tls = ctx.get();
  auto spec = Spec(CheckType::kHttps, "127.0.0.1", server.port());
  spec.http.host = "host.test.example:8443";
  spec.http.insecure_skip_verify = true;
  EXPECT_EQ(Probe(spec).code, "L7OK");
  // No host and no server name: an IP literal is never sent as SNI.
  spec.http.host = "";
  EXPECT_EQ(Probe(spec).code, "L7OK");
  ASSERT_EQ(server.server_names.size(), 2u);
  EXPECT_EQ(server.server_names[0], "host.test.example");
  EXPECT_EQ(server.server_names[1], "");
  ASSERT_EQ(server.requests.size(), 2u);
  EXPECT_THAT(server.requests[1],
              HasSubstr("\r\nHost: 127.0.0.1:" + std::to_string(server.port()) + "\r\n"));
}

TEST_F(TlsTest, HttpsStatusIsCheckedOverTls) {
  TestServer server(io, TlsRespond, "127.0.0.1",
                    "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n");
  server.tls = ctx.get();
  auto spec = Spec(CheckType::kHttps, "127.0.0.1", server.port());
  spec.http.insecure_skip_verify = true;
  auto r = Probe(spec);
  EXPECT_EQ(r.code, "L7STS");
  EXPECT_EQ(r.detail, "HTTP 500");
}

TEST_F(TlsTest, TcpSslVerifiesUnlessSkipped) {
  TestServer server(io, TlsRespond);
  server.tls = ctx.get();
  auto spec = Spec(CheckType::kTcp, "127.0.0.1", server.port());
  spec.tcp.ssl = true;
  spec.tcp.server_name = "www.test.example";
  auto r = Probe(spec);
  EXPECT_EQ(r.code, "L6RSP");
  EXPECT_EQ(r.detail, "certificate verify failed: self-signed certificate");
  spec.tcp.insecure_skip_verify = true;
  r = Probe(spec);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.code, "L6OK");
  EXPECT_THAT(r.detail, StartsWith("TLSv1."));
  RunUntil(io, [&] { return server.server_names.size() == 1; });
  ASSERT_EQ(server.server_names.size(), 1u);
  EXPECT_EQ(server.server_names[0], "www.test.example");
}

TEST_F(TlsTest, HandshakeNeverCompletingIsL6Tout) {
  TestServer server(io, Silent);
  auto spec = Spec(CheckType::kHttps, "127.0.0.1", server.port(), 250ms);
  auto r = Probe(spec);
  EXPECT_EQ(r.code, "L6TOUT");
  EXPECT_EQ(r.detail, "timeout after 250ms");
  spec.type = CheckType::kTcp;
  spec.tcp.ssl = true;
  EXPECT_EQ(Probe(spec).code, "L6TOUT");
}

TEST_F(TlsTest, GarbageInsteadOfServerHelloIsL6Rsp) {
  TestServer server(io, TlsGarbage);
  auto spec = Spec(CheckType::kHttps, "127.0.0.1", server.port());
  spec.http.insecure_skip_verify = true;
  auto r = Probe(spec);
  EXPECT_EQ(r.code, "L6RSP");
  EXPECT_THAT(r.detail, StartsWith("TLS handshake failed: "));
  spec.type = CheckType::kTcp;
  spec.tcp.ssl = true;
  spec.tcp.insecure_skip_verify = true;
  EXPECT_EQ(Probe(spec).code, "L6RSP");
}

// Verification against a CA: the prober's verifying context reads the system
// store when first needed, which OpenSSL lets SSL_CERT_FILE replace for the
// duration of this test.
class TlsCaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ca_file =
        ::testing::TempDir() + "/maglev-prober-test-ca-" + std::to_string(::getpid()) + ".pem";
    std::ofstream(ca_file) << ca.cert_pem;
    const char* old = std::getenv("SSL_CERT_FILE");
    had_env = old != nullptr;
    if (old) old_env = old;
    ::setenv("SSL_CERT_FILE", ca_file.c_str(), 1);
    prober = std::make_unique<Prober>(io);
  }
  void TearDown() override {
    if (had_env) {
      ::setenv("SSL_CERT_FILE", old_env.c_str(), 1);
    } else {
      ::unsetenv("SSL_CERT_FILE");
    }
    std::remove(ca_file.c_str());
  }

  ProbeResult Probe(const ProbeSpec& spec) { return RunProbe(io, *prober, spec); }

  asio::io_context io;
  TestCert ca = MakeCert("maglev test CA", "", nullptr, true);
  TestCert leaf = MakeCert("www.test.example", "DNS:www.test.example,IP:127.0.0.1", &ca, false);
  std::unique_ptr<asio::ssl::context> ctx = ServerContext(leaf);
  std::string ca_file, old_env;
  bool had_env = false;
  std::unique_ptr<Prober> prober;
};

TEST_F(TlsCaTest, VerifiesNameAndAddress) {
  TestServer server(io, TlsRespond, "127.0.0.1", kOk);
  server.tls = ctx.get();
  auto spec = Spec(CheckType::kHttps, "127.0.0.1", server.port());
  spec.http.server_name = "www.test.example";
  auto r = Probe(spec);
  EXPECT_EQ(r.code, "L7OK") << r.detail;
  // The host (without port) is the name when no server name is given.
  spec.http.server_name = "";
  spec.http.host = "www.test.example:443";
  EXPECT_EQ(Probe(spec).code, "L7OK");
  // Neither: the backend address must be in the certificate.
  spec.http.host = "";
  EXPECT_EQ(Probe(spec).code, "L7OK");
  spec.http.server_name = "other.test.example";
  r = Probe(spec);
  EXPECT_EQ(r.code, "L6RSP");
  EXPECT_EQ(r.detail, "certificate verify failed: hostname mismatch");
  spec.http.insecure_skip_verify = true;
  EXPECT_EQ(Probe(spec).code, "L7OK");
}

TEST_F(TlsCaTest, TcpSslChecksServerNameOnlyWhenSet) {
  TestServer server(io, TlsRespond);
  server.tls = ctx.get();
  auto spec = Spec(CheckType::kTcp, "127.0.0.1", server.port());
  spec.tcp.ssl = true;
  EXPECT_EQ(Probe(spec).code, "L6OK");  // chain only
  spec.tcp.server_name = "www.test.example";
  EXPECT_EQ(Probe(spec).code, "L6OK");
  spec.tcp.server_name = "wrong.test.example";
  auto r = Probe(spec);
  EXPECT_EQ(r.code, "L6RSP");
  EXPECT_EQ(r.detail, "certificate verify failed: hostname mismatch");
}

}  // namespace
}  // namespace maglev
