#include "prober/netns.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "common/log.h"

namespace maglev {

std::string LowerFirst(std::string s) {
  // Keep acronyms ("SSL routines") intact: only lower a capital followed by a
  // lower-case letter.
  if (s.size() >= 2 && std::isupper(static_cast<unsigned char>(s[0])) &&
      std::islower(static_cast<unsigned char>(s[1]))) {
    s[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
  }
  return s;
}

namespace {

std::string ErrnoText(int err) { return LowerFirst(std::strerror(err)); }

constexpr const char* kNetnsDir = "/var/run/netns/";

}  // namespace

NetnsSockets::NetnsSockets() {
  // /proc/thread-self is the namespace of the constructing thread, which is
  // the one the loop thread starts in as well.
  original_fd_ = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (original_fd_ < 0) original_fd_ = ::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  if (original_fd_ < 0) original_error_ = "open /proc/self/ns/net: " + ErrnoText(errno);
}

NetnsSockets::~NetnsSockets() {
  for (auto& [name, e] : cache_) ::close(e.fd);
  if (original_fd_ >= 0) ::close(original_fd_);
}

absl::StatusOr<NetnsSockets::Entry> NetnsSockets::Lookup(const std::string& netns) {
  auto fail = [&](const std::string& what) {
    return absl::UnavailableError("netns \"" + netns + "\": " + what);
  };
  if (netns.find('/') != std::string::npos || netns == "." || netns == "..") {
    return fail("invalid namespace name");
  }
  const std::string path = kNetnsDir + netns;
  struct stat st;
  auto it = cache_.find(netns);
  if (::stat(path.c_str(), &st) != 0) {
    const int err = errno;
    // Deleted: let go of it, or our fd would keep the namespace (and its
    // interfaces) alive after the operator removed it.
    if (it != cache_.end()) {
      ::close(it->second.fd);
      cache_.erase(it);
    }
    return fail("open " + path + ": " + ErrnoText(err));
  }
  if (it != cache_.end()) {
    if (it->second.dev == st.st_dev && it->second.ino == st.st_ino) return it->second;
    ::close(it->second.fd);  // re-created under the same name
    cache_.erase(it);
  }
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail("open " + path + ": " + ErrnoText(errno));
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return fail("stat " + path + ": " + ErrnoText(err));
  }
  Entry e{fd, static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino)};
  cache_[netns] = e;
  return e;
}

absl::StatusOr<uint64_t> NetnsSockets::Identity(const std::string& netns) {
  if (netns.empty()) return 0;
  auto e = Lookup(netns);
  if (!e.ok()) return e.status();
  return e->ino;
}

absl::StatusOr<int> NetnsSockets::Socket(const std::string& netns, int family, int type,
                                         int protocol) {
  const int flags = SOCK_NONBLOCK | SOCK_CLOEXEC;
  if (netns.empty()) {
    int fd = ::socket(family, type | flags, protocol);
    if (fd < 0) return absl::UnavailableError("socket: " + ErrnoText(errno));
    return fd;
  }
  auto e = Lookup(netns);
  if (!e.ok()) return e.status();
  if (original_fd_ < 0) {
    return absl::UnavailableError("netns \"" + netns + "\": " + original_error_);
  }
  if (::setns(e->fd, CLONE_NEWNET) != 0) {
    return absl::UnavailableError("netns \"" + netns + "\": setns: " + ErrnoText(errno));
  }
  int fd = ::socket(family, type | flags, protocol);
  int socket_errno = errno;
  if (::setns(original_fd_, CLONE_NEWNET) != 0) {
    // The loop thread is now stuck in the wrong namespace; nothing sane can
    // continue (every later socket would silently land there).
    LogError("netns-restore-failed", {{"netns", netns}, {"error", ErrnoText(errno)}});
    std::abort();
  }
  if (fd < 0) {
    return absl::UnavailableError("netns \"" + netns + "\": socket: " + ErrnoText(socket_errno));
  }
  return fd;
}

}  // namespace maglev
