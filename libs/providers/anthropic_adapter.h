#ifndef AIGW_LIBS_PROVIDERS_ANTHROPIC_ADAPTER_H_
#define AIGW_LIBS_PROVIDERS_ANTHROPIC_ADAPTER_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "libs/providers/adapter.h"

namespace aigw::providers {

// Anthropic Messages, POST {base}/v1/messages with x-api-key and
// anthropic-version: 2023-06-01.
//
// Request mapping from the OpenAI-shaped ChatParams:
//  - system messages leave the list and become the top-level "system",
//    joined with a blank line in their original order;
//  - the rest must alternate user / assistant, so consecutive messages of
//    the same role are merged (joined with a blank line); any role other
//    than assistant is sent as user;
//  - max_tokens is required by Anthropic: when the caller set none, the
//    model's output limit (model_max_output_tokens) is sent, or
//    kDefaultMaxTokens when that is unknown;
//  - temperature is clamped to Anthropic's [0, 1] (the gateway accepts up
//    to 2); stop becomes stop_sequences; user becomes metadata.user_id.
//
// Response mapping: text blocks are concatenated into content, thinking
// blocks into reasoning_content; stop_reason end_turn / stop_sequence ->
// stop, max_tokens -> length, tool_use -> tool_calls, refusal ->
// content_filter; usage is normalised (prompt = input_tokens +
// cache_creation_input_tokens + cache_read_input_tokens).
class AnthropicAdapter final : public ProviderAdapter {
 public:
  static constexpr int64_t kDefaultMaxTokens = 4096;
  static constexpr absl::string_view kApiVersion = "2023-06-01";

  absl::string_view api_format() const override { return "anthropic"; }
  HttpRequest BuildRequest(const ChatParams& params, absl::string_view base_url,
                           absl::string_view api_key) const override;
  absl::StatusOr<Completion> ParseResponse(absl::string_view body) const override;
  std::unique_ptr<StreamParser> NewStreamParser() const override;
  HttpRequest BuildListModelsRequest(absl::string_view base_url,
                                     absl::string_view api_key) const override;
  absl::StatusOr<std::vector<ModelInfo>> ParseModelList(absl::string_view body) const override;
};

// Anthropic's stop_reason in the OpenAI finish_reason vocabulary; unknown
// reasons pass through unchanged.
std::string MapAnthropicStopReason(absl::string_view stop_reason);

}  // namespace aigw::providers

#endif  // AIGW_LIBS_PROVIDERS_ANTHROPIC_ADAPTER_H_
