#include "services/admin/keypool_notifier.h"

#include <chrono>
#include <utility>

#include "libs/common/logging.h"

namespace aigw::admin {

GrpcKeyPoolNotifier::GrpcKeyPoolNotifier(std::shared_ptr<grpc::Channel> channel,
                                         auth::TokenSource* tokens, absl::Duration timeout)
    : stub_(aigw::v1::KeyPool::NewStub(std::move(channel))), tokens_(tokens), timeout_(timeout) {}

void GrpcKeyPoolNotifier::KeysChanged(absl::string_view why) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() +
                   std::chrono::milliseconds(absl::ToInt64Milliseconds(timeout_)));
  if (tokens_ != nullptr) {
    std::string header = tokens_->AuthorizationHeader();
    if (!header.empty()) ctx.AddMetadata("authorization", header);
  }
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
