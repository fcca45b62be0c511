// SPDX-License-Identifier: Apache-2.0
// Listen addresses of maglevd-frontend's HTTP server: `HOST:PORT` with an
// IPv4 literal, `[IPv6]:PORT`, `localhost:PORT`, or `:PORT` for every
// address. Pure; any thread.
//
// The project's shared parser is to replace this one; ParseHttpListen is the
// only caller-facing entry point, so switching is a one-line change there.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace maglev::frontend {

struct ListenAddress {
  std::string host;  // numeric: "127.0.0.1", "::1", "0.0.0.0" or "::" (all)
  uint16_t port = 0;
  bool all = false;  // `:PORT`: every address, IPv6 and IPv4
  std::string ToString() const;
};

absl::StatusOr<ListenAddress> ParseHttpListen(std::string_view text);

}  // namespace maglev::frontend
