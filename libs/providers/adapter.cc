#include "libs/providers/adapter.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "libs/providers/anthropic_adapter.h"
#include "libs/providers/error_body.h"
#include "libs/providers/json_util.h"
#include "libs/providers/openai_adapter.h"
#include "libs/providers/retry_after.h"

namespace aigw::providers {

UpstreamError ProviderAdapter::ParseError(int http_status, absl::string_view body,
                                          absl::string_view retry_after_header,
                                          Clock* clock) const {
  UpstreamError error;
  error.http_status = http_status;
  json::ParsedJson doc;
  if (!doc.Parse(body).ok() || !ReadErrorObject(doc.root(), &error)) {
    error.message = BodySnippet(body);
  }
  if (error.message.empty()) error.message = absl::StrCat("HTTP ", http_status);
  if (!retry_after_header.empty()) {
    error.retry_after_ms = ParseRetryAfterMs(retry_after_header, clock->Now());
  }
  return error;
}

const ProviderAdapter* FindAdapter(absl::string_view api_format) {
  static const OpenAiAdapter* const kOpenAi = new OpenAiAdapter();
  static const AnthropicAdapter* const kAnthropic = new AnthropicAdapter();
  if (absl::EqualsIgnoreCase(api_format, "openai") ||
      absl::EqualsIgnoreCase(api_format, "deepseek") ||
      absl::EqualsIgnoreCase(api_format, "custom")) {
    return kOpenAi;
  }
  if (absl::EqualsIgnoreCase(api_format, "anthropic")) return kAnthropic;
  return nullptr;
}

const ProviderAdapter& AdapterFor(absl::string_view api_format) {
  const ProviderAdapter* adapter = FindAdapter(api_format);
  return adapter != nullptr ? *adapter : *FindAdapter("openai");
}

int StatusForErrorType(absl::string_view type, absl::string_view code) {
  auto has = [&](absl::string_view needle) {
    return absl::StrContains(type, needle) || absl::StrContains(code, needle);
  };
  if (has("rate_limit") || has("insufficient_quota")) return 429;
  if (has("overloaded")) return 529;
  if (has("authentication") || has("invalid_api_key")) return 401;
  if (has("permission")) return 403;
  if (has("not_found")) return 404;
  if (has("request_too_large")) return 413;
  if (has("invalid_request")) return 400;
  if (has("timeout")) return 504;
  return 500;
}

std::string JoinUrl(absl::string_view base_url, absl::string_view path) {
  base_url = absl::StripAsciiWhitespace(base_url);
  while (absl::EndsWith(base_url, "/")) base_url.remove_suffix(1);
  if (absl::EndsWith(base_url, path)) return std::string(base_url);
  // A base that already names the API version ("https://api.anthropic.com/v1")
  // must not get it twice.
  if (absl::StartsWith(path, "/v1/") && absl::EndsWith(base_url, "/v1")) {
    path.remove_prefix(3);
  }
  return absl::StrCat(base_url, path);
}

absl::StatusOr<std::vector<ModelInfo>> ProviderAdapter::ParseModelList(
    absl::string_view body) const {
  return ParseModelListData(body);
}

absl::StatusOr<std::vector<ModelInfo>> ParseModelListData(absl::string_view body) {
  json::ParsedJson doc;
  if (absl::Status s = doc.Parse(body); !s.ok()) return s;
  const json::Value* data = json::Member(doc.root(), "data");
  if (data == nullptr || !data->IsArray()) {
    return absl::InternalError("upstream model list has no data array");
  }
  std::vector<ModelInfo> models;
  models.reserve(data->Size());
  for (const json::Value& m : data->GetArray()) {
    absl::string_view id = json::StrMember(m, "id");
    if (!id.empty()) {
      models.push_back({std::string(id), std::string(json::StrMember(m, "display_name"))});
    }
  }
  return models;
}

}  // namespace aigw::providers
