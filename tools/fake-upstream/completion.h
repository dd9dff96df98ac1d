#ifndef AIGW_TOOLS_FAKE_UPSTREAM_COMPLETION_H_
#define AIGW_TOOLS_FAKE_UPSTREAM_COMPLETION_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace aigw::fake_upstream {

// The wire dialect a request arrived in; it decides every response body.
enum class ApiFormat { kOpenAi, kAnthropic };

// What the fake needs from a chat request, in either dialect.
struct ChatRequest {
  std::string model;
  bool stream = false;
  // OpenAI stream_options.include_usage.
  bool include_usage = false;
  std::optional<int64_t> max_tokens;
  std::string last_user_message;
  // Deterministic prompt size; see CountPromptTokens.
  int64_t prompt_tokens = 0;

  // Tools offered, by name, in order.
  std::vector<std::string> tool_names;
  // auto (also when absent) | none | required (Anthropic "any") | tool.
  std::string tool_choice = "auto";
  std::string tool_choice_name;  // tool_choice tool
  // OpenAI parallel_tool_calls; Anthropic !disable_parallel_tool_use.
  bool parallel_tool_calls = true;
  // The text of the tool results the last turn carries (OpenAI: the
  // trailing role "tool" messages; Anthropic: the last user turn's
  // tool_result blocks), in order.
  std::vector<std::string> tool_results;
  // Images (image_url parts / image blocks) in the last user turn.
  int64_t images = 0;
  // OpenAI response_format json_object or json_schema.
  bool json_output = false;
};

// Parses an OpenAI chat-completions or Anthropic Messages body. Errors are
// InvalidArgument with the message a provider would give (the caller answers
// 400 invalid_request_error).
absl::StatusOr<ChatRequest> ParseChatRequest(ApiFormat format, absl::string_view body);

// Token figures, named the OpenAI way. For Anthropic, prompt_tokens is
// usage.input_tokens and cached_tokens is cache_read_input_tokens, as is.
struct Usage {
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  int64_t cached_tokens = 0;
  int64_t cache_creation_tokens = 0;
  int64_t reasoning_tokens = 0;
};

// Per-field replacement of the computed usage (a rule's "usage").
struct UsageOverride {
  std::optional<int64_t> prompt_tokens;
  std::optional<int64_t> completion_tokens;
  std::optional<int64_t> cached_tokens;
  std::optional<int64_t> cache_creation_tokens;
  std::optional<int64_t> reasoning_tokens;
};

// A tool call the fake makes, its arguments also split into stream pieces.
struct ToolCallOut {
  std::string id;  // "fake_N": OpenAI sends call_fake_N, Anthropic toolu_fake_N
  std::string name;
  std::string arguments;  // a JSON object, as text
  std::vector<std::string> argument_deltas;
};

// The fixed answer to a request, already split into stream deltas.
struct Completion {
  std::string content;
  std::vector<std::string> content_deltas;
  // Only for deepseek-reasoner; streamed before the content.
  std::string reasoning_content;
  std::vector<std::string> reasoning_deltas;
  // "stop", "length" when max_tokens cut the reply, "tool_calls".
  std::string finish_reason = "stop";
  Usage usage;
  std::vector<ToolCallOut> tool_calls;
};

// Whitespace-separated words: the fake's unit of "tokens".
int64_t CountWords(absl::string_view text);
// Stand-ins for what images and tool definitions add to the prompt.
inline constexpr int64_t kTokensPerImage = 85;
inline constexpr int64_t kTokensPerTool = 10;
// `text` cut before each space, so the pieces join back to it exactly (the
// stream pieces of tool arguments).
std::vector<std::string> SplitBeforeSpaces(absl::string_view text);

// The deterministic answer (README "Tools, images and JSON"):
//  - the last turn carries tool results: "tool results: " + their texts
//    joined by "; ";
//  - else tools are offered and tool_choice is not none: tool calls and no
//    text: the named tool (tool_choice tool), else every tool offered (only
//    the first when parallel calls are off); arguments
//    {"echo":<last user message>}; finish_reason tool_calls;
//  - else JSON output asked for (OpenAI response_format): the content is
//    {"echo":<last user message>};
//  - else "echo: " + the last user message (+ " [images: N]" when it holds
//    images), cut to max_tokens words; `content_override` replaces the
//    text before the cut.
// deepseek-reasoner also "reasons": "Reasoning about: " + the last user
// message. Usage: prompt = request.prompt_tokens; completion = words of
// content + words of reasoning + words of tool arguments; reasoning = words
// of reasoning; cache figures 0; then `usage_override` replaces whichever
// fields it sets.
Completion MakeCompletion(const ChatRequest& request,
                          const std::optional<std::string>& content_override,
                          const UsageOverride& usage_override);

// True for models that answer the DeepSeek way (cache hit/miss usage fields,
// keep-alive comments in streams).
bool IsDeepSeekModel(absl::string_view model);
bool IsReasonerModel(absl::string_view model);

}  // namespace aigw::fake_upstream

#endif  // AIGW_TOOLS_FAKE_UPSTREAM_COMPLETION_H_
