// SPDX-License-Identifier: Apache-2.0
#include "channel.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>

#include <fstream>
#include <sstream>

namespace maglev::frontend {
namespace {

bool ReadFile(const std::string& path, std::string* out) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return false;
  std::ostringstream ss;
  ss << f.rdbuf();
  *out = ss.str();
  return true;
}

}  // namespace

absl::Status CheckClientTls(const ClientTls& tls) {
  if (tls.cert_file.empty() != tls.key_file.empty()) {
    return absl::InvalidArgumentError("--grpc-tls-cert and --grpc-tls-key go together");
  }
  for (const std::string* f : {&tls.ca_file, &tls.cert_file, &tls.key_file}) {
    std::string data;
    if (!f->empty() && !ReadFile(*f, &data)) {
      return absl::InvalidArgumentError("cannot read " + *f);
    }
  }
  return absl::OkStatus();
}

std::shared_ptr<grpc::Channel> MakeMaglevdChannel(const std::string& address,
                                                  const ClientTls& tls) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 10000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 5000);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 250);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 5000);
  args.SetInt(GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH, 64 << 20);
  std::shared_ptr<grpc::ChannelCredentials> creds;
  if (tls.enabled()) {
    grpc::SslCredentialsOptions o;
    ReadFile(tls.ca_file, &o.pem_root_certs);
    ReadFile(tls.cert_file, &o.pem_cert_chain);
    ReadFile(tls.key_file, &o.pem_private_key);
    creds = grpc::SslCredentials(o);
  } else {
    creds = grpc::InsecureChannelCredentials();
  }
  return grpc::CreateCustomChannel(address, creds, args);
}

}  // namespace maglev::frontend
