#include "libs/server/grpc_status.h"

#include "libs/common/utf8.h"

namespace aigw::server {

std::string BoundedStatusMessage(absl::string_view message) {
  auto wire = [](unsigned char c) -> size_t { return c >= 0x20 && c <= 0x7E && c != '%' ? 1 : 3; };
  if (message.size() * 3 <= kMaxStatusMessageWireBytes && IsValidUtf8(message)) {
    return std::string(message);
  }
  std::string clean = ToValidUtf8(message);
  constexpr absl::string_view kEllipsis = "...";
  size_t total = 0, fits = 0;  // bytes that fit with room for the ellipsis
  for (size_t i = 0; i < clean.size(); ++i) {
    total += wire(static_cast<unsigned char>(clean[i]));
    if (total <= kMaxStatusMessageWireBytes - kEllipsis.size()) fits = i + 1;
  }
  if (total <= kMaxStatusMessageWireBytes) return clean;
  // Back to the start of the character the cut falls in.
  while (fits > 0 && fits < clean.size() &&
         (static_cast<unsigned char>(clean[fits]) & 0xC0) == 0x80) {
    --fits;
  }
  clean.resize(fits);
  clean.append(kEllipsis.data(), kEllipsis.size());
  return clean;
}

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      BoundedStatusMessage(status.message()));
}

absl::Status ToAbslStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

}  // namespace aigw::server
