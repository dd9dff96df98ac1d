#ifndef AIGW_LIBS_SERVER_GRPC_STATUS_H_
#define AIGW_LIBS_SERVER_GRPC_STATUS_H_

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "grpcpp/support/status.h"

namespace aigw::server {

// The most a status message may take in the grpc-message header. gRPC
// percent-encodes it (printable ASCII but '%' as it is, every other byte as
// %XX) and a client refuses response headers over 8 KiB
// (GRPC_ARG_MAX_METADATA_SIZE): a provider's error text of a few thousand
// Chinese characters turned an INVALID_ARGUMENT into the client's own
// RESOURCE_EXHAUSTED "received initial metadata size exceeds limit".
inline constexpr size_t kMaxStatusMessageWireBytes = 4096;

// `message` as a client can receive it: valid UTF-8, and once encoded at most
// kMaxStatusMessageWireBytes; a longer one is cut between characters and
// ends with "...".
std::string BoundedStatusMessage(absl::string_view message);

// absl::Status and grpc::Status share their code numbers: each converts to
// the other with its code and message kept. Toward gRPC the message is
// bounded (BoundedStatusMessage), since it goes out in a header.
grpc::Status ToGrpcStatus(const absl::Status& status);
absl::Status ToAbslStatus(const grpc::Status& status);

}  // namespace aigw::server

#endif  // AIGW_LIBS_SERVER_GRPC_STATUS_H_
