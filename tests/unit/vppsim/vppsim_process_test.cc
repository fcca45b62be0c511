// maglev-vppsim as a real process: started on a socket in a temp dir,
// answering show_version and lb calls, logging, and exiting cleanly (socket
// removed) on SIGTERM / SIGINT. Label: integration.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "sim_test_util.h"

namespace maglev::vppsim::testing {
namespace {

class Process {
 public:
  // Starts the simulator with `args`, stderr to `log_path`.
  bool Start(const std::vector<std::string>& args, const std::string& log_path) {
    pid_ = ::fork();
    if (pid_ < 0) return false;
    if (pid_ == 0) {
      int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd >= 0) ::dup2(fd, 2);
      std::vector<char*> argv;
      std::string bin = MAGLEV_BIN_DIR "/maglev-vppsim";
      argv.push_back(bin.data());
      std::vector<std::string> copy = args;
      for (std::string& a : copy) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(bin.c_str(), argv.data());
      ::_exit(127);
    }
    return true;
  }
  // Waits (bounded) for the exit; returns the wait status or -1.
  int Wait(int max_ms = 10000) {
    for (int i = 0; i < max_ms / 10; ++i) {
      int status = 0;
      pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        pid_ = -1;
        return status;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return -1;
  }
  void Signal(int sig) {
    if (pid_ > 0) ::kill(pid_, sig);
  }
  ~Process() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
};

class VppsimProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/vppsim-proc-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    sock_ = dir_ + "/api.sock";
    log_ = dir_ + "/vppsim.log";
    struct stat st {};
    ASSERT_EQ(::stat(MAGLEV_BIN_DIR "/maglev-vppsim", &st), 0) << "maglev-vppsim not built";
  }
  void TearDown() override {
    ::unlink(log_.c_str());
    ::unlink(sock_.c_str());
    ::rmdir(dir_.c_str());
  }
  // Connects once the socket accepts (bounded wait for start-up).
  bool ConnectWhenUp(Client& c) {
    for (int i = 0; i < 1000; ++i) {
      if (c.Connect(sock_)) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }
  std::string Log() {
    std::ifstream in(log_);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  std::string dir_, sock_, log_;
};

bool PingOk(Client& c, uint32_t handle) {
  if (!c.Send(Msg(23).U32(handle).U32(4242).Take())) return false;
  std::optional<Bytes> r = c.Read();
  return r && r->size() == 18 && Be32(&(*r)[2]) == 4242;
}

std::string FixedField(const Bytes& p, size_t off, size_t n) {
  return std::string(reinterpret_cast<const char*>(&p[off]),
                     strnlen(reinterpret_cast<const char*>(&p[off]), n));
}

TEST_F(VppsimProcessTest, AnswersAndExitsCleanlyOnSigterm) {
  Process p;
  ASSERT_TRUE(p.Start({"--socket", sock_, "--log-level", "debug"}, log_));
  Client c;
  ASSERT_TRUE(ConnectWhenUp(c));
  std::optional<Handshake> h = c.Register("process-test");
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(h->handle, 0x80000001u);

  ASSERT_TRUE(c.Send(Msg(h->by_name.at("show_version")).U32(h->handle).U32(1).Take()));
  std::optional<Bytes> r = c.Read();
  ASSERT_TRUE(r.has_value());
  ASSERT_EQ(r->size(), 362u);
  EXPECT_EQ(FixedField(*r, 10, 32), "vpe");
  EXPECT_EQ(FixedField(*r, 42, 32), "26.10-maglev-vppsim");

  // control_ping reports the simulator's pid.
  ASSERT_TRUE(c.Send(Msg(23).U32(h->handle).U32(2).Take()));
  r = c.Read();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(Be32(&(*r)[14]), static_cast<uint32_t>(p.pid()));

  // A few lb calls: VIP, three ASs (VPP's live-confirmed 342/341/341), a drain.
  Bytes key = VipKey({"192.0.2.80/32", 6, 80});
  auto call = [&](Bytes payload) -> int32_t {
    if (!c.Send(payload)) return 999;
    std::optional<Bytes> rr = c.Read();
    return rr && rr->size() == 10 ? static_cast<int32_t>(Be32(&(*rr)[6])) : 999;
  };
  EXPECT_EQ(call(Msg(h->by_name.at("lb_add_del_vip_v2"))
                     .U32(h->handle)
                     .U32(3)
                     .Raw(key)
                     .U32(0)
                     .U8(0)
                     .U32(0)
                     .U16(0)
                     .U16(0)
                     .U32(1024)
                     .U8(1)
                     .U8(0)
                     .Take()),
            0);
  for (int i = 1; i <= 3; ++i) {
    EXPECT_EQ(call(Msg(h->by_name.at("lb_add_del_as_v2"))
                       .U32(h->handle)
                       .U32(10 + i)
                       .Raw(key)
                       .Raw(Address("10.0.0." + std::to_string(i)))
                       .U8(100)
                       .U8(0)
                       .U8(0)
                       .Take()),
              0);
  }
  std::map<std::string, uint32_t> buckets;
  auto dump = [&] {
    buckets.clear();
    c.Send(Msg(h->by_name.at("lb_as_v2_dump")).U32(h->handle).U32(20).Raw(Bytes(21, 0)).Take());
    c.Send(Msg(23).U32(h->handle).U32(20).Take());
    for (int i = 0; i < 10; ++i) {
      std::optional<Bytes> d = c.Read();
      if (!d || Be16(d->data()) == 24) break;
      AsDetails a = ParseAsDetails(*d, true);
      buckets[a.as] = a.num_buckets;
    }
  };
  dump();
  EXPECT_EQ(buckets["10.0.0.1"], 342u);
  EXPECT_EQ(buckets["10.0.0.2"], 341u);
  EXPECT_EQ(buckets["10.0.0.3"], 341u);
  EXPECT_EQ(call(Msg(h->by_name.at("lb_as_set_weight"))
                     .U32(h->handle)
                     .U32(21)
                     .Raw(key)
                     .Raw(Address("10.0.0.2"))
                     .U8(0)
                     .U8(1)
                     .Take()),
            0);
  dump();
  EXPECT_EQ(buckets["10.0.0.1"], 512u);
  EXPECT_EQ(buckets["10.0.0.2"], 0u);
  EXPECT_EQ(buckets["10.0.0.3"], 512u);

  // cli_inband shows the VIP as VPP's "show lb vips verbose" would.
  std::string cmd = "show lb vips verbose";
  ASSERT_TRUE(c.Send(Msg(h->by_name.at("cli_inband"))
                         .U32(h->handle)
                         .U32(30)
                         .U32(static_cast<uint32_t>(cmd.size()))
                         .Raw(Bytes(cmd.begin(), cmd.end()))
                         .Take()));
  r = c.Read();
  ASSERT_TRUE(r.has_value());
  std::string text(r->begin() + 14, r->end());
  EXPECT_NE(text.find("ip4-gre4 [1] 192.0.2.80/32 src_ip_sticky"), std::string::npos) << text;
  EXPECT_NE(text.find("10.0.0.2 weight:0 buckets:0 flows:0 dpo:"), std::string::npos) << text;

  p.Signal(SIGTERM);
  int status = p.Wait();
  ASSERT_NE(status, -1) << "did not exit";
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  struct stat st {};
  EXPECT_NE(::lstat(sock_.c_str(), &st), 0) << "socket file not removed";
  EXPECT_TRUE(c.WaitEof());
  std::string log = Log();
  EXPECT_NE(log.find("\"msg\":\"vppsim-listen\""), std::string::npos) << log;
  EXPECT_NE(log.find("\"msg\":\"vppsim-client-register\""), std::string::npos) << log;
  EXPECT_NE(log.find("\"msg\":\"vppsim-lb-add-del-vip-v2\""), std::string::npos) << log;
  EXPECT_NE(log.find("\"msg\":\"vppsim-lb-as-set-weight\""), std::string::npos) << log;
  EXPECT_NE(log.find("\"msg\":\"vppsim-stop\""), std::string::npos) << log;
}

TEST_F(VppsimProcessTest, LegacyModeAndSigint) {
  Process p;
  ASSERT_TRUE(p.Start({"--socket", sock_, "--legacy-lb-api", "--gc-interval", "0"}, log_));
  Client c;
  ASSERT_TRUE(ConnectWhenUp(c));
  std::optional<Handshake> h = c.Register("legacy");
  ASSERT_TRUE(h.has_value());
  EXPECT_TRUE(h->ids.count("lb_add_del_vip_6fa569c7"));
  EXPECT_FALSE(h->ids.count("lb_conf_get_51077d14"));
  EXPECT_FALSE(h->ids.count("lb_as_set_weight_2d89bdbd"));
  ASSERT_TRUE(c.Send(Msg(10).U32(h->handle).U32(1).Str("lb_31818767", 64).Take()));
  std::optional<Bytes> r = c.Read();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(Be32(&(*r)[6]), 0u);
  EXPECT_EQ(Be16(&(*r)[10]), h->by_name.at("lb_conf"));
  ASSERT_TRUE(c.Send(Msg(h->by_name.at("show_version")).U32(h->handle).U32(2).Take()));
  r = c.Read();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(FixedField(*r, 42, 32), "26.06-maglev-vppsim");

  // A second simulator on the same live socket refuses to start.
  Process second;
  std::string log2 = dir_ + "/second.log";
  ASSERT_TRUE(second.Start({"--socket", sock_}, log2));
  int status2 = second.Wait();
  ASSERT_NE(status2, -1);
  EXPECT_TRUE(WIFEXITED(status2));
  EXPECT_EQ(WEXITSTATUS(status2), 1);
  ::unlink(log2.c_str());
  EXPECT_EQ(PingOk(c, h->handle), true);

  p.Signal(SIGINT);
  int status = p.Wait();
  ASSERT_NE(status, -1);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  struct stat st {};
  EXPECT_NE(::lstat(sock_.c_str(), &st), 0);
}

TEST_F(VppsimProcessTest, BadFlagsExitWithUsageError) {
  Process p;
  ASSERT_TRUE(p.Start({"--socket", sock_, "--gc-interval", "soon"}, log_));
  int status = p.Wait();
  ASSERT_NE(status, -1);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 2);
  Process q;
  ASSERT_TRUE(q.Start({}, log_));
  status = q.Wait();
  ASSERT_NE(status, -1);
  EXPECT_EQ(WEXITSTATUS(status), 2);
}

}  // namespace
}  // namespace maglev::vppsim::testing
