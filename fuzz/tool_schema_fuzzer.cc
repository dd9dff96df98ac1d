// A tool's parameters_json as callers send it (libs/tokenizer/tool_tokens:
// ReadToolProperties, CheckJsonObject, ToolDefinitionsAsText), on arbitrary
// bytes: what request validation and token counting read.
//
// Checked besides crashes (deep nesting included: the reader must not
// recurse): only OK or INVALID_ARGUMENT; CheckJsonObject agrees with
// ReadToolProperties; the same text with a smaller depth bound is refused
// whenever the larger one refuses; the cookbook text of an accepted schema
// holds every property's "name:type:description" line and enum values, and
// its fixed tokens are func_init + prop_init + 3 per property (enums:
// -3 + 3 per value) + func_end.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "libs/tokenizer/tool_tokens.h"

namespace {

void Fail(const char* what) {
  fprintf(stderr, "tool_schema: %s\n", what);
  abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace aigw::tokenizer;  // NOLINT
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  const absl::StatusOr<std::vector<ToolProperty>> props = ReadToolProperties(text);
  if (!props.ok() && !absl::IsInvalidArgument(props.status())) Fail("unexpected status code");
  if (!text.empty() && CheckJsonObject(text).ok() != props.ok()) Fail("CheckJsonObject disagrees");
  if (!props.ok() && ReadToolProperties(text, 4).ok()) Fail("a smaller depth bound accepted more");

  const ToolDefinition tool{"f", "d", text};
  const ToolTokenRule rule;
  const ToolDefinitionText out = ToolDefinitionsAsText({tool}, rule);
  if (out.lines.empty() || out.lines.front() != "f:d") Fail("no name line");
  if (!props.ok()) {
    if (out.fixed_tokens != rule.func_init + rule.func_end) Fail("fixed tokens of unread schema");
    return 0;
  }
  int64_t fixed = rule.func_init + rule.func_end;
  if (!props->empty()) fixed += rule.prop_init;
  size_t at = 1;  // the lines after the name's, in order
  for (const ToolProperty& p : *props) {
    fixed += rule.prop_key;
    if (p.has_enum) fixed += rule.enum_init;
    for (const std::string& value : p.enum_values) {
      fixed += rule.enum_item;
      if (at >= out.lines.size() || out.lines[at++] != value) Fail("enum value line missing");
    }
    const std::string line = absl::StrCat(p.name, ":", p.type, ":");
    if (at >= out.lines.size() || out.lines[at++].compare(0, line.size(), line) != 0) {
      Fail("property line missing");
    }
    if (!p.nested.empty() && (at >= out.lines.size() || out.lines[at++] != p.nested)) {
      Fail("nested line missing");
    }
  }
  if (at != out.lines.size()) Fail("extra lines");
  if (out.fixed_tokens != fixed) Fail("fixed tokens differ from the rule");
  return 0;
}
