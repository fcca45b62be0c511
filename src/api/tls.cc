// SPDX-License-Identifier: Apache-2.0
#include "api/tls.h"

#include <grpc/grpc_security_constants.h>
#include <grpcpp/create_channel.h>

#include <fstream>
#include <sstream>

namespace maglev {

namespace {

absl::StatusOr<std::string> ReadPem(const std::string& what, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(what + " \"" + path + "\": cannot be read");
  std::ostringstream text;
  text << in.rdbuf();
  std::string pem = text.str();
  if (pem.find("-----BEGIN ") == std::string::npos)
    return absl::InvalidArgumentError(what + " \"" + path + "\": not a PEM file");
  return pem;
}

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const ServerTlsOptions& options) {
  if (!options.enabled()) {
    if (!options.client_ca_file.empty())
      return absl::InvalidArgumentError("a client CA needs a server certificate and key");
    return grpc::InsecureServerCredentials();
  }
  if (options.cert_file.empty() || options.key_file.empty())
    return absl::InvalidArgumentError("TLS needs both a certificate and its private key");
  auto cert = ReadPem("certificate", options.cert_file);
  if (!cert.ok()) return cert.status();
  auto key = ReadPem("private key", options.key_file);
  if (!key.ok()) return key.status();
  grpc::SslServerCredentialsOptions ssl;
  ssl.pem_key_cert_pairs.push_back({*key, *cert});
  if (!options.client_ca_file.empty()) {
    auto ca = ReadPem("client CA", options.client_ca_file);
    if (!ca.ok()) return ca.status();
    ssl.pem_root_certs = *ca;
    ssl.client_certificate_request = GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  return grpc::SslServerCredentials(ssl);
}

absl::StatusOr<ClientChannelSetup> MakeClientChannelSetup(const ClientTlsOptions& options) {
  ClientChannelSetup setup;
  if (!options.enabled()) {
    setup.credentials = grpc::InsecureChannelCredentials();
    return setup;
  }
  if (options.cert_file.empty() != options.key_file.empty())
    return absl::InvalidArgumentError("a client certificate needs its private key, and back");
  grpc::SslCredentialsOptions ssl;
  if (!options.ca_file.empty()) {
    auto ca = ReadPem("CA", options.ca_file);
    if (!ca.ok()) return ca.status();
    ssl.pem_root_certs = *ca;
  }
  if (!options.cert_file.empty()) {
    auto cert = ReadPem("client certificate", options.cert_file);
    if (!cert.ok()) return cert.status();
    auto key = ReadPem("client key", options.key_file);
    if (!key.ok()) return key.status();
    ssl.pem_cert_chain = *cert;
    ssl.pem_private_key = *key;
  }
  setup.credentials = grpc::SslCredentials(ssl);
  if (!options.server_name.empty()) setup.arguments.SetSslTargetNameOverride(options.server_name);
  return setup;
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeClientChannel(const std::string& target,
                                                                 const ClientTlsOptions& options) {
  auto setup = MakeClientChannelSetup(options);
  if (!setup.ok()) return setup.status();
  return grpc::CreateCustomChannel(target, setup->credentials, setup->arguments);
}

}  // namespace maglev
