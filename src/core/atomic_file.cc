// SPDX-License-Identifier: Apache-2.0
#include "core/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/log.h"

namespace maglev {

namespace {

absl::Status Errno(const std::string& what, const std::string& path) {
  return absl::InternalError(what + " " + path + ": " + std::strerror(errno));
}

}  // namespace

absl::Status WriteFileAtomically(const std::string& path, std::string_view content) {
  size_t slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  std::string tmpl = dir + "/." + base + ".XXXXXX";
  int fd = mkostemp(tmpl.data(), O_CLOEXEC);
  if (fd < 0) return Errno("cannot create a temporary file in", dir);
  auto fail = [&](const std::string& what) {
    absl::Status st = Errno(what, tmpl);
    ::close(fd);
    ::unlink(tmpl.c_str());
    return st;
  };
  // Readable by all, like a file created with the usual umask 022.
  if (::fchmod(fd, 0644) != 0) return fail("cannot chmod");
  size_t off = 0;
  while (off < content.size()) {
    ssize_t n = ::write(fd, content.data() + off, content.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail("cannot write");
    off += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) return fail("cannot fsync");
  if (::close(fd) != 0) {
    absl::Status st = Errno("cannot close", tmpl);
    ::unlink(tmpl.c_str());
    return st;
  }
  if (::rename(tmpl.c_str(), path.c_str()) != 0) {
    absl::Status st = Errno("cannot rename to", path);
    ::unlink(tmpl.c_str());
    return st;
  }
  // The rename itself is durable once the directory is.
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return Errno("cannot open directory", dir);
  int rc = ::fsync(dfd);
  ::close(dfd);
  if (rc != 0) return Errno("cannot fsync directory", dir);
  return absl::OkStatus();
}

AtomicFileWriter::AtomicFileWriter(std::string path, std::string what)
    : path_(std::move(path)), what_(std::move(what)), thread_([this] { Run(); }) {}

AtomicFileWriter::~AtomicFileWriter() {
  {
    MutexLock lock(mu_);
    stop_ = true;
  }
  cv_.NotifyAll();
  thread_.join();
}

void AtomicFileWriter::Submit(std::string content) {
  {
    MutexLock lock(mu_);
    pending_ = std::move(content);
  }
  cv_.NotifyAll();
}

void AtomicFileWriter::Flush() {
  MutexLock lock(mu_);
  while (pending_ || busy_) cv_.Wait(mu_);
}

uint64_t AtomicFileWriter::writes() const {
  MutexLock lock(mu_);
  return writes_;
}

uint64_t AtomicFileWriter::failures() const {
  MutexLock lock(mu_);
  return failures_;
}

void AtomicFileWriter::Run() {
  bool failing = false;
  for (;;) {
    std::string content;
    {
      MutexLock lock(mu_);
      while (!pending_ && !stop_) cv_.Wait(mu_);
      if (!pending_) return;  // stopping with nothing left to write
      content = std::move(*pending_);
      pending_.reset();
      busy_ = true;
    }
    absl::Status st = WriteFileAtomically(path_, content);
    // Logged when writes start failing and when they work again, not once
    // per attempt.
    if (!st.ok() && !failing) {
      LogWarn(what_ + "-write-failed", {{"path", path_}, {"error", std::string(st.message())}});
    } else if (st.ok() && failing) {
      LogInfo(what_ + "-write-ok", {{"path", path_}});
    }
    failing = !st.ok();
    MutexLock lock(mu_);
    busy_ = false;
    ++(st.ok() ? writes_ : failures_);
    cv_.NotifyAll();
  }
}

}  // namespace maglev
