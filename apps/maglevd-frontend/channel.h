// SPDX-License-Identifier: Apache-2.0
// The gRPC channel to one maglevd: plaintext, or TLS with an optional client
// certificate (mTLS). Any thread.
#pragma once

#include <grpcpp/channel.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace maglev::frontend {

struct ClientTls {
  std::string ca_file;    // PEM roots to verify maglevd with; empty: plaintext unless cert set
  std::string cert_file;  // PEM client certificate (mTLS)
  std::string key_file;   // its PEM private key
  bool enabled() const { return !ca_file.empty() || !cert_file.empty() || !key_file.empty(); }
};

// Checks the files once at start (a missing file is a usage error).
absl::Status CheckClientTls(const ClientTls& tls);

// The one place where channels are made; keepalive is on so that a maglevd
// that vanished without closing is noticed by the event stream too.
std::shared_ptr<grpc::Channel> MakeMaglevdChannel(const std::string& address,
                                                  const ClientTls& tls);

}  // namespace maglev::frontend
