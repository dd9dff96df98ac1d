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
//    to 2); stop becomes stop_sequences; user becomes metadata.user_id;
//    presence_penalty, frequency_penalty and seed have no Anthropic
//    equivalent and are not sent;
//  - tools become {name, description, input_schema} (an empty object schema
//    when a tool has no parameters); tool_choice auto -> {"type":"auto"},
//    required -> {"type":"any"}, tool -> {"type":"tool","name"}, none -> no
//    tools offered (or, when earlier turns hold tool_use / tool_result
//    blocks, which Anthropic only takes with tools defined, the tools and
//    {"type":"none"}); parallel_tool_calls false adds
//    disable_parallel_tool_use: true to the tool_choice;
//  - an assistant turn's tool calls become tool_use blocks after its text
//    (arguments as the input object); tool turns become tool_result blocks
//    of a user turn, consecutive ones (and a user turn right after them)
//    merged into one user turn with the tool results first;
//  - image parts become image blocks: a data: URL as source {type: base64,
//    media_type, data}, any other URL as source {type: url, url}; text
//    parts text blocks (empty text is left out: Anthropic refuses it);
//  - response_format json_object / json_schema: Anthropic has no such
//    parameter, so it is emulated with a tool named kStructuredOutputTool
//    whose input_schema is the requested schema ({"type":"object"} for
//    json_object) and a tool_choice forcing it (when the caller also offers
//    tools, their tool_choice stands and the model may call either). The
//    tool's input comes back as the answer's content (JSON text), streamed
//    as content deltas, and finish_reason stop instead of tool_calls.
//
// Response mapping: text blocks are concatenated into content, thinking
// blocks into reasoning_content, tool_use blocks become tool calls (input
// as arguments_json; streamed: content_block_start gives the call's id and
// name, input_json_delta its argument pieces, calls numbered from 0);
// stop_reason end_turn / stop_sequence ->
// stop, max_tokens -> length, tool_use -> tool_calls, refusal ->
// content_filter; usage is normalised (prompt = input_tokens +
// cache_creation_input_tokens + cache_read_input_tokens).
class AnthropicAdapter final : public ProviderAdapter {
 public:
  static constexpr int64_t kDefaultMaxTokens = 4096;
  static constexpr absl::string_view kApiVersion = "2023-06-01";
  // The tool that carries a response_format's answer (see above).
  static constexpr absl::string_view kStructuredOutputTool = "aigw_structured_output";

  absl::string_view api_format() const override { return "anthropic"; }
  HttpRequest BuildRequest(const ChatParams& params, absl::string_view base_url,
                           absl::string_view api_key) const override;
  absl::StatusOr<Completion> ParseResponse(absl::string_view body) const override;
  std::unique_ptr<StreamParser> NewStreamParser() const override;
  HttpRequest BuildListModelsRequest(absl::string_view base_url,
                                     absl::string_view api_key) const override;
};

// Anthropic's stop_reason in the OpenAI finish_reason vocabulary; unknown
// reasons pass through unchanged.
std::string MapAnthropicStopReason(absl::string_view stop_reason);

}  // namespace aigw::providers

#endif  // AIGW_LIBS_PROVIDERS_ANTHROPIC_ADAPTER_H_
