// SPDX-License-Identifier: Apache-2.0
#include "core/route_notifier.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>

#include "common/log.h"

extern char** environ;

namespace maglev {

CommandResult RunCommand(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                         Duration timeout) {
  CommandResult res;
  if (argv.empty() || argv[0].empty()) {
    res.error = "empty command";
    return res;
  }
  std::vector<char*> cargv;
  for (const std::string& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  std::vector<char*> cenv;
  for (char** e = environ; e && *e; ++e) cenv.push_back(*e);
  for (const std::string& e : env) cenv.push_back(const_cast<char*>(e.c_str()));
  cenv.push_back(nullptr);

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addclosefrom_np(&fa, 3);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  for (int s : {SIGPIPE, SIGHUP, SIGINT, SIGTERM, SIGCHLD}) sigaddset(&defaults, s);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid = -1;
  int rc = posix_spawnp(&pid, cargv[0], &fa, &attr, cargv.data(), cenv.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    res.error = std::strerror(rc);
    return res;
  }
  res.started = true;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  for (;;) {
    pid_t w = ::waitpid(pid, &status, WNOHANG);
    if (w == pid) break;
    if (w < 0 && errno != EINTR) {
      res.error = std::strerror(errno);
      return res;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      res.timed_out = true;
      ::kill(-pid, SIGKILL);  // the whole group: a shell's children too
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      return res;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  res.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  // Whatever it left behind in its group does not outlive it for long.
  ::kill(-pid, SIGKILL);
  return res;
}

// ---- CommandQueue

CommandQueue::CommandQueue() : thread_([this] { Run(); }) {}

CommandQueue::~CommandQueue() {
  {
    MutexLock lock(mu_);
    stop_ = true;
    queue_.clear();
  }
  cv_.NotifyAll();
  thread_.join();
}

void CommandQueue::Enqueue(Job job) {
  {
    MutexLock lock(mu_);
    for (auto it = queue_.begin(); it != queue_.end();)
      it = it->key == job.key ? queue_.erase(it) : std::next(it);
    auto last = last_run_.find(job.key);
    if (last == last_run_.end() || last->second != job.value) queue_.push_back(std::move(job));
  }
  cv_.NotifyAll();
}

void CommandQueue::Drain(Duration limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  MutexLock lock(mu_);
  while (!queue_.empty() || busy_) {
    if (!cv_.WaitUntil(mu_, deadline)) break;
  }
  bool idle = queue_.empty() && !busy_;
  if (!idle && !queue_.empty()) {
    LogWarn("route-notify-dropped",
            {{"commands", static_cast<int64_t>(queue_.size())}, {"reason", "shutting down"}});
    queue_.clear();
  }
}

uint64_t CommandQueue::runs() const {
  MutexLock lock(mu_);
  return runs_;
}

void CommandQueue::Run() {
  for (;;) {
    Job job;
    {
      MutexLock lock(mu_);
      while (queue_.empty() && !stop_) cv_.Wait(mu_);
      if (stop_ && queue_.empty()) return;
      job = std::move(queue_.front());
      queue_.pop_front();
      last_run_[job.key] = job.value;
      busy_ = true;
    }
    CommandResult r = RunCommand(job.argv, job.env, job.timeout);
    std::string args;
    for (const std::string& a : job.argv) args += (args.empty() ? "" : " ") + a;
    if (!r.started) {
      LogWarn("route-notify-failed", {{"command", args}, {"error", r.error}});
    } else if (r.timed_out) {
      LogWarn("route-notify-timeout",
              {{"command", args}, {"timeout", FormatDuration(job.timeout)}});
    } else if (r.exit_code != 0) {
      LogWarn("route-notify-failed", {{"command", args},
                                      {"exit_code", static_cast<int64_t>(r.exit_code)},
                                      {"error", r.exit_code < 0 ? "killed by a signal" : ""}});
    } else {
      LogInfo("route-notify", {{"command", args}});
    }
    MutexLock lock(mu_);
    busy_ = false;
    ++runs_;
    cv_.NotifyAll();
  }
}

// ---- RouteNotifier

RouteNotifier::RouteNotifier(LbStage& lb, ReleasedFn released)
    : lb_(lb), released_(std::move(released)) {}

RouteNotifier::~RouteNotifier() { Stop(); }

void RouteNotifier::Start() {
  commands_ = std::make_unique<CommandQueue>();
  const std::string& path = lb_.config().routes.servable_file;
  if (!path.empty()) {
    std::ifstream in(path);
    if (in) {
      std::ostringstream ss;
      ss << in.rdbuf();
      file_content_ = ss.str();
      std::istringstream lines(*file_content_);
      for (std::string line; std::getline(lines, line);)
        if (!line.empty()) previous_file_.insert(line);
    }
  }
  listener_ = lb_.AddListener([this](const LbUpdate& u) { OnUpdate(u); });
  for (const auto& [name, _] : lb_.frontends()) Check(name);
  RewriteFile();
}

void RouteNotifier::OnReleased(const std::string& frontend) {
  if (!listener_) return;
  Check(frontend);
  RewriteFile();
}

void RouteNotifier::OnUpdate(const LbUpdate& update) {
  bool any = update.cause == LbUpdate::Cause::kReload;
  for (const FrontendChange& c : update.frontends) {
    if (!c.view) {
      // Removed by a reload: its route goes with its VIP.
      reported_.erase(c.frontend);
      continue;
    }
    if (update.cause == LbUpdate::Cause::kReload || c.status) {
      Check(c.frontend);
      any = true;
    }
  }
  if (any) RewriteFile();
}

void RouteNotifier::Check(const std::string& frontend) {
  const FrontendView* view = lb_.Find(frontend);
  if (!view || !released_(frontend)) return;
  auto it = reported_.find(frontend);
  if (it != reported_.end() && it->second == view->servable) return;
  reported_[frontend] = view->servable;
  const Frontend& fe = lb_.config().frontends.at(frontend);
  const std::string state = view->servable ? "servable" : "not-servable";
  LogInfo("frontend-route",
          {{"frontend", frontend}, {"vip", fe.address.ToString()}, {"state", state}});
  const RoutesConfig& rc = lb_.config().routes;
  if (rc.notify_command.empty() || !commands_) return;
  CommandQueue::Job job;
  job.key = frontend;
  job.value = state;
  job.argv = rc.notify_command;
  job.argv.insert(job.argv.end(), {frontend, fe.address.ToString(), state});
  job.env = {"MAGLEV_FRONTEND=" + frontend,
             "MAGLEV_VIP=" + fe.address.ToString(),
             std::string("MAGLEV_VIP_PROTOCOL=") + ProtocolName(fe.protocol),
             "MAGLEV_VIP_PORT=" + std::to_string(fe.port),
             "MAGLEV_STATE=" + state,
             std::string("MAGLEV_SERVABLE=") + (view->servable ? "1" : "0")};
  job.timeout = rc.notify_timeout;
  commands_->Enqueue(std::move(job));
}

// One address per line, sorted: an address is listed when a released
// frontend on it is servable, or when a frontend on it is not released yet
// and the file listed it before.
void RouteNotifier::RewriteFile() {
  const std::string& path = lb_.config().routes.servable_file;
  if (path.empty()) {
    writer_.reset();
    return;
  }
  std::set<IpAddress> listed;
  for (const auto& [name, fe] : lb_.config().frontends) {
    if (released_(name)) {
      auto r = reported_.find(name);
      if (r != reported_.end() && r->second) listed.insert(fe.address);
    } else if (previous_file_.count(fe.address.ToString())) {
      listed.insert(fe.address);
    }
  }
  std::string content;
  for (const IpAddress& a : listed) content += a.ToString() + "\n";
  if (writer_ && writer_->path() != path) writer_.reset();
  if (file_content_ && *file_content_ == content && writer_) return;
  if (!writer_) {
    writer_ = std::make_unique<AtomicFileWriter>(path, "servable-file");
    if (file_content_ && *file_content_ == content) return;  // as found at start
  }
  file_content_ = content;
  writer_->Submit(std::move(content));
}

void RouteNotifier::Flush() {
  if (commands_) commands_->Drain(std::chrono::seconds(60));
  if (writer_) writer_->Flush();
}

void RouteNotifier::Stop() {
  if (!listener_) return;
  lb_.RemoveListener(listener_);
  listener_ = 0;
  if (commands_) commands_->Drain(lb_.config().routes.notify_timeout);
  if (writer_) writer_->Flush();
  commands_.reset();
  writer_.reset();
}

}  // namespace maglev
