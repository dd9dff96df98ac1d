#ifndef AIGW_SERVICES_GATEWAY_CHAT_SERVICE_H_
#define AIGW_SERVICES_GATEWAY_CHAT_SERVICE_H_

#include "aigw/v1/chat.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "services/gateway/catalogue.h"
#include "services/gateway/completion_call.h"
#include "services/gateway/request_validation.h"

namespace aigw::gateway {

struct ChatServiceOptions {
  ValidationLimits limits;
  // BatchCreateChatCompletion: items per batch, and items in flight at once
  // when the request does not say.
  int max_batch_items = 100;
  int default_batch_concurrency = 8;
  int max_batch_concurrency = 64;
  // Content of a stream waiting for a client that reads slower than the
  // upstream sends (behind the chunk being written). More ends the call with
  // RESOURCE_EXHAUSTED and stops the upstream. 0: no limit.
  int64_t max_queued_bytes = 1 << 20;
  // Who the call's credentials say is calling; fills caller.user_id when the
  // request leaves it empty. Optional.
  std::function<std::string(const grpc::CallbackServerContext&)> caller_subject;
};

// aigw.v1.ChatService on the callback API: no thread is held while a call
// waits for the keypool or the provider.
class ChatServiceImpl final : public aigw::v1::ChatService::CallbackService {
 public:
  ChatServiceImpl(const PipelineContext* pipeline, CatalogueCache* catalogue,
                  ChatServiceOptions options);

  grpc::ServerUnaryReactor* CreateChatCompletion(
      grpc::CallbackServerContext* ctx, const aigw::v1::ChatCompletionRequest* request,
      aigw::v1::ChatCompletion* response) override;
  grpc::ServerWriteReactor<aigw::v1::ChatCompletionChunk>* StreamChatCompletion(
      grpc::CallbackServerContext* ctx, const aigw::v1::ChatCompletionRequest* request) override;
  grpc::ServerUnaryReactor* BatchCreateChatCompletion(
      grpc::CallbackServerContext* ctx, const aigw::v1::BatchChatCompletionRequest* request,
      aigw::v1::BatchChatCompletionResponse* response) override;
  grpc::ServerUnaryReactor* CountTokens(grpc::CallbackServerContext* ctx,
                                        const aigw::v1::CountTokensRequest* request,
                                        aigw::v1::CountTokensResponse* response) override;

 private:
  const PipelineContext* const pipeline_;
  CatalogueCache* const catalogue_;
  // The request as the pipeline takes it: the caller filled in.
  aigw::v1::ChatCompletionRequest WithCaller(const grpc::CallbackServerContext& ctx,
                                             const aigw::v1::ChatCompletionRequest& request) const;

  const ChatServiceOptions options_;
};

}  // namespace aigw::gateway

#endif  // AIGW_SERVICES_GATEWAY_CHAT_SERVICE_H_
