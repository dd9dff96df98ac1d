#ifndef AIGW_SERVICES_GATEWAY_REQUEST_VALIDATION_TOOLS_H_
#define AIGW_SERVICES_GATEWAY_REQUEST_VALIDATION_TOOLS_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "aigw/v1/chat.pb.h"

namespace aigw::gateway {

// The checks of a request's tools, tool_choice, parallel_tool_calls and
// response_format (part of ValidateChatRequest). Each error is
// INVALID_ARGUMENT naming the field and what to send instead.

// Tool and schema names: what OpenAI accepts and Anthropic too.
inline constexpr int kMaxToolNameLength = 64;

// ^[A-Za-z0-9_-]{1,64}$; `field` names the value in the error
// ("tools[2].name").
absl::Status CheckToolName(absl::string_view field, absl::string_view name);

// At most `max_tools` tools, each with a valid name unique in the request
// and not providers::AnthropicAdapter::kStructuredOutputTool (the tool
// that carries a response_format's answer on Anthropic models: a caller's
// tool of that name would be mistaken for it), and parameters_json empty or
// a JSON object (nested at most
// tokenizer::kMaxToolSchemaDepth deep). Returns the bytes of text they carry
// (names, descriptions, schemas), which count toward the request's limit.
absl::StatusOr<int64_t> CheckTools(const google::protobuf::RepeatedPtrField<aigw::v1::Tool>& tools,
                                   int max_tools);

// tool_choice: mode auto | none | required | tool (or unset); required and
// tool need tools, tool names one of them, name only with mode tool.
// parallel_tool_calls only with tools.
absl::Status CheckToolChoice(const aigw::v1::ChatCompletionRequest& request);

// response_format: type text | json_object | json_schema (or unset);
// json_schema needs a name like a tool's and schema_json a JSON object; the
// other types take neither. Returns the schema's bytes.
absl::StatusOr<int64_t> CheckResponseFormat(const aigw::v1::ResponseFormat& format);

}  // namespace aigw::gateway

#endif  // AIGW_SERVICES_GATEWAY_REQUEST_VALIDATION_TOOLS_H_
