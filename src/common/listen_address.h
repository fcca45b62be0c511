// SPDX-License-Identifier: Apache-2.0
//
// The listen addresses of maglevd's servers (gRPC, /metrics) and of the
// other daemons, parsed once and the same way everywhere, so that a typo is
// a usage error before anything starts instead of a server silently bound
// somewhere else. Pure; thread-agnostic.
//
// Accepted forms (port 1..65535; 0 only where the caller allows it, for
// tests that let the kernel pick):
//   192.0.2.1:9090      an IPv4 literal
//   [2001:db8::1]:9090  an IPv6 literal, in brackets
//   localhost:9090      the IPv4 loopback 127.0.0.1 (never resolved)
//   :9090               every address, IPv6 and IPv4 (the Go original's form)
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "common/ip_address.h"

namespace maglev {

struct ListenAddress {
  IpAddress ip;      // [::] for the all-addresses form
  bool any = false;  // the ":PORT" form (dual-stack [::])
  uint16_t port = 0;

  bool is_loopback() const;
  // "127.0.0.1:9090", "[::1]:9090", "[::]:9090": also what gRPC takes.
  std::string ToString() const;
  // The same with another port (e.g. the one the kernel picked for port 0).
  std::string WithPort(uint16_t p) const;
};

// InvalidArgument naming the text and what is wrong, e.g.
// `"127.0.0.1": missing ":PORT"` or `"127.0.0.1:99999": port out of range 1-65535`.
absl::StatusOr<ListenAddress> ParseListenAddress(std::string_view text,
                                                 bool allow_port_zero = false);

// Binds a TCP socket to `address` the way our servers do (SO_REUSEADDR, no
// SO_REUSEPORT; dual-stack for the all-addresses form) and closes it again:
// Unavailable "ADDRESS: address already in use" (or the system's reason)
// when a server could not listen there. Servers whose library reports bind
// failures poorly (gRPC) call it first. Port 0 always succeeds.
absl::Status ProbeBind(const ListenAddress& address);

}  // namespace maglev
