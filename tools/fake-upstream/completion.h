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

// The fixed answer to a request, already split into stream deltas.
struct Completion {
  std::string content;
  std::vector<std::string> content_deltas;
  // Only for deepseek-reasoner; streamed before the content.
  std::string reasoning_content;
  std::vector<std::string> reasoning_deltas;
  // "stop", or "length" when max_tokens cut the reply.
  std::string finish_reason = "stop";
  Usage usage;
};

// Whitespace-separated words: the fake's unit of "tokens".
int64_t CountWords(absl::string_view text);

// The deterministic answer: "echo: " + the last user message, cut to
// max_tokens words; `content_override` replaces the text before the cut.
// deepseek-reasoner also "reasons": "Reasoning about: " + the last user
// message. Usage: prompt = request.prompt_tokens; completion = words of
// content + words of reasoning; reasoning = words of reasoning; cache
// figures 0; then `usage_override` replaces whichever fields it sets.
Completion MakeCompletion(const ChatRequest& request,
                          const std::optional<std::string>& content_override,
                          const UsageOverride& usage_override);

// True for models that answer the DeepSeek way (cache hit/miss usage fields,
// keep-alive comments in streams).
bool IsDeepSeekModel(absl::string_view model);
bool IsReasonerModel(absl::string_view model);

}  // namespace aigw::fake_upstream

#endif  // AIGW_TOOLS_FAKE_UPSTREAM_COMPLETION_H_
