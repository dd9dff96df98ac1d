#ifndef AIGW_LIBS_PROVIDERS_CHAT_TYPES_H_
#define AIGW_LIBS_PROVIDERS_CHAT_TYPES_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

// Plain data exchanged with the provider adapters. Independent of the protos
// so that the wire-format layer can be tested and benchmarked on its own; the
// gateway copies proto fields in and out.
namespace aigw::providers {

// A piece of a message: text, or an image by URL (https or data:).
struct ContentPart {
  enum class Kind { kText, kImageUrl };
  Kind kind = Kind::kText;
  std::string text;    // kText
  std::string url;     // kImageUrl
  std::string detail;  // kImageUrl: auto | low | high | empty

  friend bool operator==(const ContentPart&, const ContentPart&) = default;
};

// A function call the model made (answers, and assistant turns sent back).
struct ToolCall {
  std::string id;
  std::string name;
  std::string arguments_json;  // the arguments as JSON text

  friend bool operator==(const ToolCall&, const ToolCall&) = default;
};

struct ChatMessage {
  std::string role;  // system | user | assistant | tool
  std::string content;
  std::string name;  // optional participant name (OpenAI format only)
  // Instead of content when the turn holds images. (Default member
  // initialisers keep {role, content, name} aggregates warning-free.)
  std::vector<ContentPart> parts = {};
  std::vector<ToolCall> tool_calls = {};  // assistant turns
  std::string tool_call_id = {};          // tool turns: the call answered

  // Plain text: no parts, no tool calls, not a tool result. The adapters
  // keep their cheapest path for these.
  bool IsPlainText() const {
    return parts.empty() && tool_calls.empty() && tool_call_id.empty() && role != "tool";
  }
};

// A function the model may call.
struct ToolDefinition {
  std::string name;
  std::string description;
  std::string parameters_json;  // a JSON Schema object; empty = no parameters
  bool strict = false;
};

struct ToolChoice {
  std::string mode;  // auto | none | required | tool | empty (provider default)
  std::string name;  // mode tool
};

struct ResponseFormat {
  std::string type;  // text | json_object | json_schema | empty (= text)
  std::string name;
  std::string schema_json;
  bool strict = false;

  bool IsJson() const { return type == "json_object" || type == "json_schema"; }
};

struct ChatParams {
  std::string model;
  std::vector<ChatMessage> messages;
  std::optional<int64_t> max_tokens;
  // The model's own output limit (0: unknown): what a format that requires
  // max_tokens sends when the caller set none.
  int64_t model_max_output_tokens = 0;
  std::optional<double> temperature;
  std::optional<double> top_p;
  std::vector<std::string> stop;
  bool stream = false;
  std::string user;  // end-user id passed to the provider for abuse tracking
  std::vector<ToolDefinition> tools;
  ToolChoice tool_choice;
  std::optional<bool> parallel_tool_calls;
  ResponseFormat response_format;
  std::optional<double> presence_penalty;
  std::optional<double> frequency_penalty;
  std::optional<int64_t> seed;
};

// A streamed piece of a tool call. The first piece of a call carries its
// index (0-based position among the answer's calls), id and name; later
// pieces of the same index carry argument text to append.
struct ToolCallDelta {
  int index = 0;
  std::string id;
  std::string name;
  std::string arguments_delta;

  friend bool operator==(const ToolCallDelta&, const ToolCallDelta&) = default;
};

// Token counts normalised across providers:
//   prompt      includes cached_prompt and cache_creation,
//   completion  includes reasoning.
// For Anthropic, prompt = input_tokens + cache_creation_input_tokens +
// cache_read_input_tokens (Anthropic's input_tokens counts only the uncached
// remainder).
struct TokenUsage {
  int64_t prompt = 0;
  int64_t completion = 0;
  int64_t total = 0;
  int64_t cached_prompt = 0;   // cache reads / hits
  int64_t cache_creation = 0;  // Anthropic cache writes
  int64_t reasoning = 0;

  friend bool operator==(const TokenUsage&, const TokenUsage&) = default;
};

struct Completion {
  std::string id;
  std::string content;
  std::string reasoning_content;
  std::string model;
  // OpenAI vocabulary: stop | length | tool_calls | content_filter. Other
  // providers' reasons are mapped onto it where a mapping exists.
  std::string finish_reason;
  TokenUsage usage;
  bool has_usage = false;
  // The tools the model called, in order (finish_reason tool_calls).
  std::vector<ToolCall> tool_calls;
};

// A failed upstream call, as far as the response tells.
struct UpstreamError {
  // The HTTP status. For an error event inside a 200 stream it is inferred
  // from the error type (e.g. overloaded_error -> 529), since the real
  // status line said 200.
  int http_status = 0;
  std::string type;     // provider's error type, e.g. rate_limit_error
  std::string message;  // provider's human-readable text
  std::string code;     // OpenAI's error code (string or number), if any
  // From Retry-After (seconds or HTTP-date), when present and parseable.
  std::optional<int64_t> retry_after_ms;
};

}  // namespace aigw::providers

#endif  // AIGW_LIBS_PROVIDERS_CHAT_TYPES_H_
