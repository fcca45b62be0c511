// ICMP probes over the shared raw sockets, and probes inside network
// namespaces that the test creates (a veth pair between two fresh
// namespaces). Skipped with a message where raw sockets or `ip netns` are not
// permitted.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "prober/icmp_pinger.h"
#include "prober/netns.h"
#include "prober/prober.h"
#include "tests/unit/prober/test_util.h"

namespace maglev {
namespace {

using namespace maglev::testing;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// Empty when raw ICMP sockets can be opened here, else why not.
std::string RawSocketProblem(int family) {
  const int protocol = family == AF_INET ? int{IPPROTO_ICMP} : int{IPPROTO_ICMPV6};
  int fd = ::socket(family, SOCK_RAW, protocol);
  if (fd < 0) return std::string("raw ICMP sockets not permitted: ") + std::strerror(errno);
  ::close(fd);
  return "";
}

bool HaveIpv6Loopback() {
  int fd = ::socket(AF_INET6, SOCK_DGRAM, 0);
  if (fd < 0) return false;
  sockaddr_storage ss;
  socklen_t len = IpAddress::Parse("::1")->ToSockaddr(0, &ss);
  bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) == 0;
  ::close(fd);
  return ok;
}

class IcmpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string problem = RawSocketProblem(AF_INET);
    if (!problem.empty()) GTEST_SKIP() << problem;
  }
  ProbeResult Probe(const ProbeSpec& spec) { return RunProbe(io, prober, spec); }

  asio::io_context io;
  Prober prober{io};
};

TEST_F(IcmpTest, Ipv4Loopback) {
  auto r = Probe(Spec(CheckType::kIcmp, "127.0.0.1", 0));
  EXPECT_TRUE(r.ok()) << r.detail;
  EXPECT_EQ(r.code, "L3OK");
  EXPECT_EQ(r.detail, "echo reply");
  EXPECT_GT(r.elapsed.count(), 0);
}

TEST_F(IcmpTest, Ipv6Loopback) {
  if (!HaveIpv6Loopback()) GTEST_SKIP() << "no IPv6 loopback here";
  std::string problem = RawSocketProblem(AF_INET6);
  if (!problem.empty()) GTEST_SKIP() << problem;
  auto r = Probe(Spec(CheckType::kIcmp, "::1", 0));
  EXPECT_TRUE(r.ok()) << r.detail;
  EXPECT_EQ(r.code, "L3OK");
}

TEST_F(IcmpTest, SourceAddress) {
  auto spec = Spec(CheckType::kIcmp, "127.0.0.1", 0);
  spec.source = IpAddress::Parse("127.0.0.2");
  EXPECT_EQ(Probe(spec).code, "L3OK");
  spec.source = IpAddress::Parse("192.0.2.99");  // not local: refused by the kernel
  auto r = Probe(spec);
  EXPECT_EQ(r.code, "L3ERR");
  EXPECT_THAT(r.detail, StartsWith("send: "));
}

TEST_F(IcmpTest, ManyConcurrentProbesShareOneSocket) {
  NetnsSockets netns;
  IcmpPinger pinger(io, netns);
  constexpr int kProbes = 200;
  std::vector<std::optional<ProbeResult>> results(kProbes);
  for (int i = 0; i < kProbes; ++i) {
    auto spec = Spec(CheckType::kIcmp, "127.0.0.1", 0, 2s);
    spec.address = *IpAddress::Parse("127.0.3." + std::to_string(i % 250 + 1));
    if (i >= 250) spec.address = *IpAddress::Parse("127.0.4." + std::to_string(i % 250 + 1));
    asio::co_spawn(
        io,
        [](IcmpPinger* p, ProbeSpec spec,
           std::optional<ProbeResult>* out) -> asio::awaitable<void> {
          *out = co_await p->Ping(spec, std::chrono::steady_clock::now() + spec.timeout);
        }(&pinger, spec, &results[i]),
        asio::detached);
  }
  RunUntil(io, [&] {
    for (auto& r : results) {
      if (!r) return false;
    }
    return true;
  });
  for (int i = 0; i < kProbes; ++i) {
    ASSERT_TRUE(results[i]) << i;
    EXPECT_EQ(results[i]->code, "L3OK") << i << " " << results[i]->detail;
  }
  EXPECT_EQ(pinger.SocketCount(), 1u);
}

TEST_F(IcmpTest, UnknownNetnsIsL3Err) {
  auto spec = Spec(CheckType::kIcmp, "127.0.0.1", 0);
  spec.netns = "maglev-no-such-namespace";
  auto r = Probe(spec);
  EXPECT_EQ(r.code, "L3ERR");
  EXPECT_THAT(r.detail, StartsWith("netns \"maglev-no-such-namespace\": open "));
}

TEST(IcmpNoPrivilegeTest, ReportsRawSocketFailure) {
  // Without CAP_NET_RAW: a child process that gave up root (or never had it).
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (::geteuid() == 0 && (::setgid(65534) != 0 || ::setuid(65534) != 0)) ::_exit(3);
    if (RawSocketProblem(AF_INET).empty()) ::_exit(2);  // still allowed: cannot test here
    asio::io_context io;
    Prober prober(io);
    std::optional<ProbeResult> r;
    prober.Run(Spec(CheckType::kIcmp, "127.0.0.1", 0), [&](ProbeResult x) { r = std::move(x); });
    io.run();
    const bool good = r && r->code == "L3ERR" &&
                      r->detail == "cannot open raw ICMP socket: socket: operation not permitted";
    if (!good && r)
      std::fprintf(stderr, "got %s: %s\n", std::string(ProbeCodeName(r->code)).c_str(),
                   r->detail.c_str());
    ::_exit(good ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  if (WEXITSTATUS(status) == 2) GTEST_SKIP() << "raw sockets allowed even without privileges";
  if (WEXITSTATUS(status) == 3) GTEST_SKIP() << "cannot drop privileges";
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

// ---------------------------------------------------------------------------
// Network namespaces: a (192.0.2.1) <-veth-> b (192.0.2.2), both made here.

class NetnsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string failed;
    if (!pair.Create(&failed))
      GTEST_SKIP() << "cannot create network namespaces (" << failed << ")";
  }
  ProbeResult Probe(const ProbeSpec& spec) { return RunProbe(io, prober, spec); }

  NetnsPair pair;
  asio::io_context io;
  Prober prober{io};
};

TEST_F(NetnsTest, TcpAndHttpInsideNamespace) {
  uint16_t port = 0;
  int fd = ListenInNetns(pair.b, "192.0.2.2", &port);
  ASSERT_GE(fd, 0);
  TestServer server(io, Respond, fd, false, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  auto spec = Spec(CheckType::kTcp, "192.0.2.2", port);
  spec.netns = pair.a;
  EXPECT_EQ(Probe(spec).code, "L4OK");
  spec.type = CheckType::kHttp;
  spec.source = IpAddress::Parse("192.0.2.1");
  auto r = Probe(spec);
  EXPECT_EQ(r.code, "L7OK") << r.detail;
  ASSERT_EQ(server.peers.size(), 2u);
  EXPECT_EQ(server.peers[1], "192.0.2.1");
  ASSERT_EQ(server.requests.size(), 1u);
  EXPECT_THAT(server.requests[0],
              HasSubstr("\r\nHost: 192.0.2.2:" + std::to_string(port) + "\r\n"));
}

TEST_F(NetnsTest, IcmpInsideNamespaceThenLinkDown) {
  std::string problem = RawSocketProblem(AF_INET);
  if (!problem.empty()) GTEST_SKIP() << problem;
  auto spec = Spec(CheckType::kIcmp, "192.0.2.2", 0, 300ms);
  spec.netns = pair.a;
  auto r = Probe(spec);
  EXPECT_EQ(r.code, "L3OK") << r.detail;

  // Replies from a's own loopback and from b, concurrently with a probe of an
  // address nobody has: each result goes to its own probe.
  std::vector<std::pair<std::string, std::optional<ProbeResult>>> probes = {
      {"192.0.2.2", {}}, {"192.0.2.77", {}}, {"127.0.0.1", {}},
      {"192.0.2.1", {}}, {"192.0.2.78", {}}, {"192.0.2.2", {}},
  };
  for (auto& [addr, out] : probes) {
    auto s = spec;
    s.address = *IpAddress::Parse(addr);
    prober.Run(s, [&out = out](ProbeResult res) { out = std::move(res); });
  }
  RunUntil(io, [&] {
    for (auto& p : probes) {
      if (!p.second) return false;
    }
    return true;
  });
  for (auto& [addr, out] : probes) {
    ASSERT_TRUE(out) << addr;
    if (addr == "192.0.2.77" || addr == "192.0.2.78") {
      EXPECT_FALSE(out->ok()) << addr;
      EXPECT_THAT(ProbeCodeName(out->code), ::testing::AnyOf("L3TOUT", "L3ERR")) << addr;
    } else {
      EXPECT_EQ(out->code, "L3OK") << addr << " " << out->detail;
    }
  }

  // The far end goes down: the request leaves a, nothing comes back.
  ASSERT_TRUE(Sh("ip -n " + pair.b + " link set " + pair.veth_b + " down"));
  r = Probe(spec);
  EXPECT_EQ(r.code, "L3TOUT") << r.detail;
  EXPECT_EQ(r.detail, "timeout after 300ms");

  // The probe's own side goes down: no route any more.
  ASSERT_TRUE(Sh("ip -n " + pair.a + " link set " + pair.veth_a + " down"));
  r = Probe(spec);
  EXPECT_FALSE(r.ok());
  EXPECT_THAT(r.code, ::testing::AnyOf("L3TOUT", "L3ERR"));
}

TEST_F(NetnsTest, IcmpUnreachableFromRouterIsL3Err) {
  std::string problem = RawSocketProblem(AF_INET);
  if (!problem.empty()) GTEST_SKIP() << problem;
  // b routes 198.51.100.0/24 nowhere and says so: a's probe gets an ICMP
  // host unreachable from 192.0.2.2 quoting its echo request.
  ASSERT_TRUE(Sh("ip netns exec " + pair.b + " sysctl -qw net.ipv4.ip_forward=1"));
  ASSERT_TRUE(Sh("ip -n " + pair.b + " route add unreachable 198.51.100.0/24"));
  ASSERT_TRUE(Sh("ip -n " + pair.a + " route add 198.51.100.0/24 via 192.0.2.2"));
  auto spec = Spec(CheckType::kIcmp, "198.51.100.7", 0, 2s);
  spec.netns = pair.a;
  auto r = Probe(spec);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.code, "L3ERR");
  EXPECT_EQ(r.detail, "host unreachable (from 192.0.2.2)");
  // A route the probe's own namespace rejects fails at send time.
  ASSERT_TRUE(Sh("ip -n " + pair.a + " route add unreachable 203.0.113.0/24"));
  spec.address = *IpAddress::Parse("203.0.113.9");
  r = Probe(spec);
  EXPECT_EQ(r.code, "L3ERR");
  EXPECT_THAT(r.detail, StartsWith("send: "));
}

TEST_F(NetnsTest, RecreatedNamespaceIsPickedUp) {
  std::string problem = RawSocketProblem(AF_INET);
  if (!problem.empty()) GTEST_SKIP() << problem;
  auto spec = Spec(CheckType::kIcmp, "192.0.2.2", 0, 300ms);
  spec.netns = pair.a;
  EXPECT_EQ(Probe(spec).code, "L3OK");
  // Same name, new namespace without the veth: 192.0.2.2 is unreachable now.
  ASSERT_TRUE(Sh("ip netns del " + pair.a));
  ASSERT_TRUE(Sh("ip netns add " + pair.a));
  auto r = Probe(spec);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.code, "L3ERR");
  EXPECT_THAT(r.detail, StartsWith("send: "));
}

TEST_F(NetnsTest, DeletedNamespaceIsReleased) {
  std::string problem = RawSocketProblem(AF_INET);
  if (!problem.empty()) GTEST_SKIP() << problem;
  uint16_t port = 0;
  int fd = ListenInNetns(pair.b, "192.0.2.2", &port);
  ASSERT_GE(fd, 0);
  TestServer server(io, Silent, fd, false, "");
  auto spec = Spec(CheckType::kIcmp, "192.0.2.2", 0, 300ms);
  spec.netns = pair.a;
  EXPECT_EQ(Probe(spec).code, "L3OK");
  auto tcp_spec = Spec(CheckType::kTcp, "192.0.2.2", port, 300ms);
  tcp_spec.netns = pair.a;
  EXPECT_EQ(Probe(tcp_spec).code, "L4OK");

  // Deleting a destroys its end of the veth pair, and with it b's end,
  // unless something (a cached namespace fd, a raw socket) keeps a alive.
  ASSERT_TRUE(Sh("ip netns del " + pair.a));
  auto r = Probe(spec);
  EXPECT_EQ(r.code, "L3ERR");
  EXPECT_THAT(r.detail, HasSubstr("no such file or directory"));
  // Namespace teardown is asynchronous in the kernel: poll, bounded.
  bool gone = false;
  for (int i = 0; i < 100 && !gone; ++i) {
    gone = !Sh("ip -n " + pair.b + " link show " + pair.veth_b);
    if (!gone) ::usleep(50 * 1000);
  }
  EXPECT_TRUE(gone) << "namespace " << pair.a << " is still alive (veth peer still present)";
}

}  // namespace
}  // namespace maglev
