// A maglev-vppsim child process for the VPP benchmarks: spawned on a fresh
// socket in a temporary directory, waited for until it accepts, terminated
// (SIGTERM, then waited for) on destruction. Used from the benchmark's main
// thread only.
#pragma once

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "vpp/lb_client.h"

extern char** environ;

namespace maglev::bench {

class SimProcess {
 public:
  // Starts `binary` on `<dir>/<name>.sock` with `extra` flags. The log level
  // is warn: per-call debug logging would dominate the measurement.
  static absl::StatusOr<std::unique_ptr<SimProcess>> Start(const std::string& binary,
                                                           const std::string& dir,
                                                           const std::string& name,
                                                           std::vector<std::string> extra = {}) {
    auto p = std::unique_ptr<SimProcess>(new SimProcess());
    p->socket_ = dir + "/" + name + ".sock";
    std::vector<std::string> args = {binary, "--socket", p->socket_, "--log-level", "warn"};
    args.insert(args.end(), extra.begin(), extra.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    if (posix_spawn(&p->pid_, binary.c_str(), nullptr, nullptr, argv.data(), environ) != 0) {
      return absl::InternalError("cannot spawn " + binary);
    }
    // Wait (bounded) until it answers a handshake.
    for (int i = 0; i < 200; ++i) {
      LbClient probe("bench-probe");
      if (probe.Connect(p->socket_, std::chrono::seconds(2)).ok()) return p;
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    return absl::DeadlineExceededError("maglev-vppsim did not start on " + p->socket_);
  }

  ~SimProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      int status = 0;
      waitpid(pid_, &status, 0);
    }
  }

  const std::string& socket() const { return socket_; }
  pid_t pid() const { return pid_; }

 private:
  SimProcess() = default;
  pid_t pid_ = -1;
  std::string socket_;
};

// A private temporary directory, removed with its contents on destruction.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "maglev-bench-XXXXXX").string();
    if (mkdtemp(tmpl.data())) path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// CPU seconds (user + system) used so far by process `pid`, from /proc.
inline double ProcessCpuSeconds(pid_t pid) {
  std::string path = "/proc/" + std::to_string(pid) + "/stat";
  FILE* f = std::fopen(path.c_str(), "r");
  if (!f) return 0;
  char buf[1024];
  size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  buf[n] = 0;
  std::string s(buf);
  size_t close = s.rfind(')');
  if (close == std::string::npos) return 0;
  std::vector<std::string> fields;
  size_t pos = close + 2;
  while (pos < s.size()) {
    size_t sp = s.find(' ', pos);
    if (sp == std::string::npos) sp = s.size();
    fields.push_back(s.substr(pos, sp - pos));
    pos = sp + 1;
  }
  if (fields.size() < 13) return 0;
  double ticks = std::atof(fields[11].c_str()) + std::atof(fields[12].c_str());
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

}  // namespace maglev::bench
