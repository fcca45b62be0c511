// Transport-level semantics of the handler (PROTOCOL.md §1, §7): handshake,
// handles, reply routing by client_index, drops, delete, ping, keepalive,
// get_first_msg_id, api_versions, show_version, cli_inband.
#include "vppsim/api_handler.h"

#include <gtest/gtest.h>

#include "harness.h"

namespace maglev::vppsim::testing {
namespace {

TEST(Handshake, ReplyLayoutAndTable) {
  Harness h;
  EXPECT_EQ(h.hs.client_index_field, 0u);  // quirk 12
  EXPECT_EQ(h.hs.context, 0x7bu);
  EXPECT_EQ(h.hs.response, 0);
  EXPECT_EQ(h.hs.handle, 0x80000001u);  // pool index 0 is the listener
  EXPECT_EQ(h.hs.count, 80u);           // 78 + ip_route_lookup and its reply
  EXPECT_EQ(h.hs.ids.size(), 80u);
  EXPECT_EQ(h.hs.ids.at("sockclnt_create_455fb9c4"), 15);
  EXPECT_EQ(h.hs.ids.at("control_ping_51077d14"), 23);
  EXPECT_EQ(h.hs.ids.at("control_ping_reply_f6b0b8ca"), 24);
  EXPECT_EQ(h.hs.ids.at("lb_add_del_vip_6fa569c7"), kDefaultLbFirstMsgId + 4);
  EXPECT_TRUE(h.hs.ids.count("lb_as_set_weight_2d89bdbd"));
  EXPECT_TRUE(h.hs.ids.count("show_version_51077d14"));
  EXPECT_TRUE(h.hs.ids.count("cli_inband_f8377302"));
  EXPECT_EQ(h.hs.ids.at("ip_route_lookup_710d6471"), kDefaultIpFirstMsgId);
  EXPECT_EQ(h.hs.ids.at("ip_route_lookup_reply_5d8febcb"), kDefaultIpFirstMsgId + 1);
  EXPECT_EQ(h.handler->ClientName(h.reg), "harness");
}

// ip_route_lookup (STATS.md 4.3): a VIP's prefix has a route whose
// stats_index is the load-balance /net/route/to counts it under; no route,
// another table or a deleted VIP answer -6.
TEST(IpRouteLookup, StatsIndexOfAVipRoute) {
  Harness h;
  ASSERT_EQ(h.AddVip({"192.0.2.80/32", 6, 80}), 0);
  auto lookup = [&](const std::string& prefix, uint32_t table) {
    Bytes req = h.Req("ip_route_lookup").U32(table).U8(1).Raw(Prefix(prefix)).Take();
    std::vector<Bytes> r = h.Send(req);
    EXPECT_EQ(r.size(), 1u);
    if (r.size() != 1 || r[0].size() != 37) {
      ADD_FAILURE() << "bad reply";
      return std::pair<int32_t, uint32_t>{0, 0};
    }
    EXPECT_EQ(Be16(r[0].data()), h.Id("ip_route_lookup_reply"));
    EXPECT_EQ(Be32(&r[0][2]), h.context);
    EXPECT_EQ(r[0][36], 0);  // n_paths
    return std::pair<int32_t, uint32_t>{static_cast<int32_t>(Be32(&r[0][6])), Be32(&r[0][14])};
  };
  auto [rv, index] = lookup("192.0.2.80/32", 0);
  EXPECT_EQ(rv, 0);
  EXPECT_EQ(index, *h.handler->model().RouteStatsIndex(
                       false, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 192, 0, 2, 80}, 32));
  EXPECT_EQ(lookup("192.0.2.81/32", 0).first, -6);
  EXPECT_EQ(lookup("192.0.2.80/32", 5).first, -6);
}

TEST(Handshake, HandlesAreAllocatedLikeVppPools) {
  Harness h;
  uint32_t b = h.handler->Connect();
  uint32_t c = h.handler->Connect();
  EXPECT_EQ(b, 2u);
  EXPECT_EQ(c, 3u);
  h.handler->Disconnect(b);
  h.handler->Disconnect(b);  // idempotent
  EXPECT_EQ(h.handler->num_clients(), 2u);
  EXPECT_EQ(h.handler->Connect(), 2u);  // most recently freed first
  EXPECT_EQ(h.handler->Connect(), 4u);
}

TEST(Routing, RepliesGoWhereClientIndexPoints) {
  Harness h;
  uint32_t other = h.handler->Connect();
  const uint32_t other_handle = 0x80000000u | other;
  // control_ping from our connection but with the other client's handle.
  Bytes ping = Msg(23).U32(other_handle).U32(9).Take();
  HandleResult r = h.handler->Handle(h.reg, ping.data(), ping.size());
  ASSERT_EQ(r.replies.size(), 1u);
  EXPECT_EQ(r.replies[0].registration, other);
  // An unknown handle: executed, not answered.
  Bytes add = h.VipPayload("lb_add_del_vip", {"90.0.0.0/8", 255, 0}, {}, false);
  add[2] = 0x80;
  add[3] = add[4] = 0;
  add[5] = 0x63;  // 0x80000063
  EXPECT_TRUE(h.Send(add).empty());
  EXPECT_FALSE(h.last_dropped);
  EXPECT_EQ(h.VipDump().size(), 1u);  // it was executed
  // Without the top bit it is not a socket handle either.
  Bytes ping2 = Msg(23).U32(h.reg).U32(9).Take();
  EXPECT_TRUE(h.Send(ping2).empty());
  // Dumps check client_index first and do nothing at all.
  Bytes dump = h.Req("lb_vip_dump").Raw(Prefix("0.0.0.0/0")).U8(0).U8(0).U8(0).U16(0).Take();
  dump[5] = 0x77;
  EXPECT_TRUE(h.Send(dump).empty());
}

TEST(Drops, UnknownShortAndTrailing) {
  Harness h;
  EXPECT_TRUE(h.Send(Msg(9999).U32(h.handle).U32(1).Take()).empty());
  EXPECT_TRUE(h.last_dropped);
  EXPECT_TRUE(h.Send(Bytes{0x00}).empty());
  EXPECT_TRUE(h.last_dropped);
  EXPECT_TRUE(h.Send(Bytes{}).empty());
  // Reply and details ids have no handler either.
  EXPECT_TRUE(h.Send(Msg(24).U32(1).U32(0).U32(0).U32(0).Take()).empty());
  EXPECT_TRUE(h.last_dropped);
  // One byte short: not executed.
  Bytes add = h.VipPayload("lb_add_del_vip", {"90.0.0.0/8", 255, 0}, {}, false);
  Bytes short_add(add.begin(), add.end() - 1);
  EXPECT_TRUE(h.Send(short_add).empty());
  EXPECT_TRUE(h.last_dropped);
  EXPECT_TRUE(h.VipDump().empty());
  // Trailing bytes are ignored.
  add.insert(add.end(), {1, 2, 3});
  std::vector<Bytes> r = h.Send(add);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(Be32(&r[0][6]), 0u);
  EXPECT_EQ(h.VipDump().size(), 1u);
  // cli_inband whose announced length exceeds the payload is dropped.
  Bytes cli = h.Req("cli_inband").U32(100).Raw({'s', 'h'}).Take();
  EXPECT_TRUE(h.Send(cli).empty());
  EXPECT_TRUE(h.last_dropped);
  // 1.2.0 messages do not exist in legacy mode: dropped as unknown.
  Harness legacy(true);
  // (lb_as_v2_dump is base + 20; the 1.1.0 block has 18 ids.)
  Bytes v2dump = Msg(h.Id("lb_as_v2_dump")).U32(legacy.handle).U32(1).Raw(Bytes(21, 0)).Take();
  EXPECT_TRUE(legacy.Send(v2dump).empty());
  EXPECT_TRUE(legacy.last_dropped);
}

TEST(Core, ControlPingEchoesClientIndex) {
  Harness h;
  std::vector<Bytes> r = h.Send(Msg(23).U32(h.handle).U32(77).Take());
  ASSERT_EQ(r.size(), 1u);
  ASSERT_EQ(r[0].size(), 18u);
  EXPECT_EQ(Be16(r[0].data()), 24);
  EXPECT_EQ(Be32(&r[0][2]), 77u);
  EXPECT_EQ(Be32(&r[0][6]), 0u);
  EXPECT_EQ(Be32(&r[0][10]), h.handle);
  EXPECT_EQ(Be32(&r[0][14]), 4242u);
}

TEST(Core, KeepaliveIsNotAnsweredOverTheSocket) {
  Harness h;
  EXPECT_TRUE(h.Send(Msg(21).U32(h.handle).U32(5).Take()).empty());
  EXPECT_FALSE(h.last_dropped);  // handled, just no socket reply (PROTOCOL.md §1.8)
}

TEST(Core, SockclntDelete) {
  Harness h;
  uint32_t other = h.handler->Connect();
  // Unknown index: -1 to the sender.
  std::vector<Bytes> r = h.Send(Msg(17).U32(h.handle).U32(3).U32(0x80000063).Take());
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(Be16(r[0].data()), 18);
  EXPECT_EQ(static_cast<int32_t>(Be32(&r[0][6])), -1);
  // Our own handle: response 1 (quirk 11), then the connection is released.
  Bytes del = Msg(17).U32(h.handle).U32(4).U32(h.handle).Take();
  HandleResult res = h.handler->Handle(h.reg, del.data(), del.size());
  ASSERT_EQ(res.replies.size(), 1u);
  EXPECT_EQ(res.replies[0].registration, h.reg);
  EXPECT_EQ(Be32(&res.replies[0].payload[2]), 4u);
  EXPECT_EQ(Be32(&res.replies[0].payload[6]), 1u);
  EXPECT_EQ(res.close_after_flush, std::vector<uint32_t>{h.reg});
  EXPECT_FALSE(h.handler->IsLive(h.reg));
  EXPECT_TRUE(h.handler->IsLive(other));
  // The index may be given without the top bit.
  Bytes del2 = Msg(17).U32(0x80000000u | other).U32(5).U32(other).Take();
  res = h.handler->Handle(other, del2.data(), del2.size());
  ASSERT_EQ(res.replies.size(), 1u);
  EXPECT_EQ(Be32(&res.replies[0].payload[6]), 1u);
  EXPECT_EQ(h.handler->num_clients(), 0u);
}

TEST(Core, GetFirstMsgIdAndApiVersions) {
  Harness h;
  std::vector<Bytes> r = h.Send(h.Req("get_first_msg_id").Str("lb_487dee0a", 64).Take());
  ASSERT_EQ(r.size(), 1u);
  ASSERT_EQ(r[0].size(), 12u);
  EXPECT_EQ(Be16(r[0].data()), 11);
  EXPECT_EQ(Be32(&r[0][6]), 0u);
  EXPECT_EQ(Be16(&r[0][10]), h.Id("lb_conf"));
  r = h.Send(h.Req("get_first_msg_id").Str("lb_ac602d7b", 64).Take());
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(static_cast<int32_t>(Be32(&r[0][6])), -7);
  EXPECT_EQ(Be16(&r[0][10]), 0xffff);
  r = h.Send(h.Req("api_versions").Take());
  ASSERT_EQ(r.size(), 1u);
  ASSERT_EQ(r[0].size(), 14u);
  EXPECT_EQ(Be16(r[0].data()), 13);
  EXPECT_EQ(Be32(&r[0][10]), 0u);
}

TEST(Core, ShowVersion) {
  Harness h;
  std::vector<Bytes> r = h.Send(h.Req("show_version").Take());
  ASSERT_EQ(r.size(), 1u);
  ASSERT_EQ(r[0].size(), 362u);
  EXPECT_EQ(Be16(r[0].data()), h.Id("show_version_reply"));
  auto field = [&](size_t off, size_t n) {
    return std::string(reinterpret_cast<const char*>(&r[0][off]),
                       strnlen(reinterpret_cast<const char*>(&r[0][off]), n));
  };
  EXPECT_EQ(field(10, 32), "vpe");
  EXPECT_EQ(field(42, 32), "26.10-maglev-vppsim");
  EXPECT_EQ(field(74, 32), "2026-08-21T00:00:00");
  EXPECT_FALSE(field(106, 256).empty());
}

}  // namespace
}  // namespace maglev::vppsim::testing
