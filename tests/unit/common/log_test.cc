// The logger's queue and writer thread: records leave Log() without waiting
// for the output, a stuck output costs drops (counted and reported), never a
// blocked caller, nothing is lost at exit, and one sink's level can change
// in place.
#include "common/log.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

namespace maglev {
namespace {

// Reads `fd` to EOF.
std::string ReadAll(int fd) {
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

std::vector<std::string> Lines(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < s.size()) {
    size_t nl = s.find('\n', start);
    if (nl == std::string::npos) nl = s.size();
    out.push_back(s.substr(start, nl - start));
    start = nl + 1;
  }
  return out;
}

class LogQueueTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Logger::Get().SetLevel(LogLevel::kInfo);
    Logger::Get().SetFormat(LogFormat::kJson);
  }
  void TearDown() override {
    Logger::Get().SetOutput(stderr);
    Logger::Get().SetQueueCapacity(8192);
  }
};

TEST_F(LogQueueTest, WritesEveryRecordInOrderInTheUnchangedFormat) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  Logger::Get().SetOutput(f);
  for (int i = 0; i < 500; ++i) LogInfo("queued", {{"i", i}, {"s", "a b"}});
  LogDebug("below-level");
  Logger::Get().Flush();
  Logger::Get().SetOutput(nullptr);
  std::rewind(f);
  std::string text = ReadAll(fileno(f));
  std::fclose(f);
  std::vector<std::string> lines = Lines(text);
  ASSERT_EQ(lines.size(), 500u);
  for (int i = 0; i < 500; ++i) {
    const std::string& l = lines[static_cast<size_t>(i)];
    EXPECT_EQ(l.rfind("{\"time\":\"", 0), 0u) << l;
    EXPECT_NE(l.find("\"level\":\"info\",\"msg\":\"queued\",\"i\":" + std::to_string(i) +
                     ",\"s\":\"a b\"}"),
              std::string::npos)
        << l;
  }
}

// A pipe nobody reads: the writer blocks on it, the callers do not. The
// records beyond the queue are dropped and counted; once the output moves
// again, one warn line says how many.
TEST_F(LogQueueTest, StuckOutputDropsInsteadOfBlocking) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  // A small pipe fills after a few records.
  fcntl(fds[1], F_SETPIPE_SZ, 4096);
  std::FILE* w = fdopen(fds[1], "w");
  ASSERT_NE(w, nullptr);
  Logger::Get().SetQueueCapacity(16);
  Logger::Get().SetOutput(w);
  const uint64_t dropped_before = Logger::Get().dropped();
  const std::string pad(200, 'x');
  constexpr int kRecords = 2000;  // far beyond the pipe and the queue
  for (int i = 0; i < kRecords; ++i) LogInfo("flood", {{"i", i}, {"pad", pad}});
  // We got here: no Log() call waited for the pipe.
  const uint64_t dropped = Logger::Get().dropped() - dropped_before;
  EXPECT_GT(dropped, 0u);

  // Drain the pipe on this thread while the writer catches up.
  int flags = fcntl(fds[0], F_GETFL);
  fcntl(fds[0], F_SETFL, flags | O_NONBLOCK);
  std::string text;
  char buf[65536];
  bool flushed = false;
  for (int round = 0; round < 100000 && !flushed; ++round) {
    ssize_t n = read(fds[0], buf, sizeof buf);
    if (n > 0) text.append(buf, static_cast<size_t>(n));
    flushed = Logger::Get().FlushFor(std::chrono::milliseconds(1));
  }
  ASSERT_TRUE(flushed);
  Logger::Get().SetOutput(nullptr);
  std::fclose(w);
  fcntl(fds[0], F_SETFL, flags);
  text += ReadAll(fds[0]);
  close(fds[0]);

  std::vector<std::string> lines = Lines(text);
  size_t floods = 0;
  uint64_t reported = 0;
  for (const std::string& l : lines) {
    if (l.find("\"msg\":\"flood\"") != std::string::npos) ++floods;
    size_t at = l.find("\"msg\":\"log-records-dropped\",\"dropped\":");
    if (at != std::string::npos) {
      EXPECT_NE(l.find("\"level\":\"warn\""), std::string::npos) << l;
      reported += std::stoull(
          l.substr(at + std::string("\"msg\":\"log-records-dropped\",\"dropped\":").size()));
    }
  }
  EXPECT_EQ(floods + dropped, static_cast<uint64_t>(kRecords));
  EXPECT_EQ(reported, dropped);
}

// exit() waits for the writer: a child that logs and exits at once loses
// nothing (it also shows a forked child gets a writer of its own).
TEST_F(LogQueueTest, ExitFlushesTheQueue) {
  LogInfo("parent-before-fork");  // the parent's writer thread exists
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(fds[0]);
    std::FILE* w = fdopen(fds[1], "w");
    Logger::Get().SetOutput(w);
    for (int i = 0; i < 3000; ++i) LogInfo("child", {{"i", i}});
    std::exit(0);
  }
  close(fds[1]);
  std::string text = ReadAll(fds[0]);
  close(fds[0]);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  std::vector<std::string> lines = Lines(text);
  ASSERT_EQ(lines.size(), 3000u);
  EXPECT_NE(lines.back().find("\"msg\":\"child\",\"i\":2999}"), std::string::npos);
}

TEST(LogSinkLevel, ChangesInPlaceWithoutLossOrDuplicates) {
  Logger& lg = Logger::Get();
  lg.SetOutput(nullptr);
  lg.SetLevel(LogLevel::kError);
  std::vector<std::string> got;
  int id = lg.AddSink(LogLevel::kInfo, [&](const LogRecord& r) { got.push_back(r.msg); });
  LogDebug("d1");
  LogInfo("i1");
  EXPECT_FALSE(lg.Enabled(LogLevel::kDebug));
  EXPECT_TRUE(lg.SetSinkLevel(id, LogLevel::kDebug));
  EXPECT_TRUE(lg.Enabled(LogLevel::kDebug));
  LogDebug("d2");
  LogInfo("i2");
  EXPECT_TRUE(lg.SetSinkLevel(id, LogLevel::kWarn));
  EXPECT_FALSE(lg.Enabled(LogLevel::kInfo));
  LogInfo("i3");
  LogWarn("w3");
  lg.RemoveSink(id);
  EXPECT_FALSE(lg.SetSinkLevel(id, LogLevel::kDebug));  // gone
  EXPECT_FALSE(lg.Enabled(LogLevel::kWarn));
  EXPECT_EQ(got, (std::vector<std::string>{"i1", "d2", "i2", "w3"}));
  lg.SetLevel(LogLevel::kInfo);
  lg.SetOutput(stderr);
}

}  // namespace
}  // namespace maglev
