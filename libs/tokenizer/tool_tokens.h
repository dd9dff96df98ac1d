#ifndef AIGW_LIBS_TOKENIZER_TOOL_TOKENS_H_
#define AIGW_LIBS_TOKENIZER_TOOL_TOKENS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace aigw::tokenizer {

// Function (tool) definitions in prompt tokens, by the rule of OpenAI's
// cookbook (How_to_count_tokens_with_tiktoken.ipynb, section 7,
// num_tokens_for_tools), which matched the API's prompt_tokens for its
// example (105 for gpt-3.5-turbo and gpt-4, 101 for gpt-4o and gpt-4o-mini):
//   per function: func_init + tokens("name:description")
//   when it has parameters: prop_init, then per top-level property
//     prop_key + tokens("name:type:description"), and when it has an enum
//     enum_init + per value (enum_item + tokens(value));
//   once when there are functions: func_end.
// Descriptions lose one trailing '.'. func_init is 10 for cl100k_base models
// (gpt-3.5-turbo, gpt-4) and 7 otherwise (gpt-4o and later, and the
// estimates of other vendors); the others are the same for both.
//
// Beyond the cookbook (which reads only those fields): a property's other
// schema (nested objects, array items, formats, bounds) counts as the text
// of its keys and values; a type list (["string", "null"]) as its names
// joined by '|'; parameters that are not a JSON object count as their text.

// A function the model may call; the views must outlive the call.
struct ToolDefinition {
  absl::string_view name;
  absl::string_view description;
  absl::string_view parameters_json;  // a JSON Schema object; empty: none
};

struct ToolTokenRule {
  int func_init = 7;
  int prop_init = 3;
  int prop_key = 3;
  int enum_init = -3;
  int enum_item = 3;
  int func_end = 12;
};

// The rule for a tiktoken encoding name (cl100k_base or anything else).
ToolTokenRule ToolRuleForEncoding(absl::string_view encoding);

// One top-level property of a function's parameters.
struct ToolProperty {
  std::string name;
  std::string type;  // a type list joined by '|'
  std::string description;
  bool has_enum = false;
  std::vector<std::string> enum_values;  // strings unquoted, other values as JSON text
  // The rest of the property's schema, keys and values separated by spaces.
  std::string nested;
};

inline constexpr int kMaxToolSchemaDepth = 32;

// The top-level properties of a JSON Schema object (`properties`), in order.
// INVALID_ARGUMENT, saying why, when the text is not JSON, not an object, or
// nests objects and arrays deeper than `max_depth` (read without recursion,
// so hostile text cannot exhaust the stack). Empty text has no properties.
absl::StatusOr<std::vector<ToolProperty>> ReadToolProperties(
    absl::string_view parameters_json, int max_depth = kMaxToolSchemaDepth);

// OK when `json` is one JSON object nested at most `max_depth` deep; else
// INVALID_ARGUMENT as ReadToolProperties says it (tool-call arguments,
// response schemas).
absl::Status CheckJsonObject(absl::string_view json, int max_depth = kMaxToolSchemaDepth);

// The definitions as the rule above counts them: texts to tokenize, and a
// fixed number of tokens to add (may be negative only with enums, never in
// total with the func_init of the function that holds them).
struct ToolDefinitionText {
  int64_t fixed_tokens = 0;
  std::vector<std::string> lines;
};
ToolDefinitionText ToolDefinitionsAsText(absl::Span<const ToolDefinition> tools,
                                         const ToolTokenRule& rule);

}  // namespace aigw::tokenizer

#endif  // AIGW_LIBS_TOKENIZER_TOOL_TOKENS_H_
