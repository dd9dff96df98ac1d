#include "tools/fake-upstream/completion.h"

#include <utility>

#include "absl/algorithm/container.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "rapidjson/document.h"
#include "rapidjson/error/en.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace aigw::fake_upstream {
namespace {

constexpr int64_t kTokensPerMessage = 3;

std::vector<absl::string_view> Words(absl::string_view text) {
  return absl::StrSplit(text, absl::ByAnyChar(" \t\r\n"), absl::SkipEmpty());
}

// Message content is a string or, in both dialects, an array of parts of
// which the text ones count.
std::string ContentText(const rapidjson::Value& content) {
  if (content.IsString()) return std::string(content.GetString(), content.GetStringLength());
  std::string text;
  if (!content.IsArray()) return text;
  for (const auto& part : content.GetArray()) {
    if (!part.IsObject()) continue;
    auto type = part.FindMember("type");
    auto value = part.FindMember("text");
    if (type == part.MemberEnd() || !type->value.IsString() ||
        absl::string_view(type->value.GetString()) != "text" || value == part.MemberEnd() ||
        !value->value.IsString()) {
      continue;
    }
    if (!text.empty()) text.push_back(' ');
    text.append(value->value.GetString(), value->value.GetStringLength());
  }
  return text;
}

std::vector<std::string> Deltas(const std::vector<absl::string_view>& words) {
  std::vector<std::string> deltas;
  deltas.reserve(words.size());
  for (size_t i = 0; i < words.size(); ++i) {
    deltas.push_back(i == 0 ? std::string(words[i]) : absl::StrCat(" ", words[i]));
  }
  return deltas;
}

using Value = rapidjson::Value;

const Value* Get(const Value& obj, const char* key) {
  if (!obj.IsObject()) return nullptr;
  auto it = obj.FindMember(key);
  return it == obj.MemberEnd() ? nullptr : &it->value;
}

absl::string_view GetStr(const Value& obj, const char* key) {
  const Value* v = Get(obj, key);
  return v != nullptr && v->IsString() ? absl::string_view(v->GetString(), v->GetStringLength())
                                       : absl::string_view();
}

bool IsImageMediaType(absl::string_view t) {
  return t == "image/jpeg" || t == "image/png" || t == "image/gif" || t == "image/webp";
}

// --- OpenAI ------------------------------------------------------------------

// tools, tool_choice, parallel_tool_calls and response_format, checked as
// OpenAI checks them.
absl::Status ParseOpenAiTools(const Value& doc, ChatRequest* request) {
  const Value* tools = Get(doc, "tools");
  if (tools != nullptr && !tools->IsNull()) {
    if (!tools->IsArray()) return absl::InvalidArgumentError("Invalid type for 'tools': expected an array.");
    for (rapidjson::SizeType i = 0; i < tools->Size(); ++i) {
      const Value& tool = (*tools)[i];
      const Value* function = Get(tool, "function");
      if (GetStr(tool, "type") != "function" || function == nullptr ||
          GetStr(*function, "name").empty()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "Missing required parameter: 'tools[", i, "].function.name'."));
      }
      const Value* parameters = Get(*function, "parameters");
      if (parameters != nullptr && !parameters->IsObject()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "Invalid type for 'tools[", i, "].function.parameters': expected an object."));
      }
      request->tool_names.emplace_back(GetStr(*function, "name"));
    }
  }
  const bool has_tools = !request->tool_names.empty();
  if (const Value* choice = Get(doc, "tool_choice"); choice != nullptr && !choice->IsNull()) {
    if (!has_tools) {
      return absl::InvalidArgumentError(
          "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are "
          "specified.");
    }
    if (choice->IsString()) {
      request->tool_choice = choice->GetString();
      if (request->tool_choice != "auto" && request->tool_choice != "none" &&
          request->tool_choice != "required") {
        return absl::InvalidArgumentError(absl::StrCat(
            "Invalid value: '", request->tool_choice,
            "'. Supported values are: 'none', 'auto', and 'required'."));
      }
    } else {
      const Value* function = Get(*choice, "function");
      request->tool_choice = "tool";
      request->tool_choice_name = std::string(function ? GetStr(*function, "name") : "");
      if (GetStr(*choice, "type") != "function" ||
          absl::c_find(request->tool_names, request->tool_choice_name) ==
              request->tool_names.end()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "Invalid value for 'tool_choice': function '", request->tool_choice_name,
            "' not found in 'tools'."));
      }
    }
  }
  if (const Value* parallel = Get(doc, "parallel_tool_calls");
      parallel != nullptr && !parallel->IsNull()) {
    if (!has_tools) {
      return absl::InvalidArgumentError(
          "Invalid value for 'parallel_tool_calls': 'parallel_tool_calls' is only allowed when "
          "'tools' are specified.");
    }
    request->parallel_tool_calls = parallel->IsBool() && parallel->GetBool();
  }
  if (const Value* format = Get(doc, "response_format"); format != nullptr && !format->IsNull()) {
    absl::string_view type = GetStr(*format, "type");
    if (type == "json_schema") {
      const Value* schema = Get(*format, "json_schema");
      if (schema == nullptr || GetStr(*schema, "name").empty()) {
        return absl::InvalidArgumentError(
            "Missing required parameter: 'response_format.json_schema.name'.");
      }
      if (const Value* body = Get(*schema, "schema"); body == nullptr || !body->IsObject()) {
        return absl::InvalidArgumentError(
            "Invalid type for 'response_format.json_schema.schema': expected an object.");
      }
    } else if (type != "json_object" && type != "text") {
      return absl::InvalidArgumentError(absl::StrCat(
          "Invalid value: '", type,
          "'. Supported values are: 'json_object', 'json_schema', and 'text'."));
    }
    request->json_output = type != "text";
  }
  return absl::OkStatus();
}

// Content parts: text counts, image_url parts are counted as images.
absl::Status CountOpenAiImages(const Value& content, size_t index, int64_t* images) {
  if (!content.IsArray()) return absl::OkStatus();
  for (rapidjson::SizeType j = 0; j < content.Size(); ++j) {
    const Value& part = content[j];
    if (GetStr(part, "type") != "image_url") continue;
    const Value* image = Get(part, "image_url");
    absl::string_view url = image != nullptr ? GetStr(*image, "url") : "";
    if (url.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "Missing required parameter: 'messages[", index, "].content[", j, "].image_url.url'."));
    }
    ++*images;
  }
  return absl::OkStatus();
}

// Assistant tool_calls and tool turns: each tool turn answers a call of the
// assistant turn before it.
absl::Status CheckOpenAiToolTurn(const Value& message, size_t index,
                                 std::vector<std::string>* open_calls) {
  absl::string_view role = GetStr(message, "role");
  if (role == "assistant") {
    open_calls->clear();
    const Value* calls = Get(message, "tool_calls");
    if (calls == nullptr || !calls->IsArray()) return absl::OkStatus();
    for (rapidjson::SizeType j = 0; j < calls->Size(); ++j) {
      const Value& call = (*calls)[j];
      const Value* function = Get(call, "function");
      if (GetStr(call, "id").empty() || GetStr(call, "type") != "function" ||
          function == nullptr || GetStr(*function, "name").empty() ||
          Get(*function, "arguments") == nullptr || !Get(*function, "arguments")->IsString()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "Invalid 'messages[", index, "].tool_calls[", j,
            "]': expected id, type 'function' and function.name / function.arguments."));
      }
      open_calls->emplace_back(GetStr(call, "id"));
    }
  } else if (role == "tool") {
    absl::string_view id = GetStr(message, "tool_call_id");
    if (id.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "Missing parameter 'tool_call_id': messages with role 'tool' must have a "
          "'tool_call_id'. (messages[", index, "])"));
    }
    if (absl::c_find(*open_calls, id) == open_calls->end()) {
      return absl::InvalidArgumentError(
          "Invalid parameter: messages with role 'tool' must be a response to a preceeding "
          "message with 'tool_calls'.");
    }
  } else {
    open_calls->clear();
  }
  return absl::OkStatus();
}

// --- Anthropic ---------------------------------------------------------------

absl::Status ParseAnthropicTools(const Value& doc, ChatRequest* request) {
  const Value* tools = Get(doc, "tools");
  if (tools != nullptr && !tools->IsNull()) {
    if (!tools->IsArray()) return absl::InvalidArgumentError("tools: Input should be a valid list");
    for (rapidjson::SizeType i = 0; i < tools->Size(); ++i) {
      const Value& tool = (*tools)[i];
      if (GetStr(tool, "name").empty()) {
        return absl::InvalidArgumentError(absl::StrCat("tools.", i, ".name: Field required"));
      }
      const Value* schema = Get(tool, "input_schema");
      if (schema == nullptr || !schema->IsObject()) {
        return absl::InvalidArgumentError(absl::StrCat("tools.", i, ".input_schema: Field required"));
      }
      if (GetStr(*schema, "type") != "object") {
        return absl::InvalidArgumentError(
            absl::StrCat("tools.", i, ".input_schema.type: Input should be 'object'"));
      }
      request->tool_names.emplace_back(GetStr(tool, "name"));
    }
  }
  if (const Value* choice = Get(doc, "tool_choice"); choice != nullptr && !choice->IsNull()) {
    absl::string_view type = GetStr(*choice, "type");
    if (type == "any") {
      request->tool_choice = "required";
    } else if (type == "auto" || type == "none") {
      request->tool_choice = std::string(type);
    } else if (type == "tool") {
      request->tool_choice = "tool";
      request->tool_choice_name = std::string(GetStr(*choice, "name"));
      if (absl::c_find(request->tool_names, request->tool_choice_name) ==
          request->tool_names.end()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "tool_choice: tool '", request->tool_choice_name, "' not found in tools"));
      }
    } else {
      return absl::InvalidArgumentError(
          "tool_choice: Input tag does not match any of the expected tags: 'auto', 'any', "
          "'tool', 'none'");
    }
    const Value* disable = Get(*choice, "disable_parallel_tool_use");
    if (disable != nullptr && disable->IsBool()) request->parallel_tool_calls = !disable->GetBool();
  }
  return absl::OkStatus();
}

// The blocks of one Anthropic message: images and tool blocks checked, the
// ids of its tool_use blocks (assistant) or tool_result blocks (user)
// collected, the text of its text blocks and tool results gathered.
struct AnthropicTurn {
  std::string text;
  std::vector<std::string> tool_use_ids;
  std::vector<std::string> tool_result_ids;
  std::vector<std::string> tool_results;
  int64_t images = 0;
};

absl::StatusOr<AnthropicTurn> ReadAnthropicTurn(const Value& content, size_t index,
                                                bool assistant) {
  AnthropicTurn turn;
  if (content.IsString()) {
    turn.text = content.GetString();
    return turn;
  }
  if (!content.IsArray()) {
    return absl::InvalidArgumentError(absl::StrCat("messages.", index, ".content: Field required"));
  }
  for (rapidjson::SizeType j = 0; j < content.Size(); ++j) {
    const Value& block = content[j];
    absl::string_view type = GetStr(block, "type");
    const std::string where = absl::StrCat("messages.", index, ".content.", j);
    if (type == "text") {
      if (GetStr(block, "text").empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, ": text content blocks must be non-empty"));
      }
      if (!turn.text.empty()) turn.text.push_back(' ');
      absl::StrAppend(&turn.text, GetStr(block, "text"));
    } else if (type == "image") {
      const Value* source = Get(block, "source");
      absl::string_view kind = source != nullptr ? GetStr(*source, "type") : "";
      if (kind == "base64") {
        if (!IsImageMediaType(GetStr(*source, "media_type")) || GetStr(*source, "data").empty()) {
          return absl::InvalidArgumentError(absl::StrCat(
              where, ".source.base64.media_type: Input should be 'image/jpeg', 'image/png', "
                     "'image/gif' or 'image/webp'"));
        }
      } else if (kind != "url" || GetStr(*source, "url").empty()) {
        return absl::InvalidArgumentError(absl::StrCat(where, ".source: Field required"));
      }
      ++turn.images;
    } else if (type == "tool_use" && assistant) {
      const Value* input = Get(block, "input");
      if (GetStr(block, "id").empty() || GetStr(block, "name").empty() || input == nullptr ||
          !input->IsObject()) {
        return absl::InvalidArgumentError(absl::StrCat(where, ".input: Field required"));
      }
      turn.tool_use_ids.emplace_back(GetStr(block, "id"));
    } else if (type == "tool_result" && !assistant) {
      absl::string_view id = GetStr(block, "tool_use_id");
      if (id.empty()) {
        return absl::InvalidArgumentError(absl::StrCat(where, ".tool_use_id: Field required"));
      }
      if (!turn.text.empty() || turn.images > 0) {
        return absl::InvalidArgumentError(absl::StrCat(
            where, ": tool_result blocks must come before any other content in a user turn"));
      }
      turn.tool_result_ids.emplace_back(id);
      const Value* result = Get(block, "content");
      turn.tool_results.push_back(result != nullptr ? ContentText(*result) : "");
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ".type: Input tag '", type, "' does not match any of the expected tags"));
    }
  }
  return turn;
}

// Every tool_use of an assistant turn is answered by the next turn's
// leading tool_result blocks, and no result answers anything else.
absl::Status CheckAnthropicToolPairs(const std::vector<std::string>& uses,
                                     const std::vector<std::string>& results, size_t index) {
  for (const std::string& id : results) {
    if (absl::c_find(uses, id) == uses.end()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "messages.", index, ".content.0: unexpected `tool_use_id` found in `tool_result` "
          "blocks: ", id, ". Each `tool_result` block must have a corresponding `tool_use` block "
          "in the previous message."));
    }
  }
  std::vector<std::string> missing;
  for (const std::string& id : uses) {
    if (absl::c_find(results, id) == results.end()) missing.push_back(id);
  }
  if (!missing.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "messages.", index - 1, ": `tool_use` ids were found without `tool_result` blocks "
        "immediately after: ", absl::StrJoin(missing, ", "),
        ". Each `tool_use` block must have a corresponding `tool_result` block in the next "
        "message."));
  }
  return absl::OkStatus();
}

}  // namespace

int64_t CountWords(absl::string_view text) { return static_cast<int64_t>(Words(text).size()); }

std::vector<std::string> SplitBeforeSpaces(absl::string_view text) {
  std::vector<std::string> pieces;
  size_t start = 0;
  for (size_t i = 1; i < text.size(); ++i) {
    if (text[i] != ' ') continue;
    pieces.emplace_back(text.substr(start, i - start));
    start = i;
  }
  if (start < text.size()) pieces.emplace_back(text.substr(start));
  return pieces;
}

bool IsDeepSeekModel(absl::string_view model) {
  return absl::StartsWithIgnoreCase(model, "deepseek");
}

bool IsReasonerModel(absl::string_view model) {
  return absl::EqualsIgnoreCase(model, "deepseek-reasoner");
}

absl::StatusOr<ChatRequest> ParseChatRequest(ApiFormat format, absl::string_view body) {
  const bool anthropic = format == ApiFormat::kAnthropic;
  rapidjson::Document doc;
  doc.Parse(body.data(), body.size());
  if (doc.HasParseError() || !doc.IsObject()) {
    return absl::InvalidArgumentError(
        anthropic ? "There was an error parsing the body of your request: invalid JSON"
                  : "We could not parse the JSON body of your request. (HINT: This likely means "
                    "you aren't using your HTTP library correctly.)");
  }
  ChatRequest request;
  auto model = doc.FindMember("model");
  if (model == doc.MemberEnd() || !model->value.IsString() || model->value.GetStringLength() == 0) {
    return absl::InvalidArgumentError(anthropic ? "model: Field required"
                                                : "you must provide a model parameter");
  }
  request.model = model->value.GetString();

  auto messages = doc.FindMember("messages");
  if (messages == doc.MemberEnd() || !messages->value.IsArray()) {
    return absl::InvalidArgumentError(anthropic ? "messages: Field required"
                                                : "Missing required parameter: 'messages'.");
  }
  if (messages->value.Empty()) {
    return absl::InvalidArgumentError(anthropic ? "messages: at least one message is required"
                                                : "[] is too short - 'messages'");
  }

  auto max_tokens = doc.FindMember("max_tokens");
  if (!anthropic && max_tokens == doc.MemberEnd()) {
    max_tokens = doc.FindMember("max_completion_tokens");
  }
  if (max_tokens != doc.MemberEnd() && !max_tokens->value.IsNull()) {
    if (!max_tokens->value.IsInt64() || max_tokens->value.GetInt64() < 1) {
      return absl::InvalidArgumentError("max_tokens: must be a positive integer");
    }
    request.max_tokens = max_tokens->value.GetInt64();
  } else if (anthropic) {
    return absl::InvalidArgumentError("max_tokens: Field required");
  }

  auto stream = doc.FindMember("stream");
  request.stream = stream != doc.MemberEnd() && stream->value.IsBool() && stream->value.GetBool();
  auto options = doc.FindMember("stream_options");
  if (options != doc.MemberEnd() && options->value.IsObject()) {
    auto include = options->value.FindMember("include_usage");
    request.include_usage = include != options->value.MemberEnd() && include->value.IsBool() &&
                            include->value.GetBool();
  }

  if (absl::Status st = anthropic ? ParseAnthropicTools(doc, &request)
                                    : ParseOpenAiTools(doc, &request);
      !st.ok()) {
    return st;
  }
  request.prompt_tokens += kTokensPerTool * static_cast<int64_t>(request.tool_names.size());
  if (anthropic) {
    auto system = doc.FindMember("system");
    if (system != doc.MemberEnd() && !system->value.IsNull()) {
      request.prompt_tokens += CountWords(ContentText(system->value)) + kTokensPerMessage;
    }
  }
  std::vector<std::string> open_calls;  // tool call ids of the last assistant turn
  bool tool_blocks = false;
  const auto& list = messages->value;
  for (rapidjson::SizeType i = 0; i < list.Size(); ++i) {
    const Value& message = list[i];
    if (!message.IsObject()) return absl::InvalidArgumentError("messages: each must be an object");
    auto role = message.FindMember("role");
    if (role == message.MemberEnd() || !role->value.IsString()) {
      return absl::InvalidArgumentError("messages: role is required");
    }
    const absl::string_view role_name = role->value.GetString();
    auto content = message.FindMember("content");
    std::string text;
    int64_t images = 0;
    std::vector<std::string> results;
    if (anthropic && content != message.MemberEnd()) {
      absl::StatusOr<AnthropicTurn> turn =
          ReadAnthropicTurn(content->value, i, role_name == "assistant");
      if (!turn.ok()) return turn.status();
      if (absl::Status st = CheckAnthropicToolPairs(open_calls, turn->tool_result_ids, i);
          !st.ok() && role_name == "user") {
        return st;
      }
      tool_blocks = tool_blocks || !turn->tool_use_ids.empty() || !turn->tool_result_ids.empty();
      open_calls = std::move(turn->tool_use_ids);
      text = std::move(turn->text);
      images = turn->images;
      results = std::move(turn->tool_results);
      for (const std::string& r : results) text.append(" " + r);
    } else if (!anthropic) {
      if (absl::Status st = CheckOpenAiToolTurn(message, i, &open_calls); !st.ok()) return st;
      if (content != message.MemberEnd()) {
        text = ContentText(content->value);
        if (absl::Status st = CountOpenAiImages(content->value, i, &images); !st.ok()) return st;
      }
      if (role_name == "tool") {
        if (i == 0 || GetStr(list[i - 1], "role") != "tool") request.tool_results.clear();
        request.tool_results.push_back(text);
      }
    }
    request.prompt_tokens += CountWords(text) + kTokensPerMessage + kTokensPerImage * images;
    if (role_name == "user") {
      request.last_user_message = anthropic && !results.empty() ? "" : text;
      request.images = images;
      if (anthropic) request.tool_results = std::move(results);
      if (!anthropic) request.tool_results.clear();
    }
  }
  if (anthropic && tool_blocks && request.tool_names.empty()) {
    return absl::InvalidArgumentError(
        "Requests which include `tool_use` or `tool_result` blocks must define tools.");
  }
  // Only a trailing run of tool turns answers anything.
  if (!anthropic && GetStr(list[list.Size() - 1], "role") != "tool") request.tool_results.clear();
  return request;
}

// {"echo":<text>}
std::string EchoJson(absl::string_view text) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.StartObject();
  w.Key("echo");
  w.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

// The tools the fake calls for `request`; none when it answers in text.
std::vector<std::string> ToolsToCall(const ChatRequest& request) {
  if (request.tool_names.empty() || request.tool_choice == "none" ||
      !request.tool_results.empty()) {
    return {};
  }
  if (request.tool_choice == "tool") return {request.tool_choice_name};
  if (!request.parallel_tool_calls) return {request.tool_names.front()};
  return request.tool_names;
}

Completion MakeCompletion(const ChatRequest& request,
                          const std::optional<std::string>& content_override,
                          const UsageOverride& usage_override) {
  Completion completion;
  int64_t argument_words = 0;
  std::vector<std::string> tools = ToolsToCall(request);
  for (size_t i = 0; i < tools.size(); ++i) {
    ToolCallOut& call = completion.tool_calls.emplace_back();
    call.id = absl::StrCat("fake_", i + 1);  // call_fake_1 / toolu_fake_1 on the wire
    call.name = tools[i];
    call.arguments = EchoJson(request.last_user_message);
    call.argument_deltas = SplitBeforeSpaces(call.arguments);
    argument_words += CountWords(call.arguments);
  }
  std::vector<absl::string_view> words;
  std::string reply;
  if (!completion.tool_calls.empty()) {
    completion.finish_reason = "tool_calls";
  } else if (request.json_output && !content_override.has_value()) {
    completion.content = EchoJson(request.last_user_message);
    completion.content_deltas = SplitBeforeSpaces(completion.content);
    words = Words(completion.content);
  } else {
    if (content_override.has_value()) {
      reply = *content_override;
    } else if (!request.tool_results.empty()) {
      reply = absl::StrCat("tool results: ", absl::StrJoin(request.tool_results, "; "));
    } else {
      reply = absl::StrCat("echo: ", request.last_user_message);
      if (request.images > 0) absl::StrAppend(&reply, " [images: ", request.images, "]");
    }
    words = Words(reply);
    if (request.max_tokens.has_value() &&
        static_cast<int64_t>(words.size()) > *request.max_tokens) {
      words.resize(*request.max_tokens);
      completion.finish_reason = "length";
    }
    completion.content = absl::StrJoin(words, " ");
    completion.content_deltas = Deltas(words);
  }

  int64_t reasoning_words = 0;
  if (IsReasonerModel(request.model)) {
    std::string reasoning = absl::StrCat("Reasoning about: ", request.last_user_message);
    std::vector<absl::string_view> thought = Words(reasoning);
    completion.reasoning_content = absl::StrJoin(thought, " ");
    completion.reasoning_deltas = Deltas(thought);
    reasoning_words = static_cast<int64_t>(thought.size());
  }

  Usage& usage = completion.usage;
  usage.prompt_tokens = usage_override.prompt_tokens.value_or(request.prompt_tokens);
  usage.completion_tokens = usage_override.completion_tokens.value_or(
      static_cast<int64_t>(words.size()) + reasoning_words + argument_words);
  usage.reasoning_tokens = usage_override.reasoning_tokens.value_or(reasoning_words);
  usage.cached_tokens = usage_override.cached_tokens.value_or(0);
  usage.cache_creation_tokens = usage_override.cache_creation_tokens.value_or(0);
  return completion;
}

}  // namespace aigw::fake_upstream
