// SPDX-License-Identifier: Apache-2.0
#include "common/listen_address.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace maglev {
namespace {

TEST(ListenAddress, AcceptedForms) {
  auto v4 = ParseListenAddress("127.0.0.1:9091");
  ASSERT_TRUE(v4.ok());
  EXPECT_EQ(v4->ToString(), "127.0.0.1:9091");
  EXPECT_TRUE(v4->is_loopback());
  EXPECT_FALSE(v4->any);

  auto v6 = ParseListenAddress("[::1]:80");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->ToString(), "[::1]:80");
  EXPECT_TRUE(v6->is_loopback());

  auto local = ParseListenAddress("localhost:9090");
  ASSERT_TRUE(local.ok());
  EXPECT_EQ(local->ToString(), "127.0.0.1:9090");

  // The Go original's form: every address (dual-stack), not loopback.
  auto any = ParseListenAddress(":9090");
  ASSERT_TRUE(any.ok());
  EXPECT_TRUE(any->any);
  EXPECT_EQ(any->ToString(), "[::]:9090");
  EXPECT_FALSE(any->is_loopback());

  auto all4 = ParseListenAddress("0.0.0.0:1");
  ASSERT_TRUE(all4.ok());
  EXPECT_FALSE(all4->is_loopback());
  EXPECT_EQ(ParseListenAddress("[2001:db8::1]:65535")->ToString(), "[2001:db8::1]:65535");
  EXPECT_EQ(ParseListenAddress("127.0.0.1:0", /*allow_port_zero=*/true)->port, 0);
}

TEST(ListenAddress, RejectedFormsSayWhy) {
  struct Case {
    const char* text;
    const char* message;
  } cases[] = {
      {"", "empty address (want HOST:PORT)"},
      {"127.0.0.1", "\"127.0.0.1\": missing \":PORT\" (want HOST:PORT)"},
      {"127.0.0.1:99999", "\"127.0.0.1:99999\": port out of range 1-65535"},
      {"127.0.0.1:0", "\"127.0.0.1:0\": port out of range 1-65535"},
      {"127.0.0.1:", "\"127.0.0.1:\": missing port number after ':'"},
      {"127.0.0.1:http", "\"127.0.0.1:http\": port \"http\" is not a number"},
      {"127.0.0.1:80x", "\"127.0.0.1:80x\": port \"80x\" is not a number"},
      {"[::1", "\"[::1\": unclosed '[' (want [IPv6]:PORT)"},
      {"[::1]", "\"[::1]\": missing \":PORT\" after ']'"},
      {"::1:80", "\"::1:80\": an IPv6 address needs brackets: [IPv6]:PORT"},
      {"999.1.1.1:9090",
       "\"999.1.1.1:9090\": \"999.1.1.1\" is not an IP address (want an IPv4 literal, [IPv6], "
       "localhost, or nothing before ':' for every address)"},
      {"[127.0.0.1]:80",
       "\"[127.0.0.1]:80\": \"127.0.0.1\" is not an IP address (want an IPv4 literal, [IPv6], "
       "localhost, or nothing before ':' for every address)"},
      {"example.com:80",
       "\"example.com:80\": \"example.com\" is not an IP address (want an IPv4 literal, [IPv6], "
       "localhost, or nothing before ':' for every address)"},
      {"127.0.0.1:99999999999999999999",
       "\"127.0.0.1:99999999999999999999\": port out of range 1-65535"},
  };
  for (const Case& c : cases) {
    auto r = ParseListenAddress(c.text);
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << c.text;
    EXPECT_EQ(r.status().message(), c.message) << c.text;
  }
}

TEST(ListenAddress, ProbeBindSeesATakenPort) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(0x7f000001);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&sin), sizeof sin), 0);
  ASSERT_EQ(listen(fd, 1), 0);
  socklen_t len = sizeof sin;
  getsockname(fd, reinterpret_cast<sockaddr*>(&sin), &len);
  uint16_t port = ntohs(sin.sin_port);

  auto taken = ParseListenAddress("127.0.0.1:" + std::to_string(port));
  ASSERT_TRUE(taken.ok());
  absl::Status st = ProbeBind(*taken);
  EXPECT_EQ(st.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(st.message(), "127.0.0.1:" + std::to_string(port) + ": Address already in use");
  close(fd);
  EXPECT_TRUE(ProbeBind(*taken).ok());

  // An address that is not this host's.
  auto foreign = ParseListenAddress("192.0.2.77:9");
  ASSERT_TRUE(foreign.ok());
  EXPECT_EQ(ProbeBind(*foreign).message(), "192.0.2.77:9: Cannot assign requested address");
}

}  // namespace
}  // namespace maglev
