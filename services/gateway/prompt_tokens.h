#ifndef AIGW_SERVICES_GATEWAY_PROMPT_TOKENS_H_
#define AIGW_SERVICES_GATEWAY_PROMPT_TOKENS_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "aigw/v1/chat.pb.h"
#include "libs/tokenizer/token_counter.h"
#include "services/gateway/catalogue.h"

namespace aigw::gateway {

using ProtoMessages = google::protobuf::RepeatedPtrField<aigw::v1::ChatMessage>;
using ProtoTools = google::protobuf::RepeatedPtrField<aigw::v1::Tool>;

// The rule that counts images for a model of a provider: Anthropic's when
// the provider speaks the Anthropic format or the model is counted as
// Anthropic's (tokenizer::ImageRuleForModel: a Claude model behind an
// OpenAI-format router), OpenAI's otherwise.
tokenizer::ImageRule ImageRuleFor(const ProviderEntry& provider, const ModelEntry& model);

// A request's prompt counted by libs/tokenizer: messages with their text
// parts, images (by `image_rule`), tool calls and tool results, and the tool
// definitions offered (CountTokens, and completions whose provider reported
// no usage).
absl::StatusOr<tokenizer::TokenCount> CountPromptTokens(absl::string_view model,
                                                        absl::string_view provider_code,
                                                        const ProtoMessages& messages,
                                                        const ProtoTools& tools,
                                                        tokenizer::ImageRule image_rule);

// The prompt tokens a call reserves in its key's TPM window before it is
// sent, without running the tokenizer (it is on every call's path): text
// (contents, text parts, names, tool calls, tool results, tool definitions,
// the response schema) at 4 bytes a token, the cookbook's fixed overhead per
// message and per tool, and images by their exact rule, `image_rule`
// (tokenizer::CountImageUrlTokens). The keypool reconciles with the real
// count after the call.
int64_t EstimatePromptTokens(const aigw::v1::ChatCompletionRequest& request,
                             tokenizer::ImageRule image_rule);

}  // namespace aigw::gateway

#endif  // AIGW_SERVICES_GATEWAY_PROMPT_TOKENS_H_
