// SPDX-License-Identifier: Apache-2.0
//
// The reconciler's seam to VPP: a connector makes sessions, a session is the
// lb API (LbApi) of one connection plus what the reconciler needs around it
// (noticing that VPP went away while idle). SocketLbConnector is the
// production one, over VPP's API socket (LbClient); unit tests use an
// in-memory fake (tests/unit/vpp/fake_lb.h) and run the reconciler on a
// simulated loop.
//
// Threading: a connector and its sessions are used on the reconciler's loop
// only; counters() may be read from any thread.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/dispatcher.h"
#include "vpp/lb_api.h"

namespace maglev {

class VppApiCounters;

class LbSession : public LbApi {
 public:
  // Runs `on_lost` on `loop` once VPP is found gone (it closed the
  // connection) while no call is in flight, e.g. a VPP restart. Unsolicited
  // messages meanwhile (keepalives) are handled. The watch ends with the
  // session.
  virtual void WatchIdle(Dispatcher& loop, std::function<void(absl::Status)> on_lost) = 0;
};

class LbConnector {
 public:
  virtual ~LbConnector() = default;
  // A new session, or why there is none: no socket, refused, permission
  // denied, no lb plugin (the message says which). Closing the session
  // (destroying it) says goodbye to VPP.
  virtual absl::StatusOr<std::unique_ptr<LbSession>> Connect() = 0;
  // Where it connects, for logs ("/run/vpp/api.sock").
  virtual std::string target() const = 0;
  // Calls and errors per message over every session; null when not counted.
  virtual const VppApiCounters* counters() const = 0;
};

// Sessions over VPP's binary API socket. One LbClient serves every session
// in turn (so that its counters span reconnects); a new Connect() ends the
// previous session.
class SocketLbConnector : public LbConnector {
 public:
  SocketLbConnector(std::string socket_path, std::chrono::milliseconds call_timeout);
  ~SocketLbConnector() override;
  absl::StatusOr<std::unique_ptr<LbSession>> Connect() override;
  std::string target() const override { return socket_path_; }
  const VppApiCounters* counters() const override;

 private:
  class Session;
  std::string socket_path_;
  std::chrono::milliseconds call_timeout_;
  struct ClientHolder;
  std::unique_ptr<ClientHolder> client_;
};

}  // namespace maglev
