#ifndef AIGW_LIBS_SERVER_GRPC_STATUS_H_
#define AIGW_LIBS_SERVER_GRPC_STATUS_H_

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace aigw::server {

// absl::Status and grpc::Status share their code numbers.
inline grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()));
}

inline absl::Status ToAbslStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

}  // namespace aigw::server

#endif  // AIGW_LIBS_SERVER_GRPC_STATUS_H_
