#include "tools/fake-upstream/completion.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "rapidjson/document.h"
#include "rapidjson/error/en.h"

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

}  // namespace

int64_t CountWords(absl::string_view text) { return static_cast<int64_t>(Words(text).size()); }

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

  if (anthropic) {
    auto system = doc.FindMember("system");
    if (system != doc.MemberEnd() && !system->value.IsNull()) {
      request.prompt_tokens += CountWords(ContentText(system->value)) + kTokensPerMessage;
    }
  }
  for (const auto& message : messages->value.GetArray()) {
    if (!message.IsObject()) return absl::InvalidArgumentError("messages: each must be an object");
    auto role = message.FindMember("role");
    if (role == message.MemberEnd() || !role->value.IsString()) {
      return absl::InvalidArgumentError("messages: role is required");
    }
    auto content = message.FindMember("content");
    std::string text = content == message.MemberEnd() ? "" : ContentText(content->value);
    request.prompt_tokens += CountWords(text) + kTokensPerMessage;
    if (absl::string_view(role->value.GetString()) == "user") {
      request.last_user_message = std::move(text);
    }
  }
  return request;
}

Completion MakeCompletion(const ChatRequest& request,
                          const std::optional<std::string>& content_override,
                          const UsageOverride& usage_override) {
  Completion completion;
  std::string reply = content_override.has_value()
                          ? *content_override
                          : absl::StrCat("echo: ", request.last_user_message);
  std::vector<absl::string_view> words = Words(reply);
  if (request.max_tokens.has_value() && static_cast<int64_t>(words.size()) > *request.max_tokens) {
    words.resize(*request.max_tokens);
    completion.finish_reason = "length";
  }
  completion.content = absl::StrJoin(words, " ");
  completion.content_deltas = Deltas(words);

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
      static_cast<int64_t>(words.size()) + reasoning_words);
  usage.reasoning_tokens = usage_override.reasoning_tokens.value_or(reasoning_words);
  usage.cached_tokens = usage_override.cached_tokens.value_or(0);
  usage.cache_creation_tokens = usage_override.cache_creation_tokens.value_or(0);
  return completion;
}

}  // namespace aigw::fake_upstream
