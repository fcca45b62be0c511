// End-to-end tests of the API and the CLI with real processes: the real
// maglevd (no dataplane, no metrics), the real maglevc one-shot and
// interactive (through a pseudo-terminal), and a Python grpcio client whose
// stubs are generated at test time from the seed's original maglev.proto.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

const std::string kBinDir = MAGLEV_BIN_DIR;
const std::string kMaglevd = kBinDir + "/maglevd";
const std::string kMaglevc = kBinDir + "/maglevc";

const char* kConfig = R"(
maglev:
  vpp:
    lb:
      ipv4-src-address: 192.0.2.1
  healthchecks:
    tcp-check:
      type: tcp
      port: 1
      interval: 1s
      timeout: 200ms
      rise: 2
      fall: 3
  backends:
    static-primary: { address: 127.0.0.61 }
    static-fallback: { address: 127.0.0.62 }
    tcp-down: { address: 127.0.0.63, healthcheck: tcp-check }
  frontends:
    failover:
      description: "failover test"
      address: 192.0.2.90
      protocol: tcp
      port: 8080
      pools:
        - name: primary
          backends:
            static-primary: { weight: 80 }
        - name: fallback
          backends:
            static-fallback: { weight: 30 }
    web:
      address: 192.0.2.91
      protocol: tcp
      port: 80
      pools:
        - name: main
          backends:
            tcp-down: {}
            static-fallback: {}
)";

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

bool PortAccepts(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  close(fd);
  return ok;
}

std::vector<char*> Argv(std::vector<std::string>& args) {
  std::vector<char*> out;
  for (auto& a : args) out.push_back(a.data());
  out.push_back(nullptr);
  return out;
}

struct Result {
  int status = -1;  // exit status, or 128+signal
  std::string out, err;
};

// Runs a program to completion (killed after `timeout`), capturing output.
Result RunProgram(std::vector<std::string> args, const std::map<std::string, std::string>& env = {},
                  std::chrono::seconds timeout = std::chrono::seconds(30),
                  const std::string& stdin_text = "") {
  // Close-on-exec: tests run programs from two threads at once (a watcher
  // and its trigger), and a child forked by one thread must not inherit the
  // other's pipe ends. An inherited write end keeps the other's reader from
  // seeing EOF until this child exits (a `watch` that runs for 30 s held a
  // `set backend` call that long). dup2 in the child clears the flag on
  // its own stdio.
  int out_pipe[2], err_pipe[2], in_pipe[2];
  EXPECT_EQ(pipe2(out_pipe, O_CLOEXEC), 0);
  EXPECT_EQ(pipe2(err_pipe, O_CLOEXEC), 0);
  EXPECT_EQ(pipe2(in_pipe, O_CLOEXEC), 0);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    dup2(in_pipe[0], 0);
    close(out_pipe[0]);
    close(err_pipe[0]);
    close(in_pipe[1]);
    for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
    auto argv = Argv(args);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(out_pipe[1]);
  close(err_pipe[1]);
  close(in_pipe[0]);
  // Small inputs only: they fit in the pipe buffer, so this cannot block.
  if (!stdin_text.empty()) {
    EXPECT_EQ(write(in_pipe[1], stdin_text.data(), stdin_text.size()),
              static_cast<ssize_t>(stdin_text.size()));
  }
  close(in_pipe[1]);
  Result r;
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  auto deadline = Clock::now() + timeout;
  int open_fds = 2;
  while (open_fds > 0 && Clock::now() < deadline) {
    if (poll(fds, 2, 100) <= 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP))) continue;
      char buf[4096];
      ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n <= 0) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      } else {
        (i == 0 ? r.out : r.err).append(buf, n);
      }
    }
  }
  if (open_fds > 0) kill(pid, SIGKILL);
  for (auto& f : fds)
    if (f.fd >= 0) close(f.fd);
  int st = 0;
  waitpid(pid, &st, 0);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  return r;
}

// The seed's proto text: the file is a commit message followed by the proto
// with every line followed by lines holding only "|".
std::string SeedProto() {
  for (const auto& entry : fs::directory_iterator(std::string(MAGLEV_SHARED_DIR) + "/seeds")) {
    if (entry.path().filename().string().rfind("000_", 0) != 0) continue;
    std::ifstream in(entry.path());
    std::string line, out;
    bool in_proto = false;
    while (std::getline(in, line)) {
      if (line.rfind("syntax = ", 0) == 0) in_proto = true;
      if (in_proto && line != "|") out += line + "\n";
    }
    return out;
  }
  return "";
}

class MaglevdTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (access(kMaglevd.c_str(), X_OK) != 0) GTEST_SKIP() << kMaglevd << " is not built";
    ASSERT_EQ(access(kMaglevc.c_str(), X_OK), 0) << kMaglevc << " is not built";
    char tmpl[] = "/tmp/maglev-api-it-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    config_ = dir_ + "/maglev.yaml";
    std::ofstream(config_) << kConfig;
    port_ = FreePort();
    server_ = "127.0.0.1:" + std::to_string(port_);
    StartDaemon();
  }

  void StartDaemon() {
    std::string log = dir_ + "/maglevd.log";
    pid_ = fork();
    if (pid_ == 0) {
      int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(fd, 1);
      dup2(fd, 2);
      std::vector<std::string> args = {kMaglevd, "--config",       config_, "--grpc-addr",
                                       server_,  "--vpp-api-addr", "",      "--metrics-addr",
                                       ""};
      auto argv = Argv(args);
      execv(argv[0], argv.data());
      _exit(127);
    }
    // Ready when the port accepts (bounded); fail early if it died.
    auto deadline = Clock::now() + std::chrono::seconds(20);
    while (!PortAccepts(port_)) {
      int st;
      if (waitpid(pid_, &st, WNOHANG) == pid_) {
        pid_ = -1;
        FAIL() << "maglevd exited early:\n" << Slurp(log);
      }
      ASSERT_LT(Clock::now(), deadline) << "maglevd did not listen:\n" << Slurp(log);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  // SIGTERM; returns the exit status (bounded wait, then SIGKILL).
  int StopDaemon() {
    if (pid_ <= 0) return -1;
    kill(pid_, SIGTERM);
    auto deadline = Clock::now() + std::chrono::seconds(20);
    int st = 0;
    while (waitpid(pid_, &st, WNOHANG) == 0) {
      if (Clock::now() > deadline) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &st, 0);
        pid_ = -1;
        return -2;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    pid_ = -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  }

  void TearDown() override {
    StopDaemon();
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  static std::string Slurp(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  Result Cli(const std::string& line, std::map<std::string, std::string> env = {}) {
    std::vector<std::string> args = {kMaglevc, "--server", server_};
    std::istringstream in(line);
    for (std::string w; in >> w;) args.push_back(w);
    env.emplace("HOME", dir_);
    return RunProgram(args, env);
  }

  // {backend -> "weight/effective[ disabled]"} from `show frontends NAME`.
  std::map<std::string, std::string> Weights(const std::string& frontend) {
    Result r = Cli("show frontends " + frontend);
    EXPECT_EQ(r.status, 0) << r.err;
    // The documented line (docs/cli.md), runtime mark included.
    std::regex re(
        R"(^\s*(\S+) weight (\d+)(?: \(runtime; config \d+\))? effective (\d+)( \[disabled\])?$)");
    std::map<std::string, std::string> out;
    std::istringstream in(r.out);
    for (std::string line; std::getline(in, line);) {
      std::smatch m;
      if (std::regex_match(line, m, re)) {
        out[m[1]] = m[2].str() + "/" + m[3].str() + (m[4].matched ? " disabled" : "");
      }
    }
    return out;
  }

  std::string dir_, config_, server_;
  int port_ = 0;
  pid_t pid_ = -1;
};

TEST_F(MaglevdTest, OneShotCommands) {
  Result r = Cli("show version");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("maglevd"), std::string::npos);
  EXPECT_NE(r.out.find(config_), std::string::npos) << r.out;

  r = Cli("show frontends");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_LT(r.out.find("failover"), r.out.find("web")) << r.out;
  EXPECT_EQ(r.out.find("\033"), std::string::npos);  // not a terminal: no colour

  r = Cli("sh ba");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("static-primary"), std::string::npos);
  r = Cli("show healthchecks tcp-check");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("tcp.ssl"), std::string::npos);

  r = Cli("show backends ghost");
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err, "error: backend \"ghost\" not found\n");
  r = Cli("show vpp info");
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err, "error: dataplane disabled\n");
  r = Cli("s frontends");
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err, "error: ambiguous \"s\": set, show, sync\n");
  r = Cli("config check");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "config ok\n");

  // MAGLEV_SERVER as the fallback address.
  r = RunProgram({kMaglevc, "show", "frontends", "failover"}, {{"MAGLEV_SERVER", server_}});
  EXPECT_EQ(r.status, 0) << r.err;
  // The flag wins over the environment.
  r = RunProgram({kMaglevc, "--server", server_, "show", "version"},
                 {{"MAGLEV_SERVER", "127.0.0.1:1"}});
  EXPECT_EQ(r.status, 0) << r.err;
}

TEST_F(MaglevdTest, ColourAndScriptedInput) {
  Result r = Cli("--color=true show frontends");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("\033[32mup\033[0m"), std::string::npos) << r.out;
  r = Cli("--color=maybe show frontends");
  EXPECT_EQ(r.status, 2);  // bad usage
  EXPECT_NE(r.err.find("--color"), std::string::npos) << r.err;

  // Commands on a pipe: no prompt, every line runs, failure shows in the
  // exit status.
  r = RunProgram({kMaglevc, "--server", server_}, {{"HOME", dir_}}, std::chrono::seconds(30),
                 "# a comment\nshow frontends failover\n\nshow backends ghost\nsh ve\n");
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.out.find("maglev> "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("static-primary weight 80 effective 80"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("maglevd"), std::string::npos) << r.out;  // `sh ve` ran after the error
  EXPECT_EQ(r.err, "error: backend \"ghost\" not found\n");
}

TEST_F(MaglevdTest, UnreachableServer) {
  Result r = RunProgram({kMaglevc, "--server", "127.0.0.1:1", "show", "frontends"});
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err,
            "error: cannot reach maglevd at 127.0.0.1:1 (Failed to connect to remote host: "
            "Connection refused)\n");
}

// Backends without health check are up at once; disabling the primary hands
// the frontend to the fallback pool, enabling it takes it back.
TEST_F(MaglevdTest, FailoverBetweenPools) {
  auto w = Weights("failover");
  EXPECT_EQ(w["static-primary"], "80/80");
  EXPECT_EQ(w["static-fallback"], "30/0");

  Result r = Cli("set backend static-primary disable");
  ASSERT_EQ(r.status, 0) << r.err;
  w = Weights("failover");
  EXPECT_EQ(w["static-primary"], "80/0 disabled");
  EXPECT_EQ(w["static-fallback"], "30/30");

  r = Cli("set backend static-primary enable");
  ASSERT_EQ(r.status, 0) << r.err;
  w = Weights("failover");
  EXPECT_EQ(w["static-primary"], "80/80");
  EXPECT_EQ(w["static-fallback"], "30/0");

  r = Cli("set frontend failover pool fallback backend static-fallback weight 10");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("static-fallback weight 10 (runtime; config 30) effective 0"),
            std::string::npos)
      << r.out;
  r = Cli("set frontend failover pool fallback backend static-fallback weight 101");
  EXPECT_EQ(r.status, 1);
}

TEST_F(MaglevdTest, WatchEventsOneShot) {
  // The watcher runs in the background. Whether it has subscribed yet is
  // not observable from here, so the trigger repeats (bounded) until the
  // watcher got its events and ended. Other backends' first probes may
  // land in the stream too (a slow sanitizer build starts late), so it
  // takes several events, and ours must be among them.
  Result watch;
  std::atomic<bool> finished{false};
  std::thread watcher([&] {
    watch = Cli("watch events num 6 backend");
    finished = true;
  });
  for (int i = 0; i < 200 && !finished; ++i) {
    Result r = Cli("set backend static-fallback pause");
    EXPECT_EQ(r.status, 0) << r.err;
    r = Cli("set backend static-fallback resume");
    EXPECT_EQ(r.status, 0) << r.err;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  watcher.join();
  EXPECT_EQ(watch.status, 0) << watch.err << "\n"
                             << watch.out << "\nmaglevd log:\n"
                             << Slurp(dir_ + "/maglevd.log");
  EXPECT_NE(watch.out.find(" backend static-fallback "), std::string::npos) << watch.out;
}

TEST_F(MaglevdTest, GracefulShutdownEndsWatchStreams) {
  Result watch;
  std::thread watcher([&] { watch = Cli("watch events"); });
  // Give the watcher time to subscribe; either way it must end with maglevd.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  int st = StopDaemon();
  watcher.join();
  EXPECT_EQ(st, 0);
  EXPECT_TRUE(watch.status == 0 || watch.status == 1) << watch.status << " " << watch.err;
}

// ---- the interactive shell through a pseudo-terminal -------------------------

class Pty {
 public:
  Pty(const std::vector<std::string>& args, const std::string& home) {
    pid_ = forkpty(&master_, nullptr, nullptr, nullptr);
    if (pid_ == 0) {
      setenv("HOME", home.c_str(), 1);
      setenv("TERM", "xterm", 1);
      std::vector<std::string> a = args;
      auto argv = Argv(a);
      execv(argv[0], argv.data());
      _exit(127);
    }
  }
  ~Pty() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (master_ >= 0) close(master_);
  }
  void Type(const std::string& s) {
    ASSERT_EQ(write(master_, s.data(), s.size()), (ssize_t)s.size());
  }
  // Reads until `needle` shows up in the output since the last Mark()
  // (bounded). Returns whether it did.
  bool WaitFor(const std::string& needle, std::chrono::seconds timeout = std::chrono::seconds(15)) {
    auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      if (out_.find(needle, mark_) != std::string::npos) return true;
      pollfd p{master_, POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) continue;
      char buf[4096];
      ssize_t n = read(master_, buf, sizeof buf);
      if (n <= 0) break;
      out_.append(buf, n);
    }
    return out_.find(needle, mark_) != std::string::npos;
  }
  void Mark() { mark_ = out_.size(); }
  std::string since_mark() const { return out_.substr(mark_); }
  // Waits (bounded) for the child to exit, draining its output meanwhile.
  int Wait() {
    int st = 0;
    auto deadline = Clock::now() + std::chrono::seconds(15);
    while (waitpid(pid_, &st, WNOHANG) == 0) {
      if (Clock::now() > deadline) return -1;
      pollfd p{master_, POLLIN, 0};
      if (poll(&p, 1, 50) > 0) {
        char buf[4096];
        ssize_t n = read(master_, buf, sizeof buf);
        if (n > 0) out_.append(buf, n);
      }
    }
    pid_ = -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  }

 private:
  int master_ = -1;
  pid_t pid_ = -1;
  std::string out_;
  size_t mark_ = 0;
};

TEST_F(MaglevdTest, InteractiveShellCompletionHelpAndHistory) {
  Pty pty({kMaglevc, "--server", server_, "--color=false"}, dir_);
  ASSERT_TRUE(pty.WaitFor("maglev> ")) << pty.since_mark();

  // Tab completes the prefix of a keyword.
  pty.Mark();
  pty.Type("sh fr\t");
  ASSERT_TRUE(pty.WaitFor("ontends")) << pty.since_mark();

  // `?` lists the next words without consuming the line.
  pty.Mark();
  pty.Type("?");
  ASSERT_TRUE(pty.WaitFor("<cr>")) << pty.since_mark();
  EXPECT_NE(pty.since_mark().find("<frontend>"), std::string::npos) << pty.since_mark();
  EXPECT_NE(pty.since_mark().find("failover"), std::string::npos) << pty.since_mark();

  // Live names complete too; Enter runs the line that was kept.
  pty.Mark();
  pty.Type("fa\t");
  ASSERT_TRUE(pty.WaitFor("ilover")) << pty.since_mark();
  pty.Mark();
  pty.Type("\r");
  ASSERT_TRUE(pty.WaitFor("static-primary weight 80 effective 80")) << pty.since_mark();
  ASSERT_TRUE(pty.WaitFor("maglev> ")) << pty.since_mark();

  // An error leaves the shell running.
  pty.Mark();
  pty.Type("show backends ghost\r");
  ASSERT_TRUE(pty.WaitFor("error: backend \"ghost\" not found")) << pty.since_mark();

  pty.Mark();
  pty.Type("quit\r");
  EXPECT_EQ(pty.Wait(), 0);
  // libedit's history file escapes blanks as \040.
  std::string history =
      std::regex_replace(Slurp(dir_ + "/.maglevc_history"), std::regex(R"(\\040)"), " ");
  EXPECT_NE(history.find("sh frontends failover"), std::string::npos) << history;
}

// ---- the original contract, from Python ------------------------------------

TEST_F(MaglevdTest, PythonClientFromTheSeedProto) {
  if (RunProgram({"/usr/bin/python3", "-c", "import grpc, google.protobuf"}).status != 0) {
    GTEST_SKIP() << "/usr/bin/python3 lacks python3-grpcio or python3-protobuf";
  }
  std::string proto = SeedProto();
  ASSERT_NE(proto.find("service Maglev"), std::string::npos) << "seed proto not found";
  std::string gen = dir_ + "/py";
  fs::create_directories(gen);
  std::ofstream(gen + "/maglev.proto") << proto;
  Result r =
      RunProgram({"/usr/bin/protoc", "-I", gen, "--python_out=" + gen, "--grpc_out=" + gen,
                  "--plugin=protoc-gen-grpc=/usr/bin/grpc_python_plugin", gen + "/maglev.proto"});
  ASSERT_EQ(r.status, 0) << r.err;
  ASSERT_TRUE(fs::exists(gen + "/maglev_pb2_grpc.py"));
  r = RunProgram(
      {"/usr/bin/python3",
       std::string(MAGLEV_SOURCE_DIR) + "/tests/integration/api/python_client.py", gen, server_},
      {}, std::chrono::seconds(120));
  EXPECT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("python-client: ok"), std::string::npos) << r.out << r.err;
}

}  // namespace
