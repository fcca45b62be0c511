// SPDX-License-Identifier: Apache-2.0
// ip_route_lookup and its reply byte for byte at the offsets of STATS.md
// 4.3, and the reply decoder's checks (paths counted against the payload).
#include <gtest/gtest.h>

#include "vpp/messages.h"

namespace maglev::vppmsg {
namespace {

TEST(IpRouteLookupTest, RequestLayout) {
  IpRouteLookup req;
  req.prefix.address = *IpAddress::Parse("192.0.2.80");
  req.prefix.len = 32;
  std::vector<uint8_t> p = Encode(req, Header{0x1234, 7, 9});
  ASSERT_EQ(p.size(), 33u);
  EXPECT_EQ(p[0], 0x12);
  EXPECT_EQ(p[1], 0x34);
  EXPECT_EQ(p[5], 7);  // client_index
  EXPECT_EQ(p[9], 9);  // context
  EXPECT_EQ((std::vector<uint8_t>(p.begin() + 10, p.begin() + 14)),
            (std::vector<uint8_t>{0, 0, 0, 0}));  // table_id
  EXPECT_EQ(p[14], 1);                            // exact
  EXPECT_EQ(p[15], kAddressIp4);                  // af
  EXPECT_EQ((std::vector<uint8_t>(p.begin() + 16, p.begin() + 20)),
            (std::vector<uint8_t>{192, 0, 2, 80}));
  EXPECT_EQ(p[32], 32);  // len
  auto back = Decode<IpRouteLookup>(p);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, req);
}

TEST(IpRouteLookupTest, ReplyStatsIndexAndPaths) {
  IpRouteLookupReply rep;
  rep.stats_index = 0x01020304;
  rep.prefix.address = *IpAddress::Parse("2001:db8::80");
  rep.prefix.len = 128;
  rep.n_paths = 2;
  std::vector<uint8_t> p = Encode(rep, Header{5, 0, 9});
  ASSERT_EQ(p.size(), 37u + 2 * 167);
  EXPECT_EQ((std::vector<uint8_t>(p.begin() + 14, p.begin() + 18)),
            (std::vector<uint8_t>{1, 2, 3, 4}));  // route.stats_index
  EXPECT_EQ(p[18], kAddressIp6);
  EXPECT_EQ(p[35], 128);
  EXPECT_EQ(p[36], 2);
  auto back = Decode<IpRouteLookupReply>(p);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->stats_index, 0x01020304u);
  EXPECT_EQ(back->prefix, rep.prefix);
  // A path count beyond the payload is refused, not read past.
  p.resize(p.size() - 1);
  EXPECT_FALSE(Decode<IpRouteLookupReply>(p).ok());
  // No such route: retval -6.
  IpRouteLookupReply none;
  none.retval = -6;
  auto n = Decode<IpRouteLookupReply>(Encode(none, Header{5, 0, 1}));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->retval, -6);
  EXPECT_FALSE(Decode<IpRouteLookupReply>(std::vector<uint8_t>(20, 0)).ok());
}

}  // namespace
}  // namespace maglev::vppmsg
