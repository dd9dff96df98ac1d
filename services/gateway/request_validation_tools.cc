#include "services/gateway/request_validation_tools.h"

#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "libs/providers/anthropic_adapter.h"
#include "libs/tokenizer/tool_tokens.h"

namespace aigw::gateway {
namespace {

bool IsToolNameChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
}

// A JSON object field; `what` says what it holds in the error.
absl::Status CheckObjectField(absl::string_view field, absl::string_view json,
                              absl::string_view what) {
  absl::Status st = tokenizer::CheckJsonObject(json);
  if (st.ok()) return st;
  return absl::InvalidArgumentError(
      absl::StrCat(field, " ", st.message(), ": send ", what, " as JSON text"));
}

std::string ToolNames(const google::protobuf::RepeatedPtrField<aigw::v1::Tool>& tools) {
  return absl::StrJoin(tools, ", ", [](std::string* out, const aigw::v1::Tool& t) {
    absl::StrAppend(out, t.name());
  });
}

}  // namespace

absl::Status CheckToolName(absl::string_view field, absl::string_view name) {
  if (name.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(field, " is empty"));
  }
  if (name.size() > kMaxToolNameLength) {
    return absl::InvalidArgumentError(absl::StrCat(field, " is ", name.size(),
                                                   " characters; at most ",
                                                   kMaxToolNameLength));
  }
  for (size_t i = 0; i < name.size(); ++i) {
    if (!IsToolNameChar(name[i])) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, " '", name, "' has '", name.substr(i, 1), "' at position ", i,
                       ": use only ASCII letters, digits, '_' and '-'"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<int64_t> CheckTools(const google::protobuf::RepeatedPtrField<aigw::v1::Tool>& tools,
                                   int max_tools) {
  if (tools.size() > max_tools) {
    return absl::InvalidArgumentError(
        absl::StrCat("tools has ", tools.size(), " entries; at most ", max_tools, " are accepted"));
  }
  int64_t bytes = 0;
  absl::flat_hash_map<absl::string_view, int> seen;
  for (int i = 0; i < tools.size(); ++i) {
    const aigw::v1::Tool& t = tools[i];
    const std::string field = absl::StrCat("tools[", i, "]");
    if (absl::Status st = CheckToolName(absl::StrCat(field, ".name"), t.name()); !st.ok()) {
      return st;
    }
    if (t.name() == providers::AnthropicAdapter::kStructuredOutputTool) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, ".name '", t.name(),
          "' is reserved: the gateway offers a tool of that name to Anthropic models to carry "
          "a response_format's answer; rename the tool"));
    }
    if (auto [it, inserted] = seen.emplace(t.name(), i); !inserted) {
      return absl::InvalidArgumentError(absl::StrCat(field, ".name '", t.name(),
                                                     "' is also tools[", it->second,
                                                     "].name: tool names must be unique"));
    }
    if (!t.parameters_json().empty()) {
      if (absl::Status st = CheckObjectField(absl::StrCat(field, ".parameters_json"),
                                             t.parameters_json(), "a JSON Schema object");
          !st.ok()) {
        return st;
      }
    }
    bytes += static_cast<int64_t>(t.name().size() + t.description().size() +
                                  t.parameters_json().size());
  }
  return bytes;
}

absl::Status CheckToolChoice(const aigw::v1::ChatCompletionRequest& request) {
  if (request.has_parallel_tool_calls() && request.tools().empty()) {
    return absl::InvalidArgumentError(
        "parallel_tool_calls is set but no tools are offered: send tools, or leave it unset");
  }
  if (!request.has_tool_choice()) return absl::OkStatus();
  const aigw::v1::ToolChoice& choice = request.tool_choice();
  const std::string& mode = choice.mode();
  if (!mode.empty() && mode != "auto" && mode != "none" && mode != "required" && mode != "tool") {
    return absl::InvalidArgumentError(absl::StrCat(
        "tool_choice.mode is '", mode, "': use auto, none, required or tool"));
  }
  if (mode != "tool") {
    if (!choice.name().empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "tool_choice.name is set but tool_choice.mode is '", mode,
          "': set mode to tool to force that tool, or clear the name"));
    }
    if (mode == "required" && request.tools().empty()) {
      return absl::InvalidArgumentError(
          "tool_choice.mode is 'required' but no tools are offered: send tools");
    }
    return absl::OkStatus();
  }
  if (choice.name().empty()) {
    return absl::InvalidArgumentError("tool_choice.mode is 'tool' but tool_choice.name is empty: "
                                      "name the tool the model must call");
  }
  for (const aigw::v1::Tool& t : request.tools()) {
    if (t.name() == choice.name()) return absl::OkStatus();
  }
  return absl::InvalidArgumentError(
      absl::StrCat("tool_choice.name '", choice.name(), "' is not among the tools offered (",
                   request.tools().empty() ? "none" : ToolNames(request.tools()), ")"));
}

absl::StatusOr<int64_t> CheckResponseFormat(const aigw::v1::ResponseFormat& format) {
  const std::string& type = format.type();
  if (type != "json_schema") {
    if (!type.empty() && type != "text" && type != "json_object") {
      return absl::InvalidArgumentError(absl::StrCat(
          "response_format.type is '", type, "': use text, json_object or json_schema"));
    }
    if (!format.schema_json().empty() || !format.name().empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "response_format has a schema or name but its type is '", type,
          "': set type to json_schema to use them"));
    }
    return 0;
  }
  if (absl::Status st = CheckToolName("response_format.name", format.name()); !st.ok()) return st;
  if (format.schema_json().empty()) {
    return absl::InvalidArgumentError(
        "response_format.schema_json is empty: json_schema needs the schema to follow");
  }
  if (absl::Status st = CheckObjectField("response_format.schema_json", format.schema_json(),
                                         "a JSON Schema object");
      !st.ok()) {
    return st;
  }
  return static_cast<int64_t>(format.name().size() + format.schema_json().size());
}

}  // namespace aigw::gateway
