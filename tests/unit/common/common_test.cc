#include <gtest/gtest.h>

#include <asio/io_context.hpp>

#include "common/dispatcher.h"
#include "common/duration.h"
#include "common/ip_address.h"
#include "common/log.h"

namespace maglev {
namespace {

using namespace std::chrono_literals;

TEST(Duration, ParsesGoStyle) {
  EXPECT_EQ(ParseDuration("500ms"), Duration(500ms));
  EXPECT_EQ(ParseDuration("2s"), Duration(2s));
  EXPECT_EQ(ParseDuration("1m30s"), Duration(90s));
  EXPECT_EQ(ParseDuration("1h"), Duration(1h));
  EXPECT_EQ(ParseDuration("1.5s"), Duration(1500ms));
  EXPECT_EQ(ParseDuration("250us"), Duration(250us));
  EXPECT_EQ(ParseDuration("10ns"), Duration(10ns));
  EXPECT_EQ(ParseDuration("0"), Duration::zero());
  for (const char* bad : {"", "5", "s", "-1s", "1x", "1.s.", "1s2", "9999999999999999999h", " 1s"})
    EXPECT_FALSE(ParseDuration(bad).has_value()) << bad;
}

TEST(Duration, FormatsLikeGo) {
  EXPECT_EQ(FormatDuration(0s), "0s");
  EXPECT_EQ(FormatDuration(500ms), "500ms");
  EXPECT_EQ(FormatDuration(1500ms), "1.5s");
  EXPECT_EQ(FormatDuration(90s), "1m30s");
  EXPECT_EQ(FormatDuration(3600s), "1h0m0s");
  EXPECT_EQ(FormatDuration(250us), "250us");
}

TEST(IpAddress, ParseFormatAndOrder) {
  auto a = IpAddress::Parse("192.0.2.1");
  auto b = IpAddress::Parse("192.0.2.10");
  auto c = IpAddress::Parse("2001:db8::1");
  ASSERT_TRUE(a && b && c);
  EXPECT_TRUE(a->is_v4());
  EXPECT_TRUE(c->is_v6());
  EXPECT_EQ(a->ToString(), "192.0.2.1");
  EXPECT_EQ(c->ToString(), "2001:db8::1");
  EXPECT_LT(*a, *b);  // numeric, not textual
  EXPECT_LT(*b, *c);  // IPv4 before IPv6
  EXPECT_EQ(a->ip46()[12], 192);
  EXPECT_EQ(a->ip46()[0], 0);
  for (const char* bad :
       {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "::g", "example.com", "1.2.3.4/32"})
    EXPECT_FALSE(IpAddress::Parse(bad).has_value()) << bad;
  sockaddr_storage ss;
  socklen_t len = c->ToSockaddr(80, &ss);
  EXPECT_EQ(len, sizeof(sockaddr_in6));
  EXPECT_EQ(IpAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&ss)), c);
}

TEST(Log, JsonLineHasStableKeysAndEscapes) {
  LogRecord r{1'700'000'000'123'000'000,
              LogLevel::kInfo,
              "backend-transition",
              {{"backend", "a\"b"}, {"weight", 7}, {"ok", true}, {"detail", "line\nnext"}}};
  std::string line = Logger::FormatJson(r);
  EXPECT_EQ(
      line,
      "{\"time\":\"2023-11-14T22:13:20.123Z\",\"level\":\"info\",\"msg\":\"backend-"
      "transition\",\"backend\":\"a\\\"b\",\"weight\":7,\"ok\":true,\"detail\":\"line\\nnext\"}"
      "\n");
  std::string text = Logger::FormatText(r);
  EXPECT_NE(text.find("backend-transition backend=\"a\\\"b\" weight=7 ok=true"), std::string::npos);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1);  // one line per event
}

TEST(Log, SinksGetTheirLevelRegardlessOfDaemonLevel) {
  Logger& lg = Logger::Get();
  lg.SetOutput(nullptr);
  lg.SetLevel(LogLevel::kError);
  std::vector<std::string> got;
  int id = lg.AddSink(LogLevel::kDebug, [&](const LogRecord& r) { got.push_back(r.msg); });
  EXPECT_TRUE(lg.Enabled(LogLevel::kDebug));
  LogDebug("d");
  LogInfo("i");
  lg.RemoveSink(id);
  EXPECT_FALSE(lg.Enabled(LogLevel::kDebug));
  LogInfo("after");
  EXPECT_EQ(got, (std::vector<std::string>{"d", "i"}));
  lg.SetLevel(LogLevel::kInfo);
  lg.SetOutput(stderr);
}

TEST(SimDispatcher, TimersFireInOrderAndCanBeRearmed) {
  SimDispatcher d;
  std::vector<int> fired;
  auto t1 = d.CreateTimer([&] { fired.push_back(1); });
  auto t2 = d.CreateTimer([&] { fired.push_back(2); });
  t1->Enable(2s);
  t2->Enable(1s);
  d.Advance(500ms);
  EXPECT_TRUE(fired.empty());
  t2->Enable(3s);  // re-armed: replaces the pending expiry
  d.Advance(2s);
  EXPECT_EQ(fired, (std::vector<int>{1}));
  t2->Disable();
  d.Advance(10s);
  EXPECT_EQ(fired, (std::vector<int>{1}));
  d.Post([&] { fired.push_back(3); });
  d.RunPosted();
  EXPECT_EQ(fired, (std::vector<int>{1, 3}));
}

TEST(AsioDispatcher, TimerAndPostRunOnTheLoop) {
  asio::io_context io;
  AsioDispatcher d(io);
  int n = 0;
  auto t = d.CreateTimer([&] { ++n; });
  t->Enable(1ms);
  d.Post([&] { n += 10; });
  io.run();
  EXPECT_EQ(n, 11);
  // A destroyed timer never fires.
  auto t2 = d.CreateTimer([&] { n += 100; });
  t2->Enable(1ms);
  t2.reset();
  io.restart();
  io.run();
  EXPECT_EQ(n, 11);
}

}  // namespace
}  // namespace maglev
