// SPDX-License-Identifier: Apache-2.0
// The --server list: `[NAME=]HOST:PORT[,...]`. NAME is what the dashboard and
// its URLs call that maglevd (default: the address itself). Pure.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace maglev::frontend {

struct ServerSpec {
  std::string name;
  std::string address;  // as given to gRPC
};

absl::StatusOr<std::vector<ServerSpec>> ParseServers(std::string_view text);

}  // namespace maglev::frontend
