// The socket server with a hand-written client: wire-examples.json frames
// sent verbatim, framing, malformed input, pipelining, many clients, delete,
// the GC process, start/stop.
#include "vppsim/server.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <asio/post.hpp>
#include <atomic>
#include <chrono>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "common/log.h"
#include "sim_test_util.h"

namespace maglev::vppsim::testing {
namespace {

using nlohmann::json;

class ServerTest : public ::testing::Test {
 protected:
  void StartServer(SimServer::Options o = {}) {
    Logger::Get().SetOutput(nullptr);
    char tmpl[] = "/tmp/vppsim-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/api.sock";
    o.socket_path = path_;
    if (o.max_frame_bytes == (64u << 20)) o.max_frame_bytes = 1u << 20;
    auto s = SimServer::Create(io_, o, [this] { return clock_.load(); });
    ASSERT_TRUE(s.ok()) << s.status();
    server_ = std::move(*s);
    ASSERT_TRUE(server_->Start().ok());
    thread_ = std::thread([this] { io_.run(); });
  }

  void TearDown() override {
    if (server_) {
      asio::post(io_, [this] { server_->Stop(); });
      thread_.join();
      struct stat st {};
      EXPECT_NE(::lstat(path_.c_str(), &st), 0) << "socket file left behind";
      server_.reset();
    }
    if (!dir_.empty()) ::rmdir(dir_.c_str());
  }

  template <typename F>
  auto OnLoop(F f) -> decltype(f()) {
    std::packaged_task<decltype(f())()> task(std::move(f));
    auto fut = task.get_future();
    asio::post(io_, [&task] { task(); });
    return fut.get();
  }

  // Polls `pred` on the loop thread until true (bounded; no timing asserts).
  template <typename F>
  bool Eventually(F pred) {
    for (int i = 0; i < 500; ++i) {
      if (OnLoop(pred)) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }

  std::unique_ptr<Client> NewClient(const std::string& name, Handshake* hs) {
    auto c = std::make_unique<Client>();
    EXPECT_TRUE(c->Connect(path_));
    std::optional<Handshake> h = c->Register(name);
    EXPECT_TRUE(h.has_value());
    if (h) *hs = *h;
    return c;
  }

  // Sends control_ping(context) and reads frames until its reply; returns
  // the number of other frames seen before it (-1: no reply).
  static int PingThrough(Client& c, uint32_t handle, uint32_t context) {
    if (!c.Send(Msg(23).U32(handle).U32(context).Take())) return -1;
    for (int others = 0; others < 10000; ++others) {
      std::optional<Bytes> r = c.Read();
      if (!r) return -1;
      if (r->size() == 18 && Be16(r->data()) == 24 && Be32(&(*r)[2]) == context) return others;
    }
    return -1;
  }

  asio::io_context io_;
  std::unique_ptr<SimServer> server_;
  std::thread thread_;
  std::atomic<double> clock_{0};
  std::string dir_, path_;
};

json WireExamples() {
  std::ifstream in(MAGLEV_SHARED_DIR "/vpp-api/wire-examples.json");
  EXPECT_TRUE(in.good());
  return in ? json::parse(in) : json::object();
}

Bytes ExampleFrame(const json& ex, const std::string& what_prefix, Bytes* payload = nullptr) {
  for (const json& e : ex["examples"]) {
    if (e["what"].get<std::string>().rfind(what_prefix, 0) == 0) {
      Bytes p = FromHex(e["payload_hex"]);
      EXPECT_EQ(p.size(), e["payload_len"].get<size_t>());
      if (payload) *payload = p;
      if (!e.contains("frame_header_hex")) return {};
      Bytes f = FromHex(e["frame_header_hex"]);
      f.insert(f.end(), p.begin(), p.end());
      return f;
    }
  }
  ADD_FAILURE() << "no example " << what_prefix;
  return {};
}

void Patch(Bytes& frame, uint16_t id, uint32_t client_index) {
  frame[16] = static_cast<uint8_t>(id >> 8);
  frame[17] = static_cast<uint8_t>(id);
  for (int i = 0; i < 4; ++i) frame[18 + i] = static_cast<uint8_t>(client_index >> (24 - 8 * i));
}

TEST_F(ServerTest, WireExamplesVerbatim) {
  StartServer();
  json ex = WireExamples();
  Client c;
  ASSERT_TRUE(c.Connect(path_));

  // sockclnt_create exactly as in the example.
  Bytes reply_example;
  ExampleFrame(ex, "sockclnt_create_reply", &reply_example);
  ASSERT_TRUE(c.SendRaw(ExampleFrame(ex, "sockclnt_create name")));
  Bytes header;
  std::optional<Bytes> r = c.Read(5000, &header);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(Bytes(header.begin(), header.begin() + 8), Bytes(8, 0));
  EXPECT_EQ(Be32(&header[8]), r->size());
  EXPECT_EQ(Bytes(header.begin() + 12, header.end()), Bytes(4, 0));
  EXPECT_GT(r->size(), 4096u);  // like VPP's, written in several chunks
  // id 16, client_index 0, context 0x7b, response 0, index 0x80000001.
  EXPECT_EQ(Bytes(r->begin(), r->begin() + 18),
            Bytes(reply_example.begin(), reply_example.begin() + 18));
  std::optional<Handshake> hs = ParseHandshake(*r);
  ASSERT_TRUE(hs.has_value());
  EXPECT_EQ(hs->ids.at("control_ping_51077d14"), 23);
  EXPECT_EQ(hs->ids.at("control_ping_reply_f6b0b8ca"), 24);
  EXPECT_TRUE(hs->ids.count("lb_conf_get_51077d14"));
  // Every entry is 2 + 64 bytes, NUL-terminated name.
  EXPECT_EQ(r->size(), 20u + 66u * hs->count);

  // control_ping verbatim carries handle 0x80000000, which is nobody's:
  // executed, not answered. The same frame with our handle is answered
  // exactly like the example reply.
  Bytes ping = ExampleFrame(ex, "control_ping (fixed id 23)");
  ASSERT_TRUE(c.SendRaw(ping));
  Patch(ping, 23, hs->handle);
  ASSERT_TRUE(c.SendRaw(ping));
  Bytes ping_reply_example;
  ExampleFrame(ex, "control_ping_reply", &ping_reply_example);
  r = c.Read();
  ASSERT_TRUE(r.has_value());
  ASSERT_EQ(r->size(), ping_reply_example.size());
  EXPECT_EQ(Bytes(r->begin(), r->begin() + 10),
            Bytes(ping_reply_example.begin(), ping_reply_example.begin() + 10));
  EXPECT_EQ(Be32(&(*r)[10]), hs->handle);
  EXPECT_EQ(Be32(&(*r)[14]), static_cast<uint32_t>(::getpid()));

  // lb_add_del_vip with the real id and our handle.
  Bytes add_vip = ExampleFrame(ex, "lb_add_del_vip pfx=90.0.0.0/8");
  Patch(add_vip, hs->by_name.at("lb_add_del_vip"), hs->handle);
  ASSERT_TRUE(c.SendRaw(add_vip));
  r = c.Read();
  ASSERT_TRUE(r.has_value());
  ASSERT_EQ(r->size(), 10u);
  EXPECT_EQ(Be16(r->data()), hs->by_name.at("lb_add_del_vip_reply"));
  EXPECT_EQ(Be32(&(*r)[2]), 2u);  // the example's context
  EXPECT_EQ(Be32(&(*r)[6]), 0u);

  // lb_add_del_as_v2 needs its VIP (2001::/16 tcp/80, GRE4) first.
  ASSERT_TRUE(c.Send(Msg(hs->by_name.at("lb_add_del_vip"))
                         .U32(hs->handle)
                         .U32(50)
                         .Raw(VipKey({"2001::/16", 6, 80}))
                         .U32(0)
                         .U8(0)
                         .U32(0)
                         .U16(0)
                         .U16(0)
                         .U32(1024)
                         .U8(0)
                         .Take()));
  r = c.Read();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(Be32(&(*r)[6]), 0u);
  Bytes add_as = ExampleFrame(ex, "lb_add_del_as_v2");
  Patch(add_as, hs->by_name.at("lb_add_del_as_v2"), hs->handle);
  ASSERT_TRUE(c.SendRaw(add_as));
  r = c.Read();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(Be16(r->data()), hs->by_name.at("lb_add_del_as_v2_reply"));
  EXPECT_EQ(Be32(&(*r)[2]), 3u);
  EXPECT_EQ(Be32(&(*r)[6]), 0u);
  ASSERT_TRUE(c.Send(Msg(hs->by_name.at("lb_as_v2_dump"))
                         .U32(hs->handle)
                         .U32(60)
                         .Raw(VipKey({"2001::/16", 6, 80}))
                         .Take()));
  ASSERT_TRUE(c.Send(Msg(23).U32(hs->handle).U32(60).Take()));
  r = c.Read();
  ASSERT_TRUE(r.has_value());
  AsDetails as = ParseAsDetails(*r, true);
  EXPECT_EQ(as.as, "10.0.0.1");
  EXPECT_EQ(as.weight, 50);
  EXPECT_EQ(as.num_buckets, 1024u);
  EXPECT_EQ(as.flags, 1);
  r = c.Read();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(Be16(r->data()), 24);  // end of dump

  // lb_vip_details of an all-port 90.0.0.0/8 GRE4 VIP of length 1024, dumped
  // with context 4, is byte for byte the example (but for the id).
  Bytes vip_details_example;
  ExampleFrame(ex, "lb_vip_details", &vip_details_example);
  ASSERT_TRUE(c.Send(Msg(hs->by_name.at("lb_add_del_vip"))
                         .U32(hs->handle)
                         .U32(70)
                         .Raw(VipKey({"90.0.0.0/8", 6, 8298}))
                         .U32(0)
                         .U8(0)
                         .U32(0)
                         .U16(0)
                         .U16(0)
                         .U32(1024)
                         .U8(1)
                         .Take()));
  ASSERT_TRUE(c.Send(Msg(hs->by_name.at("lb_add_del_vip"))
                         .U32(hs->handle)
                         .U32(71)
                         .Raw(VipKey({"90.0.0.0/8", 255, 0}))
                         .U32(0)
                         .U8(0)
                         .U32(0)
                         .U16(0)
                         .U16(0)
                         .U32(1024)
                         .U8(0)
                         .Take()));
  for (int i = 0; i < 2; ++i) {
    r = c.Read();
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(Be32(&(*r)[6]), 0u);
  }
  ASSERT_TRUE(
      c.Send(Msg(hs->by_name.at("lb_vip_dump")).U32(hs->handle).U32(4).Raw(Bytes(23, 0)).Take()));
  ASSERT_TRUE(c.Send(Msg(23).U32(hs->handle).U32(4).Take()));
  bool found = false;
  for (int i = 0; i < 3; ++i) {
    r = c.Read();
    ASSERT_TRUE(r.has_value());
    if (Be16(r->data()) == 24) break;
    EXPECT_EQ(Be16(r->data()), hs->by_name.at("lb_vip_details"));
    if (ParseVipDetails(*r).prefix == "90.0.0.0/8") {
      found = true;
      EXPECT_EQ(Bytes(r->begin() + 2, r->end()),
                Bytes(vip_details_example.begin() + 2, vip_details_example.end()));
    }
  }
  EXPECT_TRUE(found);
}

TEST_F(ServerTest, MalformedFramesAreDroppedAndOthersStillServed) {
  StartServer();
  Handshake ha, hb;
  auto a = NewClient("a", &ha);
  uint16_t add_vip = ha.by_name.at("lb_add_del_vip");

  // Truncated lb_add_del_vip: dropped, no reply, not executed.
  Bytes vip = Msg(add_vip)
                  .U32(ha.handle)
                  .U32(1)
                  .Raw(VipKey({"90.0.0.0/8", 255, 0}))
                  .U32(0)
                  .U8(0)
                  .U32(0)
                  .U16(0)
                  .U16(0)
                  .U32(1024)
                  .U8(0)
                  .Take();
  ASSERT_TRUE(a->Send(Bytes(vip.begin(), vip.end() - 1)));
  EXPECT_EQ(PingThrough(*a, ha.handle, 1001), 0);
  EXPECT_EQ(OnLoop([this] { return server_->handler().model().num_vip_slots(); }), 0u);
  // Unknown id, empty frame, 1-byte frame: nothing comes back.
  ASSERT_TRUE(a->Send(Msg(9999).U32(ha.handle).U32(2).Take()));
  ASSERT_TRUE(a->Send(Bytes{}));
  ASSERT_TRUE(a->Send(Bytes{0x42}));
  EXPECT_EQ(PingThrough(*a, ha.handle, 1002), 0);

  // A frame split byte by byte is reassembled.
  Bytes frame = Frame(vip);
  for (uint8_t byte : frame) ASSERT_TRUE(a->SendRaw({byte}));
  std::optional<Bytes> r = a->Read();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(Be32(&(*r)[6]), 0u);

  // A huge announced length: that connection is dropped, nobody else notices.
  auto b = NewClient("b", &hb);
  Bytes huge(16, 0);
  huge[8] = huge[9] = huge[10] = huge[11] = 0xff;
  ASSERT_TRUE(b->SendRaw(huge));
  EXPECT_TRUE(b->WaitEof());
  EXPECT_EQ(PingThrough(*a, ha.handle, 1003), 0);

  // A client that stops mid-frame blocks nobody and is cleaned up when it
  // goes away.
  Handshake hc;
  auto c = NewClient("c", &hc);
  Bytes partial(16, 0);
  partial[10] = 0x01;  // 256 bytes announced
  partial.insert(partial.end(), 10, 0xab);
  ASSERT_TRUE(c->SendRaw(partial));
  EXPECT_EQ(PingThrough(*a, ha.handle, 1004), 0);
  EXPECT_TRUE(Eventually([this] { return server_->num_connections() == 2; }));
  c->Close();
  EXPECT_TRUE(Eventually([this] { return server_->num_connections() == 1; }));
  EXPECT_TRUE(Eventually([this] { return server_->handler().num_clients() == 1; }));

  // Random garbage frames: never a crash, and the server keeps answering.
  Handshake hd;
  auto d = NewClient("d", &hd);
  std::mt19937 rng(7);
  Bytes junk;
  for (int i = 0; i < 300; ++i) {
    Bytes p(std::uniform_int_distribution<size_t>(0, 80)(rng));
    for (uint8_t& x : p) x = static_cast<uint8_t>(rng());
    if (p.size() >= 2 && rng() % 2) {  // aim at real handlers half of the time
      uint16_t id = static_cast<uint16_t>(kDefaultLbFirstMsgId + rng() % 26);
      p[0] = static_cast<uint8_t>(id >> 8);
      p[1] = static_cast<uint8_t>(id);
    }
    Bytes f = Frame(p);
    junk.insert(junk.end(), f.begin(), f.end());
  }
  ASSERT_TRUE(d->SendRaw(junk));
  EXPECT_GE(PingThrough(*d, hd.handle, 1005), 0);
  EXPECT_EQ(PingThrough(*a, ha.handle, 1006), 0);
}

TEST_F(ServerTest, PipelinedRequestsAreAnsweredInOrder) {
  StartServer();
  Handshake h;
  auto c = NewClient("pipeline", &h);
  Bytes batch;
  for (uint32_t i = 0; i < 300; ++i) {
    Bytes f = Frame(Msg(23).U32(h.handle).U32(i).Take());
    batch.insert(batch.end(), f.begin(), f.end());
    if (i % 3 == 0) {  // interleave a dump + ping pair
      Bytes d =
          Frame(Msg(h.by_name.at("lb_vip_dump")).U32(h.handle).U32(i).Raw(Bytes(23, 0)).Take());
      batch.insert(batch.end(), d.begin(), d.end());
    }
  }
  ASSERT_TRUE(c->SendRaw(batch));
  for (uint32_t i = 0; i < 300; ++i) {
    std::optional<Bytes> r = c->Read();
    ASSERT_TRUE(r.has_value()) << i;
    EXPECT_EQ(Be16(r->data()), 24);
    EXPECT_EQ(Be32(&(*r)[2]), i);
  }
}

TEST_F(ServerTest, ManyConcurrentClients) {
  StartServer();
  constexpr int kClients = 64;
  std::vector<std::unique_ptr<Client>> clients;
  std::vector<Handshake> hs(kClients);
  std::set<uint32_t> handles;
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(std::make_unique<Client>());
    ASSERT_TRUE(clients.back()->Connect(path_));
  }
  // Everybody sends first, then everybody reads: the server interleaves.
  for (int i = 0; i < kClients; ++i) {
    ASSERT_TRUE(clients[i]->Send(Msg(15).U32(i).Str("client" + std::to_string(i), 64).Take()));
  }
  for (int i = 0; i < kClients; ++i) {
    std::optional<Bytes> r = clients[i]->Read();
    ASSERT_TRUE(r.has_value());
    hs[i] = *ParseHandshake(*r);
    EXPECT_EQ(hs[i].context, static_cast<uint32_t>(i));
    handles.insert(hs[i].handle);
  }
  EXPECT_EQ(handles.size(), static_cast<size_t>(kClients));
  for (int i = 0; i < kClients; ++i) {
    ASSERT_TRUE(clients[i]->Send(Msg(23).U32(hs[i].handle).U32(1000 + i).Take()));
  }
  for (int i = 0; i < kClients; ++i) {
    std::optional<Bytes> r = clients[i]->Read();
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(Be32(&(*r)[2]), static_cast<uint32_t>(1000 + i));
    EXPECT_EQ(Be32(&(*r)[10]), hs[i].handle);
  }
  for (int i = 0; i < kClients; i += 2) clients[i]->Close();
  EXPECT_TRUE(Eventually([this] { return server_->num_connections() == kClients / 2; }));
  for (int i = 1; i < kClients; i += 2) EXPECT_EQ(PingThrough(*clients[i], hs[i].handle, 7), 0);
}

TEST_F(ServerTest, SockclntDeleteRepliesThenCloses) {
  StartServer();
  Handshake h;
  auto c = NewClient("bye", &h);
  ASSERT_TRUE(c->Send(Msg(17).U32(h.handle).U32(9).U32(h.handle).Take()));
  std::optional<Bytes> r = c->Read();
  ASSERT_TRUE(r.has_value());
  ASSERT_EQ(r->size(), 10u);
  EXPECT_EQ(Be16(r->data()), 18);
  EXPECT_EQ(Be32(&(*r)[2]), 9u);
  EXPECT_EQ(Be32(&(*r)[6]), 1u);
  EXPECT_TRUE(c->WaitEof());
  EXPECT_TRUE(Eventually([this] { return server_->num_connections() == 0; }));
  // The handle is free again and goes to the next client.
  Handshake h2;
  auto c2 = NewClient("again", &h2);
  EXPECT_EQ(h2.handle, h.handle);
  EXPECT_EQ(PingThrough(*c2, h2.handle, 1), 0);
}

TEST_F(ServerTest, ClientThatNeverReadsIsDisconnected) {
  SimServer::Options o;
  o.max_pending_output_bytes = 64 * 1024;
  StartServer(o);
  Handshake h, other;
  auto c = NewClient("deaf", &h);
  auto ok = NewClient("fine", &other);
  // Far more output than the socket buffers plus the cap can hold.
  Bytes batch;
  for (int i = 0; i < 20000; ++i) {
    Bytes f = Frame(Msg(h.by_name.at("show_version")).U32(h.handle).U32(i).Take());
    batch.insert(batch.end(), f.begin(), f.end());
  }
  // (The server may hang up before all of it is sent: that is the point.)
  c->SendRaw(batch);
  EXPECT_TRUE(Eventually([this] { return server_->num_connections() == 1; }));
  EXPECT_TRUE(c->WaitEof());
  EXPECT_EQ(PingThrough(*ok, other.handle, 5), 0);
}

TEST_F(ServerTest, GcProcessRunsPeriodically) {
  SimServer::Options o;
  o.gc_interval = std::chrono::milliseconds(5);
  StartServer(o);
  Handshake h;
  auto c = NewClient("gc", &h);
  Bytes key = VipKey({"90.0.0.0/8", 255, 0});
  ASSERT_TRUE(c->Send(Msg(h.by_name.at("lb_add_del_vip"))
                          .U32(h.handle)
                          .U32(1)
                          .Raw(key)
                          .U32(0)
                          .U8(0)
                          .U32(0)
                          .U16(0)
                          .U16(0)
                          .U32(1024)
                          .U8(0)
                          .Take()));
  ASSERT_TRUE(c->Send(Msg(h.by_name.at("lb_add_del_as"))
                          .U32(h.handle)
                          .U32(2)
                          .Raw(key)
                          .Raw(Address("10.0.0.1"))
                          .U8(0)
                          .U8(0)
                          .Take()));
  ASSERT_TRUE(c->Send(Msg(h.by_name.at("lb_add_del_as"))
                          .U32(h.handle)
                          .U32(3)
                          .Raw(key)
                          .Raw(Address("10.0.0.1"))
                          .U8(1)
                          .U8(1)
                          .Take()));
  for (int i = 0; i < 3; ++i) {
    std::optional<Bytes> r = c->Read();
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(Be32(&(*r)[6]), 0u);
  }
  EXPECT_EQ(OnLoop([this] { return server_->handler().model().num_as_slots(); }), 1u);
  clock_ = 100;  // virtual time: past the 60 s and 10 s marks
  EXPECT_TRUE(Eventually([this] { return server_->handler().model().num_as_slots() == 0; }));
}

TEST_F(ServerTest, LegacyServerPublishesTheOldApi) {
  SimServer::Options o;
  o.legacy_lb = true;
  StartServer(o);
  Handshake h;
  auto c = NewClient("old", &h);
  EXPECT_TRUE(h.ids.count("lb_add_del_vip_6fa569c7"));
  EXPECT_FALSE(h.ids.count("lb_conf_get_51077d14"));
  EXPECT_FALSE(h.ids.count("lb_as_set_weight_2d89bdbd"));
  EXPECT_FALSE(h.ids.count("lb_add_del_as_v2_2f1d3b0e"));
  EXPECT_FALSE(h.ids.count("lb_as_v2_dump_1063f819"));
  EXPECT_TRUE(h.ids.count("lb_as_dump_1063f819"));
}

TEST_F(ServerTest, SecondServerOnALiveSocketFailsStaleSocketIsReplaced) {
  StartServer();
  asio::io_context other_io;
  SimServer::Options o;
  o.socket_path = path_;
  auto other = SimServer::Create(other_io, o);
  ASSERT_TRUE(other.ok());
  absl::Status s = (*other)->Start();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;

  // A socket file nobody listens on (a crashed simulator) is replaced.
  std::string stale = dir_ + "/stale.sock";
  {
    asio::io_context tmp_io;
    asio::local::stream_protocol::acceptor acc(tmp_io);
    acc.open(asio::local::stream_protocol());
    acc.bind(asio::local::stream_protocol::endpoint(stale));
  }
  o.socket_path = stale;
  auto third = SimServer::Create(other_io, o);
  ASSERT_TRUE(third.ok());
  EXPECT_TRUE((*third)->Start().ok());
  Client c;
  EXPECT_TRUE(c.Connect(stale));
  (*third)->Stop();
  struct stat st {};
  EXPECT_NE(::lstat(stale.c_str(), &st), 0);
}

}  // namespace
}  // namespace maglev::vppsim::testing
