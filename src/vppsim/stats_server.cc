// SPDX-License-Identifier: Apache-2.0
#include "vppsim/stats_server.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/log.h"

namespace maglev::vppsim {

StatsServer::StatsServer(asio::io_context& io, std::string path, int memfd)
    : path_(std::move(path)), memfd_(memfd), watcher_(io) {}

StatsServer::~StatsServer() { Stop(); }

absl::Status StatsServer::Start() {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path_.empty() || path_.size() >= sizeof addr.sun_path) {
    return absl::InvalidArgumentError(absl::StrCat("stats socket path too long: ", path_));
  }
  std::memcpy(addr.sun_path, path_.data(), path_.size());
  // Like VPP: a socket somebody answers on is an error, a dead one is removed.
  int probe = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (probe >= 0) {
    const bool live = ::connect(probe, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(probe);
    if (live) return absl::AlreadyExistsError(absl::StrCat("stats socket in use: ", path_));
  }
  ::unlink(path_.c_str());
  listen_fd_ = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (listen_fd_ < 0) return absl::InternalError(absl::StrCat("socket: ", std::strerror(errno)));
  // VPP binds with umask S_IWOTH: mode 0775.
  const mode_t old = ::umask(S_IWOTH);
  const int rc = ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  const int bind_errno = errno;
  ::umask(old);
  if (rc != 0 || ::listen(listen_fd_, 5) != 0) {
    const std::string err = std::strerror(rc != 0 ? bind_errno : errno);
    ::close(listen_fd_);
    listen_fd_ = -1;
    return absl::UnavailableError(absl::StrCat("cannot listen on stats socket ", path_, ": ", err));
  }
  watcher_.assign(listen_fd_);
  started_ = true;
  LogInfo("vppsim-stats-listen", {{"socket", path_}});
  Wait();
  return absl::OkStatus();
}

void StatsServer::Wait() {
  if (!started_) return;
  watcher_.async_wait(asio::posix::descriptor_base::wait_read, [this](std::error_code ec) {
    if (ec || !started_) return;
    OnReadable();
    Wait();
  });
}

void StatsServer::OnReadable() {
  for (;;) {
    int c = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        LogWarn("vppsim-stats-accept-failed", {{"error", std::strerror(errno)}});
      }
      return;
    }
    // One message: no data, one descriptor (CMSG_LEN(4) in CMSG_SPACE(4)).
    iovec iov{nullptr, 0};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    cmsghdr* cm = CMSG_FIRSTHDR(&msg);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(cm), &memfd_, sizeof(int));
    if (::sendmsg(c, &msg, MSG_NOSIGNAL) < 0) {
      LogDebug("vppsim-stats-send-failed", {{"error", std::strerror(errno)}});
    } else {
      ++served_;
    }
    ::close(c);
  }
}

void StatsServer::Stop() {
  if (!started_) return;
  started_ = false;
  std::error_code ignored;
  watcher_.cancel(ignored);
  watcher_.release();
  ::close(listen_fd_);
  listen_fd_ = -1;
  ::unlink(path_.c_str());
}

}  // namespace maglev::vppsim
