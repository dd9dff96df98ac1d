#ifndef AIGW_TOOLS_FAKE_UPSTREAM_WIRE_FORMAT_H_
#define AIGW_TOOLS_FAKE_UPSTREAM_WIRE_FORMAT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "tools/fake-upstream/completion.h"

// Response bodies byte-for-byte in the providers' shapes: OpenAI chat
// completions (and DeepSeek's additions to it), Anthropic Messages, model
// lists and error bodies.
namespace aigw::fake_upstream {

struct ResponseMeta {
  std::string id;       // "chatcmpl-..." or "msg_..."
  int64_t created = 0;  // unix seconds
  std::string model;
};

struct StreamShape {
  // OpenAI stream_options.include_usage: a last chunk with empty choices.
  bool include_usage = false;
  // A rule's omit_usage: no usage anywhere in the stream.
  bool omit_usage = false;
};

// One SSE frame, complete with its blank-line terminator. Comments (": ...")
// carry no event; the server paces and counts only the others.
struct SseFrame {
  std::string text;
  bool comment = false;
};

std::string OpenAiCompletionJson(const ResponseMeta& meta, const Completion& completion,
                                 bool omit_usage);
// DeepSeek models differ from OpenAI: usage rides on the finish chunk
// (whatever include_usage says), and ": keep-alive" comments appear.
std::vector<SseFrame> OpenAiStreamFrames(const ResponseMeta& meta, const Completion& completion,
                                         const StreamShape& shape);

std::string AnthropicMessageJson(const ResponseMeta& meta, const Completion& completion,
                                 bool omit_usage);
std::vector<SseFrame> AnthropicStreamFrames(const ResponseMeta& meta, const Completion& completion,
                                            const StreamShape& shape);

// {"error":{"message","type","param":null,"code"}}; an empty code is null.
std::string OpenAiErrorJson(absl::string_view message, absl::string_view type,
                            absl::string_view code);
// {"type":"error","error":{"type","message"}}
std::string AnthropicErrorJson(absl::string_view type, absl::string_view message);

// The provider's default error type, code and message for an HTTP status.
struct ErrorDefaults {
  std::string type;
  std::string code;  // OpenAI only; empty = null
  std::string message;
};
ErrorDefaults DefaultError(ApiFormat format, int status);

std::string OpenAiModelListJson(const std::vector<std::string>& models);
std::string AnthropicModelListJson(const std::vector<std::string>& models);

}  // namespace aigw::fake_upstream

#endif  // AIGW_TOOLS_FAKE_UPSTREAM_WIRE_FORMAT_H_
