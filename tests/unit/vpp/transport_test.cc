// VppTransport against an in-test fake VPP on a unix socket.
#include "vpp/transport.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <mutex>

#include "fake_vpp_server.h"

namespace maglev {
namespace {

namespace m = vppmsg;
using testing::FakeVppConn;
using testing::FakeVppServer;

constexpr std::string_view kPing = m::ControlPing::kNameCrc;

VppTransportOptions Opts(int timeout_ms) {
  VppTransportOptions o;
  o.timeout = std::chrono::milliseconds(timeout_ms);
  return o;
}

IpAddress Ip(const char* t) { return *IpAddress::Parse(t); }

TEST(VppTransportTest, HandshakeLoadsTheMessageTable) {
  FakeVppServer server;
  server.Start();
  VppTransport t(Opts(5000));
  ASSERT_TRUE(t.Connect(server.socket_path()).ok());
  EXPECT_TRUE(t.connected());
  EXPECT_EQ(t.client_index(), 0x80000001u);
  EXPECT_EQ(t.FindMsgId(kPing), std::optional<uint16_t>(23));
  EXPECT_EQ(t.MsgName(23), kPing);
  EXPECT_TRUE(t.HasMessage(m::LbAsSetWeight::kNameCrc));
  EXPECT_FALSE(t.HasMessage("lb_as_set_weight_00000000"));
  EXPECT_EQ(t.message_table_size(), m::AllMessages().size());
  EXPECT_EQ(server.client_name(), "vpp-maglev");
  auto id = t.MsgIdOf<m::LbConf>();
  ASSERT_TRUE(id.ok());
  EXPECT_GE(*id, 0x400);
}

TEST(VppTransportTest, HandlesRepliesArrivingInTinyPieces) {
  FakeVppServer server;
  server.set_write_chunk(7);  // every frame arrives over many reads
  server.Start();
  VppTransport t(Opts(5000));
  ASSERT_TRUE(t.Connect(server.socket_path()).ok());
  EXPECT_EQ(t.message_table_size(), m::AllMessages().size());
  auto rep = t.Call<m::ControlPingReply>(m::ControlPing{});
  ASSERT_TRUE(rep.ok()) << rep.status();
  EXPECT_EQ(rep->vpe_pid, 4242u);
}

TEST(VppTransportTest, MissingRequiredMessageIsAClearErrorAtConnect) {
  FakeVppServer server({std::string(m::LbAsSetWeight::kNameCrc)});
  server.Start();
  VppTransport t(Opts(5000));
  std::string_view required[] = {kPing, m::LbAsSetWeight::kNameCrc, m::LbConf::kNameCrc};
  absl::Status s = t.Connect(server.socket_path(), required);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("lb_as_set_weight_2d89bdbd"), absl::string_view::npos) << s;
  EXPECT_EQ(s.message().find("lb_conf_56cd3261"), absl::string_view::npos) << s;
  EXPECT_FALSE(t.connected());
}

TEST(VppTransportTest, ControlPingRoundTripEchoesClientIndex) {
  FakeVppServer server;
  server.Start();
  VppTransport t(Opts(5000));
  ASSERT_TRUE(t.Connect(server.socket_path()).ok());
  auto rep = t.Call<m::ControlPingReply>(m::ControlPing{});
  ASSERT_TRUE(rep.ok()) << rep.status();
  EXPECT_EQ(rep->retval, 0);
  EXPECT_EQ(rep->vpe_pid, 4242u);
  EXPECT_EQ(rep->client_index, server.handle());
}

TEST(VppTransportTest, RepliesAreMatchedByContextAndStrangersDropped) {
  FakeVppServer server;
  server.set_handler(
      [](FakeVppConn& c, uint16_t id, const std::string& name, const std::vector<uint8_t>& p) {
        if (name == kPing) {
          m::Header h;
          ASSERT_TRUE(m::Decode<m::ControlPing>(p, &h).ok());
          m::ControlPingReply stale;
          stale.vpe_pid = 1;
          c.Send(stale, h.context + 1000);                      // nobody waits for this context
          c.SendPayload({0x7f, 0x7f, 0, 0, 0, 0, 0, 0, 0, 0});  // an id no table lists
          c.SendPayload({0x00});                                // too short to route
        }
        FakeVppServer::DefaultHandle(c, id, name, p);
      });
  server.Start();
  VppTransport t(Opts(5000));
  ASSERT_TRUE(t.Connect(server.socket_path()).ok());
  auto rep = t.Call<m::ControlPingReply>(m::ControlPing{});
  ASSERT_TRUE(rep.ok()) << rep.status();
  EXPECT_EQ(rep->vpe_pid, 4242u);
  EXPECT_EQ(t.stats().unsolicited_frames, 2u);
  EXPECT_EQ(t.stats().malformed_frames, 1u);
  EXPECT_TRUE(t.connected());
}

TEST(VppTransportTest, DumpCollectsDetailsUntilTheControlPingReply) {
  std::mutex mu;
  std::vector<std::pair<std::string, uint32_t>> seen;  // (name, context)
  FakeVppServer server;
  server.set_handler(
      [&](FakeVppConn& c, uint16_t id, const std::string& name, const std::vector<uint8_t>& p) {
        m::Header h;
        if (p.size() >= 10) h.context = (uint32_t{p[6]} << 24) | (p[7] << 16) | (p[8] << 8) | p[9];
        {
          std::lock_guard<std::mutex> lock(mu);
          seen.emplace_back(name, h.context);
        }
        if (name == m::LbVipDump::kNameCrc) {
          for (int i = 0; i < 3; ++i) {
            m::LbVipDetails d;
            d.vip = {{IpAddress::V4(0xc0000250 + i), 32}, 6, static_cast<uint16_t>(80 + i)};
            d.flow_table_length = 1024;
            c.Send(d, h.context);
          }
          return;
        }
        FakeVppServer::DefaultHandle(c, id, name, p);
      });
  server.Start();
  VppTransport t(Opts(5000));
  ASSERT_TRUE(t.Connect(server.socket_path()).ok());
  auto vips = t.Dump<m::LbVipDetails>(m::LbVipDump{});
  ASSERT_TRUE(vips.ok()) << vips.status();
  ASSERT_EQ(vips->size(), 3u);
  EXPECT_EQ((*vips)[0].vip.pfx.address, Ip("192.0.2.80"));
  EXPECT_EQ((*vips)[2].vip.port, 82);
  {
    std::lock_guard<std::mutex> lock(mu);
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_EQ(seen[0].first, m::LbVipDump::kNameCrc);
    EXPECT_EQ(seen[1].first, kPing);
    EXPECT_EQ(seen[0].second, seen[1].second) << "control_ping must reuse the dump's context";
  }
  // An empty dump: nothing but the ping reply.
  auto ases = t.Dump<m::LbAsV2Details>(m::LbAsV2Dump{});
  ASSERT_TRUE(ases.ok()) << ases.status();
  EXPECT_TRUE(ases->empty());
}

// The server holds every reply back until it has received all N requests: a
// client that waited for each reply before sending the next would time out.
TEST(VppTransportTest, PipelinesAThousandRequestsBeforeAnyReply) {
  constexpr size_t kCalls = 1000;
  FakeVppServer server;
  std::vector<std::pair<uint32_t, uint8_t>> held;  // server thread only
  server.set_handler(
      [&](FakeVppConn& c, uint16_t id, const std::string& name, const std::vector<uint8_t>& p) {
        if (name != m::LbAddDelAsV2::kNameCrc) return;
        m::Header h;
        auto req = m::Decode<m::LbAddDelAsV2>(p, &h);
        ASSERT_TRUE(req.ok());
        held.emplace_back(h.context, req->weight);
        if (held.size() < kCalls) return;
        for (auto [context, weight] : held) {
          m::LbAddDelAsV2Reply r;
          r.retval = -static_cast<int32_t>(weight);  // lets the client check the matching
          c.Send(r, context);
        }
        held.clear();
      });
  server.Start();
  VppTransport t(Opts(10000));
  ASSERT_TRUE(t.Connect(server.socket_path()).ok());
  std::vector<m::LbAddDelAsV2> reqs(kCalls);
  for (size_t i = 0; i < kCalls; ++i) {
    reqs[i].pfx = {Ip("192.0.2.80"), 32};
    reqs[i].as_address = IpAddress::V4(0x0a000000 + static_cast<uint32_t>(i));
    reqs[i].weight = static_cast<uint8_t>(i % 101);
  }
  auto results = t.CallBatch<m::LbAddDelAsV2Reply>(std::span<const m::LbAddDelAsV2>(reqs));
  ASSERT_EQ(results.size(), kCalls);
  for (size_t i = 0; i < kCalls; ++i) {
    ASSERT_TRUE(results[i].ok()) << i << ": " << results[i].status();
    EXPECT_EQ(results[i]->retval, -static_cast<int32_t>(i % 101)) << i;
  }
}

// Far more bytes than a socket buffer holds, with the server answering as it
// reads: the client must keep reading while it is still writing.
TEST(VppTransportTest, LargeBatchWithPartialWritesDoesNotDeadlock) {
  constexpr size_t kCalls = 20000;  // ~1.3 MB of requests, ~520 KB of replies
  FakeVppServer server;
  server.set_handler(
      [](FakeVppConn& c, uint16_t id, const std::string& name, const std::vector<uint8_t>& p) {
        if (name != m::LbAddDelAsV2::kNameCrc) return;
        m::Header h;
        auto req = m::Decode<m::LbAddDelAsV2>(p, &h);
        ASSERT_TRUE(req.ok());
        m::LbAddDelAsV2Reply r;
        r.retval = req->is_flush ? -81 : 0;
        c.Send(r, h.context);
      });
  server.Start();
  VppTransport t(Opts(10000));
  ASSERT_TRUE(t.Connect(server.socket_path()).ok());
  std::vector<m::LbAddDelAsV2> reqs(kCalls);
  for (size_t i = 0; i < kCalls; ++i) {
    reqs[i].pfx = {Ip("2001:db8::1"), 128};
    reqs[i].as_address = IpAddress::V4(0x0a000000 + static_cast<uint32_t>(i));
    reqs[i].is_flush = i % 3 == 0;
  }
  auto results = t.CallBatch<m::LbAddDelAsV2Reply>(std::span<const m::LbAddDelAsV2>(reqs));
  ASSERT_EQ(results.size(), kCalls);
  size_t errors = 0;
  for (size_t i = 0; i < kCalls; ++i) {
    ASSERT_TRUE(results[i].ok()) << results[i].status();
    EXPECT_EQ(results[i]->retval, i % 3 == 0 ? -81 : 0);
    errors += results[i]->retval != 0;
  }
  EXPECT_EQ(errors, (kCalls + 2) / 3);
}

TEST(VppTransportTest, SilentPeerGivesDeadlineExceededNotAHang) {
  FakeVppServer server;
  server.set_handler([](FakeVppConn&, uint16_t, const std::string&, const std::vector<uint8_t>&) {
  });  // never answers anything
  server.Start();
  VppTransport t(Opts(200));
  ASSERT_TRUE(t.Connect(server.socket_path()).ok());
  auto rep = t.Call<m::ControlPingReply>(m::ControlPing{});
  EXPECT_EQ(rep.status().code(), absl::StatusCode::kDeadlineExceeded) << rep.status();
  EXPECT_NE(rep.status().message().find("control_ping"), absl::string_view::npos) << rep.status();
  EXPECT_FALSE(t.connected()) << "a timed-out connection is dropped";
  // A later call reports the disconnection; a reconnect works.
  EXPECT_EQ(t.Call<m::ControlPingReply>(m::ControlPing{}).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_TRUE(t.Connect(server.socket_path()).ok());
}

TEST(VppTransportTest, UnansweredHandshakeGivesDeadlineExceeded) {
  FakeVppServer server;
  server.set_answer_handshake(false);
  server.Start();
  VppTransport t(Opts(200));
  absl::Status s = t.Connect(server.socket_path());
  EXPECT_EQ(s.code(), absl::StatusCode::kDeadlineExceeded) << s;
  EXPECT_FALSE(t.connected());
}

TEST(VppTransportTest, PeerClosingGivesUnavailable) {
  FakeVppServer server;
  server.set_handler(
      [](FakeVppConn& c, uint16_t, const std::string& name, const std::vector<uint8_t>&) {
        if (name == kPing) c.CloseAfterThis();  // hang up instead of answering
      });
  server.Start();
  VppTransport t(Opts(5000));
  ASSERT_TRUE(t.Connect(server.socket_path()).ok());
  auto rep = t.Call<m::ControlPingReply>(m::ControlPing{});
  EXPECT_EQ(rep.status().code(), absl::StatusCode::kUnavailable) << rep.status();
  EXPECT_FALSE(t.connected());
}

TEST(VppTransportTest, NothingListeningGivesUnavailable) {
  VppTransport t(Opts(200));
  absl::Status s = t.Connect("/nonexistent-dir-maglev/api.sock");
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
  EXPECT_EQ(t.Call<m::ControlPingReply>(m::ControlPing{}).status().code(),
            absl::StatusCode::kUnavailable);
}

TEST(VppTransportTest, KeepaliveFromThePeerIsAnswered) {
  std::mutex mu;
  std::vector<uint32_t> keepalive_reply_contexts;
  FakeVppServer server;
  server.set_handler(
      [&](FakeVppConn& c, uint16_t id, const std::string& name, const std::vector<uint8_t>& p) {
        if (name == m::MemclntKeepaliveReply::kNameCrc) {
          m::Header h;
          auto r = m::Decode<m::MemclntKeepaliveReply>(p, &h);
          ASSERT_TRUE(r.ok());
          EXPECT_EQ(r->retval, 0);
          std::lock_guard<std::mutex> lock(mu);
          keepalive_reply_contexts.push_back(h.context);
          return;
        }
        if (name == kPing) {
          c.Send(m::MemclntKeepalive{}, 0x5555, 0);  // VPP-style unsolicited keepalive
        }
        FakeVppServer::DefaultHandle(c, id, name, p);
      });
  server.Start();
  VppTransport t(Opts(5000));
  ASSERT_TRUE(t.Connect(server.socket_path()).ok());
  ASSERT_TRUE(t.Call<m::ControlPingReply>(m::ControlPing{}).ok());
  EXPECT_EQ(t.stats().keepalives_answered, 1u);
  // The server handles frames in order: once this second ping is answered,
  // the keepalive reply sent before it has been seen.
  ASSERT_TRUE(t.Call<m::ControlPingReply>(m::ControlPing{}).ok());
  std::lock_guard<std::mutex> lock(mu);
  ASSERT_GE(keepalive_reply_contexts.size(), 1u);
  EXPECT_EQ(keepalive_reply_contexts[0], 0x5555u);
}

TEST(VppTransportTest, CloseSendsSockclntDelete) {
  FakeVppServer server;
  server.Start();
  VppTransport t(Opts(5000));
  ASSERT_TRUE(t.Connect(server.socket_path()).ok());
  absl::Status s = t.Close();
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_FALSE(t.connected());
  auto got = server.received();
  ASSERT_FALSE(got.empty());
  EXPECT_EQ(got.back(), m::SockclntDelete::kNameCrc);
  EXPECT_TRUE(t.Close().ok()) << "closing twice is a no-op";
}

TEST(VppTransportTest, WrongReplyTypeForAContextIsAnError) {
  FakeVppServer server;
  server.set_handler(
      [](FakeVppConn& c, uint16_t id, const std::string& name, const std::vector<uint8_t>& p) {
        if (name == m::ShowVersion::kNameCrc) {
          m::Header h;
          ASSERT_TRUE(m::Decode<m::ShowVersion>(p, &h).ok());
          c.Send(m::ControlPingReply{}, h.context);  // wrong type, right context
          return;
        }
        FakeVppServer::DefaultHandle(c, id, name, p);
      });
  server.Start();
  VppTransport t(Opts(5000));
  ASSERT_TRUE(t.Connect(server.socket_path()).ok());
  auto rep = t.Call<m::ShowVersionReply>(m::ShowVersion{});
  EXPECT_EQ(rep.status().code(), absl::StatusCode::kInternal);
  EXPECT_NE(rep.status().message().find("control_ping_reply_f6b0b8ca"), absl::string_view::npos)
      << rep.status();
  EXPECT_TRUE(t.Call<m::ControlPingReply>(m::ControlPing{}).ok()) << "connection still usable";
}

TEST(VppTransportTest, AbsurdFrameLengthIsDataLoss) {
  FakeVppServer server;
  server.set_handler(
      [](FakeVppConn& c, uint16_t, const std::string& name, const std::vector<uint8_t>&) {
        if (name == kPing) c.SendRaw({0, 0, 0, 0, 0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0});
      });
  server.Start();
  VppTransport t(Opts(5000));
  ASSERT_TRUE(t.Connect(server.socket_path()).ok());
  auto rep = t.Call<m::ControlPingReply>(m::ControlPing{});
  EXPECT_EQ(rep.status().code(), absl::StatusCode::kDataLoss) << rep.status();
  EXPECT_FALSE(t.connected());
}

TEST(VppTransportTest, MalformedReplyPayloadIsAnErrorForThatCall) {
  FakeVppServer server;
  server.set_handler([](FakeVppConn& c, uint16_t id, const std::string& name,
                        const std::vector<uint8_t>& p) {
    if (name == m::ShowVersion::kNameCrc) {
      m::Header h;
      ASSERT_TRUE(m::Decode<m::ShowVersion>(p, &h).ok());
      auto full =
          m::Encode(m::ShowVersionReply{}, {c.IdOf(m::ShowVersionReply::kNameCrc), 0, h.context});
      full.resize(100);  // much shorter than its 362-byte fixed size
      c.SendPayload(full);
      return;
    }
    FakeVppServer::DefaultHandle(c, id, name, p);
  });
  server.Start();
  VppTransport t(Opts(5000));
  ASSERT_TRUE(t.Connect(server.socket_path()).ok());
  auto rep = t.Call<m::ShowVersionReply>(m::ShowVersion{});
  EXPECT_EQ(rep.status().code(), absl::StatusCode::kInvalidArgument) << rep.status();
  EXPECT_NE(rep.status().message().find("show_version_reply"), absl::string_view::npos);
}

TEST(VppTransportTest, FrameHeaderLayout) {
  std::vector<uint8_t> frame;
  AppendVppFrame(&frame, std::vector<uint8_t>{0xaa, 0xbb, 0xcc});
  EXPECT_EQ(frame, (std::vector<uint8_t>{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0xaa, 0xbb,
                                         0xcc}));
}

}  // namespace
}  // namespace maglev
