// SPDX-License-Identifier: Apache-2.0
#include "channel.h"

#include <grpcpp/create_channel.h>

namespace maglev::frontend {

absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeMaglevdChannel(
    const std::string& address, const maglev::ClientTlsOptions& tls) {
  auto setup = maglev::MakeClientChannelSetup(tls);
  if (!setup.ok()) return setup.status();
  grpc::ChannelArguments& args = setup->arguments;
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 10000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 5000);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 250);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 5000);
  args.SetInt(GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH, 64 << 20);
  return grpc::CreateCustomChannel(address, setup->credentials, args);
}

}  // namespace maglev::frontend
