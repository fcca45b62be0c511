// Socket creation inside named network namespaces (/var/run/netns/<name>),
// for probes that must run in another namespace than the daemon's. A socket
// keeps the namespace it was created in, so only socket() itself runs inside
// the target namespace: the calling thread enters it with setns(), creates the
// socket and returns to the namespace saved at construction. Namespace fds are
// cached and revalidated against the path (a namespace deleted and re-created
// under the same name is picked up). Used on the core loop thread only.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "absl/status/statusor.h"

namespace maglev {

class NetnsSockets {
 public:
  NetnsSockets();
  ~NetnsSockets();
  NetnsSockets(const NetnsSockets&) = delete;
  NetnsSockets& operator=(const NetnsSockets&) = delete;

  // Returns a new non-blocking, close-on-exec socket(family, type, protocol)
  // created in `netns` ("" = the namespace the object was constructed in).
  // The caller owns the fd. Errors carry a short human message, e.g.
  // `netns "blue": open /var/run/netns/blue: no such file or directory`.
  absl::StatusOr<int> Socket(const std::string& netns, int family, int type, int protocol);

  // A value identifying the namespace currently behind `netns` (0 for ""),
  // so that callers caching sockets per namespace notice a re-created one.
  absl::StatusOr<uint64_t> Identity(const std::string& netns);

 private:
  struct Entry {
    int fd = -1;
    uint64_t dev = 0;
    uint64_t ino = 0;
  };
  absl::StatusOr<Entry> Lookup(const std::string& netns);

  int original_fd_ = -1;  // the namespace to return to
  std::string original_error_;
  std::map<std::string, Entry> cache_;
};

// "Connection refused" -> "connection refused": detail strings are lower case.
std::string LowerFirst(std::string s);

}  // namespace maglev
