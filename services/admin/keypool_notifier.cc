#include "services/admin/keypool_notifier.h"

#include <chrono>
#include <utility>

#include "libs/common/logging.h"

namespace aigw::admin {

GrpcKeyPoolNotifier::GrpcKeyPoolNotifier(std::shared_ptr<grpc::Channel> channel,
                                         absl::Duration timeout)
    : stub_(aigw::v1::KeyPool::NewStub(std::move(channel))), timeout_(timeout) {}

void GrpcKeyPoolNotifier::KeysChanged(absl::string_view why, absl::string_view authorization) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() +
                   std::chrono::milliseconds(absl::ToInt64Milliseconds(timeout_)));
  if (!authorization.empty()) ctx.AddMetadata("authorization", std::string(authorization));
  aigw::v1::ReloadRequest request;
  aigw::v1::ReloadResponse response;
  const grpc::Status st = stub_->Reload(&ctx, request, &response);
  if (st.ok()) {
    spdlog::info("msg=\"keypool reloaded\" reason=\"{}\" keys_loaded={}", why,
                 response.keys_loaded());
    return;
  }
  spdlog::warn(
      "msg=\"keypool reload failed; it picks the change up at its next poll\" reason=\"{}\" "
      "code={} error=\"{}\"",
      why, static_cast<int>(st.error_code()), st.error_message());
}

}  // namespace aigw::admin
