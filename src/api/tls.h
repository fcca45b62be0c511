// SPDX-License-Identifier: Apache-2.0
//
// TLS for the gRPC API, both ends: the server credentials of maglevd
// (certificate, key, and optionally a client CA that makes client
// certificates mandatory: mutual TLS) and the channel credentials of its
// clients (maglevc, maglevd-frontend): a CA to verify maglevd, optionally a
// client certificate and key. Plaintext stays the default. Files are read
// when the credentials are made; errors name the file. Thread-agnostic.
// Small on purpose: clients link it without the rest of src/api.
#pragma once

#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/support/channel_arguments.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace maglev {

struct ServerTlsOptions {
  std::string cert_file;       // PEM chain; empty (with key_file): plaintext
  std::string key_file;        // PEM private key
  std::string client_ca_file;  // PEM CA bundle; set: require and verify client certificates
  bool enabled() const { return !cert_file.empty() || !key_file.empty(); }
};

struct ClientTlsOptions {
  std::string ca_file;      // PEM CA bundle that signed maglevd's certificate; empty: plaintext
  std::string cert_file;    // PEM client certificate chain (mutual TLS)
  std::string key_file;     // its private key
  std::string server_name;  // name to verify instead of the address's host (optional)
  bool enabled() const { return !ca_file.empty() || !cert_file.empty() || !key_file.empty(); }
};

// InvalidArgument when a file cannot be read or a pair is incomplete.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const ServerTlsOptions& options);

struct ClientChannelSetup {
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  grpc::ChannelArguments arguments;  // carries the server-name override, if any
};
absl::StatusOr<ClientChannelSetup> MakeClientChannelSetup(const ClientTlsOptions& options);

// A channel to `target` with `options` (plaintext when !options.enabled()).
absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeClientChannel(const std::string& target,
                                                                 const ClientTlsOptions& options);

}  // namespace maglev
