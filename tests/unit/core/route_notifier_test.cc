// SPDX-License-Identifier: Apache-2.0
//
// The route withdrawal hook (issue #10): the servable computation, the
// command runner (argv, environment, timeout), and the notifier on a
// simulated clock: nothing reported before a frontend is released, one
// command per change in order, the servable file following.
#include "core/route_notifier.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "checker/checker_test_util.h"
#include "common/log.h"
#include "core/pipeline.h"

namespace maglev {
namespace {

using namespace maglev::testing;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Tmp(const std::string& name) {
  return ::testing::TempDir() + "/" + name + "-" + std::to_string(::getpid());
}

TEST(ServableTest, SomeNonZeroEffectiveWeight) {
  FrontendEffective eff;
  eff.pools.resize(2);
  eff.pools[0].backends.resize(2);
  eff.pools[1].backends.resize(1);
  EXPECT_FALSE(IsServable(eff));
  eff.pools[1].backends[0].effective_weight = 1;
  EXPECT_TRUE(IsServable(eff));
  eff.pools[1].backends[0].effective_weight = 0;
  eff.pools[0].backends[1].configured_weight = 100;  // configured is not enough
  EXPECT_FALSE(IsServable(eff));
  EXPECT_FALSE(IsServable(FrontendEffective{}));
}

TEST(RunCommandTest, ArgvEnvironmentAndExitCode) {
  std::string out = Tmp("runcmd");
  CommandResult r =
      RunCommand({"/bin/sh", "-c", "printf '%s|%s|%s' \"$1\" \"$2\" \"$FOO\" > " + out + "; exit 3",
                  "sh", "a b", "c;d"},
                 {"FOO=bar"}, std::chrono::seconds(10));
  EXPECT_TRUE(r.started);
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(ReadAll(out), "a b|c;d|bar");  // arguments are not split by a shell
  std::remove(out.c_str());
  CommandResult missing = RunCommand({"/nonexistent/notify"}, {}, std::chrono::seconds(1));
  EXPECT_FALSE(missing.started);
  EXPECT_FALSE(missing.error.empty());
}

TEST(RunCommandTest, KilledAtTheTimeoutWithItsChildren) {
  std::string marker = Tmp("runcmd-timeout");
  // The shell's child would write the marker after 2 s: killing the group
  // kills it too.
  CommandResult r =
      RunCommand({"/bin/sh", "-c", "(sleep 2; echo late > " + marker + ") & sleep 30"}, {},
                 std::chrono::milliseconds(200));
  EXPECT_TRUE(r.started);
  EXPECT_TRUE(r.timed_out);
  ::sleep(3);
  EXPECT_EQ(ReadAll(marker), "");
  std::remove(marker.c_str());
}

TEST(CommandQueueTest, InOrderAndCoalesced) {
  std::string out = Tmp("cmdqueue");
  std::remove(out.c_str());
  CommandQueue q;
  auto job = [&](const std::string& key, const std::string& value, const std::string& sleep) {
    CommandQueue::Job j;
    j.key = key;
    j.value = value;
    j.argv = {"/bin/sh", "-c", "sleep " + sleep + "; echo " + key + "=" + value + " >> " + out};
    j.timeout = std::chrono::seconds(10);
    return j;
  };
  // A first job holds the queue until the test lets it go.
  std::string started = out + ".started", go = out + ".go";
  CommandQueue::Job hold;
  hold.key = "hold";
  hold.argv = {"/bin/sh", "-c",
               "touch " + started + "; for i in $(seq 1000); do [ -e " + go +
                   " ] && exit 0; sleep 0.01; done; exit 1"};
  hold.timeout = std::chrono::seconds(30);
  q.Enqueue(hold);
  for (int i = 0; i < 1000 && ::access(started.c_str(), F_OK) != 0; ++i) ::usleep(10000);
  ASSERT_EQ(::access(started.c_str(), F_OK), 0);
  q.Enqueue(job("x", "1", "0"));
  q.Enqueue(job("y", "1", "0"));
  q.Enqueue(job("x", "2", "0"));  // replaces x=1, queued behind y=1
  q.Enqueue(job("x", "3", "0"));  // replaces x=2
  q.Enqueue(job("z", "1", "0"));
  ASSERT_TRUE(WriteFileAtomically(go, "").ok());
  q.Drain(std::chrono::seconds(30));
  EXPECT_EQ(ReadAll(out), "y=1\nx=3\nz=1\n");
  q.Enqueue(job("y", "1", "0"));  // what y last ran: dropped
  q.Drain(std::chrono::seconds(30));
  std::remove(started.c_str());
  std::remove(go.c_str());
  EXPECT_EQ(q.runs(), 4u);  // hold, y, x, z
  std::remove(out.c_str());
}

class RouteNotifierTest : public ::testing::Test {
 protected:
  RouteNotifierTest() : runner_(d_), pipeline_(d_, runner_, CheckerOptions{1234, 0.10}) {
    Logger::Get().SetOutput(nullptr);
    log_ = Tmp("notify-log");
    file_ = Tmp("servable");
    std::remove(log_.c_str());
    std::remove(file_.c_str());
  }
  ~RouteNotifierTest() override {
    Logger::Get().SetOutput(stderr);
    std::remove(log_.c_str());
    std::remove(file_.c_str());
  }
  std::string Yaml() {
    return Replace(
        kBase, "  healthchecks:\n",
        "  routes:\n    notify-command: [/bin/sh, -c, 'echo \"$0 $1 $2 $MAGLEV_STATE\" >> " + log_ +
            "']\n    servable-file: " + file_ + "\n  healthchecks:\n");
  }
  SimDispatcher d_;
  FakeRunner runner_;
  Pipeline pipeline_;
  std::string log_, file_;
  std::set<std::string> released_;
};

TEST_F(RouteNotifierTest, ReportsReleasedFrontendsOnEveryChange) {
  ASSERT_TRUE(WriteFileAtomically(file_, "192.0.2.81\n").ok());  // a previous run's
  pipeline_.Start(Parse(Yaml()));
  RouteNotifier n(pipeline_.lb(),
                  [this](const std::string& fe) { return released_.count(fe) > 0; });
  n.Start();
  d_.Advance(seconds(3));  // everything up, nothing released: nothing reported
  n.Flush();
  EXPECT_EQ(ReadAll(log_), "");
  EXPECT_EQ(ReadAll(file_), "192.0.2.81\n");  // kept for the unreleased api
  EXPECT_TRUE(pipeline_.lb().Find("web")->servable);

  released_.insert("web");
  n.OnReleased("web");
  n.Flush();
  EXPECT_EQ(ReadAll(log_), "web 192.0.2.80 servable servable\n");
  EXPECT_EQ(ReadAll(file_), "192.0.2.80\n192.0.2.81\n");

  // Every primary backend of web at weight 0 while up (the fallback stays
  // standby): not servable; then servable again. Events carry it.
  std::vector<std::pair<bool, bool>> events;
  pipeline_.lb().AddListener([&](const LbUpdate& u) {
    for (const auto& c : u.frontends)
      if (c.frontend == "web" && c.status)
        events.push_back({c.status->from_servable, c.status->to_servable});
  });
  ASSERT_TRUE(pipeline_.lb().SetWeight("web", "primary", "a", 0).ok());
  EXPECT_TRUE(events.empty());  // b still carries 50
  ASSERT_TRUE(pipeline_.lb().SetWeight("web", "primary", "b", 0).ok());
  EXPECT_FALSE(pipeline_.lb().Find("web")->servable);
  EXPECT_EQ(events, (std::vector<std::pair<bool, bool>>{{true, false}}));
  n.Flush();
  EXPECT_EQ(ReadAll(file_), "192.0.2.81\n");
  ASSERT_TRUE(pipeline_.lb().SetWeight("web", "primary", "b", 50).ok());
  n.Flush();
  EXPECT_EQ(ReadAll(log_),
            "web 192.0.2.80 servable servable\n"
            "web 192.0.2.80 not-servable not-servable\n"
            "web 192.0.2.80 servable servable\n");
  EXPECT_EQ(ReadAll(file_), "192.0.2.80\n192.0.2.81\n");
  // A failover keeps it servable: nothing is run.
  ASSERT_TRUE(pipeline_.checker().Disable("a").ok());
  ASSERT_TRUE(pipeline_.checker().Disable("b").ok());
  EXPECT_TRUE(pipeline_.lb().Find("web")->servable);
  n.Flush();
  std::string lines = ReadAll(log_);
  EXPECT_EQ(std::count(lines.begin(), lines.end(), '\n'), 3) << lines;
  // The end of the warmup releases api (only a, disabled now): withdrawn.
  released_.insert("api");
  n.OnReleased("api");
  n.Flush();
  EXPECT_NE(ReadAll(log_).find("api 192.0.2.81 not-servable not-servable\n"), std::string::npos);
  EXPECT_EQ(ReadAll(file_), "192.0.2.80\n");
  n.Stop();
}

}  // namespace
}  // namespace maglev
