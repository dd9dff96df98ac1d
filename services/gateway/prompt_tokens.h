#ifndef AIGW_SERVICES_GATEWAY_PROMPT_TOKENS_H_
#define AIGW_SERVICES_GATEWAY_PROMPT_TOKENS_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "aigw/v1/chat.pb.h"
#include "libs/tokenizer/token_counter.h"

namespace aigw::gateway {

using ProtoMessages = google::protobuf::RepeatedPtrField<aigw::v1::ChatMessage>;
using ProtoTools = google::protobuf::RepeatedPtrField<aigw::v1::Tool>;

// A request's prompt counted by libs/tokenizer: messages with their text
// parts, images, tool calls and tool results, and the tool definitions
// offered (CountTokens, and completions whose provider reported no usage).
absl::StatusOr<tokenizer::TokenCount> CountPromptTokens(absl::string_view model,
                                                        absl::string_view provider_code,
                                                        const ProtoMessages& messages,
                                                        const ProtoTools& tools);

// The prompt tokens a call reserves in its key's TPM window before it is
// sent, without running the tokenizer (it is on every call's path): text
// (contents, text parts, names, tool calls, tool results, tool definitions,
// the response schema) at 4 bytes a token, the cookbook's fixed overhead per
// message and per tool, and images by their exact rule
// (tokenizer::CountImageUrlTokens). The keypool reconciles with the real
// count after the call.
int64_t EstimatePromptTokens(const aigw::v1::ChatCompletionRequest& request);

}  // namespace aigw::gateway

#endif  // AIGW_SERVICES_GATEWAY_PROMPT_TOKENS_H_
