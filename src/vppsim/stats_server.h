// SPDX-License-Identifier: Apache-2.0
// The stats socket as VPP serves it (STATS.md §1): AF_UNIX SOCK_SEQPACKET,
// mode 0775; per accepted connection one sendmsg with an empty payload and
// the segment's memfd as SCM_RIGHTS, then close. A stale socket file is
// replaced; one on which another server answers is an error.
// Threading: runs on the io_context's thread; Start/Stop on that thread (or
// before it runs).
#pragma once

#include <cstddef>
// (asio after a standard header: see vppsim/server.h)
#include <asio/io_context.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <string>

#include "absl/status/status.h"

namespace maglev::vppsim {

class StatsServer {
 public:
  // `memfd` stays owned by the caller and must outlive the server.
  StatsServer(asio::io_context& io, std::string path, int memfd);
  ~StatsServer();

  absl::Status Start();
  // Stops accepting and removes the socket file. Idempotent.
  void Stop();
  uint64_t served() const { return served_; }
  const std::string& path() const { return path_; }

 private:
  void Wait();
  void OnReadable();

  std::string path_;
  int memfd_;
  int listen_fd_ = -1;
  asio::posix::stream_descriptor watcher_;
  bool started_ = false;
  uint64_t served_ = 0;
};

}  // namespace maglev::vppsim
