// The one place where absl::Status becomes grpc::Status (and back, for
// clients). Both use the canonical status codes, so codes map one to one;
// the message is kept verbatim so that clients can print it as is.
// Pure; thread-agnostic.
#pragma once

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace maglev {

grpc::Status ToGrpcStatus(const absl::Status& status);
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace maglev
