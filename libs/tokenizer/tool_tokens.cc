#include "libs/tokenizer/tool_tokens.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "rapidjson/error/en.h"
#include "rapidjson/memorystream.h"
#include "rapidjson/reader.h"

namespace aigw::tokenizer {
namespace {

absl::string_view WithoutFinalPeriod(absl::string_view s) {
  absl::ConsumeSuffix(&s, ".");
  return s;
}

// SAX handler that collects the top-level properties of a schema. Where a
// value sits is a stack of frames: the root object, its "properties"
// object, one property's schema (the third level), and inside a property
// its enum list, its type list or anything nested.
class PropertyReader
    : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, PropertyReader> {
 public:
  explicit PropertyReader(int max_depth) : max_depth_(max_depth) {}

  bool Null() { return Scalar("null"); }
  bool Bool(bool b) { return Scalar(b ? "true" : "false"); }
  // Numbers arrive as text (kParseNumbersAsStringsFlag).
  bool RawNumber(const char* s, rapidjson::SizeType n, bool) { return Scalar({s, n}); }
  bool String(const char* s, rapidjson::SizeType n, bool) { return Scalar({s, n}); }
  bool Key(const char* s, rapidjson::SizeType n, bool) {
    key_.assign(s, n);
    if (Top() == Frame::kNested) AppendNested(key_);
    return true;
  }
  bool StartObject() { return Push(ChildFrame(/*array=*/false)); }
  bool EndObject(rapidjson::SizeType) { return Pop(); }
  bool StartArray() { return Push(ChildFrame(/*array=*/true)); }
  bool EndArray(rapidjson::SizeType) { return Pop(); }

  bool too_deep() const { return too_deep_; }
  bool not_an_object() const { return not_an_object_; }
  std::vector<ToolProperty>& properties() { return properties_; }

 private:
  enum class Frame { kNone, kRoot, kProperties, kProperty, kEnum, kTypeList, kNested, kIgnored };

  Frame Top() const { return stack_.empty() ? Frame::kNone : stack_.back(); }
  bool InProperty() const { return stack_.size() >= 3 && stack_[2] == Frame::kProperty; }

  Frame ChildFrame(bool array) {
    switch (Top()) {
      case Frame::kNone:
        if (array) not_an_object_ = true;
        return array ? Frame::kIgnored : Frame::kRoot;
      case Frame::kRoot:
        return !array && key_ == "properties" ? Frame::kProperties : Frame::kIgnored;
      case Frame::kProperties:
        properties_.emplace_back().name = key_;
        return array ? Frame::kNested : Frame::kProperty;
      case Frame::kProperty:
        if (array && key_ == "enum") {
          properties_.back().has_enum = true;
          return Frame::kEnum;
        }
        if (array && key_ == "type") return Frame::kTypeList;
        AppendNested(key_);
        return Frame::kNested;
      default:
        return InProperty() ? Frame::kNested : Frame::kIgnored;
    }
  }

  bool Push(Frame frame) {
    if (static_cast<int>(stack_.size()) >= max_depth_) {
      too_deep_ = true;
      return false;  // stops the parse
    }
    stack_.push_back(frame);
    return true;
  }

  bool Pop() {
    stack_.pop_back();
    return true;
  }

  bool Scalar(absl::string_view text) {
    switch (Top()) {
      case Frame::kNone:
        not_an_object_ = true;
        return true;
      case Frame::kProperties:
        // A boolean schema ("name": true): a property without type.
        properties_.emplace_back().name = key_;
        return true;
      case Frame::kProperty: {
        ToolProperty& p = properties_.back();
        if (key_ == "type") {
          p.type = std::string(text);
        } else if (key_ == "description") {
          p.description = std::string(text);
        } else {
          AppendNested(key_);
          AppendNested(text);
        }
        return true;
      }
      case Frame::kEnum:
        properties_.back().enum_values.emplace_back(text);
        return true;
      case Frame::kTypeList: {
        std::string& type = properties_.back().type;
        absl::StrAppend(&type, type.empty() ? "" : "|", text);
        return true;
      }
      case Frame::kNested:
        AppendNested(text);
        return true;
      default:
        return true;
    }
  }

  void AppendNested(absl::string_view text) {
    if (!InProperty()) return;
    std::string& nested = properties_.back().nested;
    absl::StrAppend(&nested, nested.empty() ? "" : " ", text);
  }

  const int max_depth_;
  std::vector<Frame> stack_;
  std::string key_;
  std::vector<ToolProperty> properties_;
  bool too_deep_ = false;
  bool not_an_object_ = false;
};

}  // namespace

ToolTokenRule ToolRuleForEncoding(absl::string_view encoding) {
  ToolTokenRule rule;
  if (encoding == "cl100k_base") rule.func_init = 10;
  return rule;
}

absl::StatusOr<std::vector<ToolProperty>> ReadToolProperties(absl::string_view parameters_json,
                                                             int max_depth) {
  if (parameters_json.empty()) return std::vector<ToolProperty>{};
  PropertyReader handler(max_depth);
  rapidjson::MemoryStream stream(parameters_json.data(), parameters_json.size());
  rapidjson::Reader reader;
  // Iterative: the reader keeps its own stack instead of recursing, and the
  // handler stops it at max_depth.
  const rapidjson::ParseResult result =
      reader.Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseNumbersAsStringsFlag |
                   rapidjson::kParseValidateEncodingFlag>(stream, handler);
  if (handler.too_deep()) {
    return absl::InvalidArgumentError(
        absl::StrCat("nests objects and arrays deeper than ", max_depth, " levels"));
  }
  if (result.IsError()) {
    return absl::InvalidArgumentError(absl::StrCat("is not JSON: ",
                                                   rapidjson::GetParseError_En(result.Code()),
                                                   " at offset ", result.Offset()));
  }
  if (handler.not_an_object()) return absl::InvalidArgumentError("is not a JSON object");
  return std::move(handler.properties());
}

absl::Status CheckJsonObject(absl::string_view json, int max_depth) {
  if (json.empty()) return absl::InvalidArgumentError("is empty");
  return ReadToolProperties(json, max_depth).status();
}

ToolDefinitionText ToolDefinitionsAsText(absl::Span<const ToolDefinition> tools,
                                         const ToolTokenRule& rule) {
  ToolDefinitionText out;
  for (const ToolDefinition& tool : tools) {
    out.fixed_tokens += rule.func_init;
    out.lines.push_back(absl::StrCat(tool.name, ":", WithoutFinalPeriod(tool.description)));
    absl::StatusOr<std::vector<ToolProperty>> properties = ReadToolProperties(tool.parameters_json);
    if (!properties.ok()) {
      out.lines.emplace_back(tool.parameters_json);
      continue;
    }
    if (properties->empty()) continue;
    out.fixed_tokens += rule.prop_init;
    for (const ToolProperty& p : *properties) {
      out.fixed_tokens += rule.prop_key;
      if (p.has_enum) {
        out.fixed_tokens += rule.enum_init;
        for (const std::string& value : p.enum_values) {
          out.fixed_tokens += rule.enum_item;
          out.lines.push_back(value);
        }
      }
      out.lines.push_back(absl::StrCat(p.name, ":", p.type, ":", WithoutFinalPeriod(p.description)));
      if (!p.nested.empty()) out.lines.push_back(p.nested);
    }
  }
  if (!tools.empty()) out.fixed_tokens += rule.func_end;
  return out;
}

}  // namespace aigw::tokenizer
