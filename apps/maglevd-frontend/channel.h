// SPDX-License-Identifier: Apache-2.0
// The gRPC channel to one maglevd: plaintext, or TLS with an optional client
// certificate (mTLS), through the project's client credentials (api/tls.h).
// Any thread.
#pragma once

#include <grpcpp/channel.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "api/tls.h"

namespace maglev::frontend {

// The one place where channels are made. Keepalive is on so that a maglevd
// that vanished without closing is noticed by the event stream too.
// InvalidArgument when a TLS file cannot be read or a pair is incomplete.
absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeMaglevdChannel(
    const std::string& address, const maglev::ClientTlsOptions& tls);

}  // namespace maglev::frontend
