// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include "http_server.h"
#include "servers.h"

namespace maglev::frontend {
namespace {

TEST(ParseServers, NamesDefaultToTheAddress) {
  auto s = ParseServers("127.0.0.1:9090, r2=[::1]:9091,r3=router3.example:9090");
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_EQ(s->size(), 3u);
  EXPECT_EQ((*s)[0].name, "127.0.0.1:9090");
  EXPECT_EQ((*s)[0].address, "127.0.0.1:9090");
  EXPECT_EQ((*s)[1].name, "r2");
  EXPECT_EQ((*s)[1].address, "[::1]:9091");
  EXPECT_EQ((*s)[2].address, "router3.example:9090");
}

TEST(ParseServers, RejectsBadItems) {
  for (const char* bad : {"", "r1=", "=127.0.0.1:1", "127.0.0.1", "127.0.0.1:0", "a b=1.2.3.4:5",
                          "r1=1.2.3.4:5,r1=1.2.3.4:6", "1.2.3.4:5,", "::1:80", "r/1=1.2.3.4:5"}) {
    EXPECT_FALSE(ParseServers(bad).ok()) << bad;
  }
}

TEST(BasicAuth, DecodesUserAndPassword) {
  std::string u, p;
  ASSERT_TRUE(DecodeBasicAuth("Basic YWRtaW46czNjcjp0", &u, &p));  // admin:s3cr:t
  EXPECT_EQ(u, "admin");
  EXPECT_EQ(p, "s3cr:t");
  ASSERT_TRUE(DecodeBasicAuth("basic YTpi", &u, &p));  // a:b
  EXPECT_EQ(u, "a");
  ASSERT_TRUE(DecodeBasicAuth("Basic YTo=", &u, &p));  // a:
  EXPECT_EQ(p, "");
  for (const char* bad : {"", "Basic", "Basic ", "Bearer YTpi", "Basic YTpi=", "Basic Y=pi",
                          "Basic !!!!", "Basic YWJj" /* abc: no colon */}) {
    EXPECT_FALSE(DecodeBasicAuth(bad, &u, &p)) << bad;
  }
}

TEST(Paths, SplitAndDecode) {
  EXPECT_EQ(SplitPath("/view/api/state"), (std::vector<std::string>{"view", "api", "state"}));
  EXPECT_EQ(SplitPath("/view/"), (std::vector<std::string>{"view", ""}));
  EXPECT_EQ(SplitPath("/"), (std::vector<std::string>{""}));
  std::string out;
  EXPECT_TRUE(PercentDecode("127.0.0.1%3A9090", &out));
  EXPECT_EQ(out, "127.0.0.1:9090");
  EXPECT_FALSE(PercentDecode("%zz", &out));
  EXPECT_FALSE(PercentDecode("%4", &out));
  EXPECT_FALSE(PercentDecode("a%00b", &out));
  EXPECT_EQ(JsonError("bad \"x\""), R"({"error":"bad \"x\""})");
}

}  // namespace
}  // namespace maglev::frontend
