#include "services/gateway/request_validation.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "libs/common/utf8.h"
#include "libs/db/api_log_columns.h"

namespace aigw::gateway {
namespace {

bool IsRequestIdChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
         absl::string_view(kRequestIdPunctuation).find(c) != absl::string_view::npos;
}

absl::Status CheckRequestId(const std::string& id, int max_length) {
  if (static_cast<int>(id.size()) > max_length) {
    return absl::InvalidArgumentError(
        absl::StrCat("request_id is ", id.size(), " characters; at most ", max_length));
  }
  for (size_t i = 0; i < id.size(); ++i) {
    if (!IsRequestIdChar(id[i])) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "request_id has byte 0x%02X at position %d: use only ASCII letters, digits and %s",
          static_cast<unsigned char>(id[i]), i, kRequestIdPunctuation));
    }
  }
  return absl::OkStatus();
}

// A caller field is stored in its t_ai_api_logs column as it is sent: at
// most the column's characters, printable text.
absl::Status CheckCallerText(absl::string_view field, const std::string& value, size_t max_chars) {
  if (!IsValidUtf8(value)) {
    return absl::InvalidArgumentError(absl::StrCat("caller.", field, " is not valid UTF-8"));
  }
  const size_t chars = Utf8Length(value);
  if (chars > max_chars) {
    return absl::InvalidArgumentError(absl::StrCat(
        "caller.", field, " is ", chars, " characters; at most ", max_chars, " are accepted"));
  }
  size_t at = 0;  // characters before the current byte
  for (size_t i = 0; i < value.size(); ++i) {
    const auto b = static_cast<unsigned char>(value[i]);
    // C0 controls and DEL; C1 controls (U+0080..U+009F) are C2 80..C2 9F.
    const bool c1 =
        b == 0xC2 && i + 1 < value.size() && static_cast<unsigned char>(value[i + 1]) <= 0x9F;
    if (b < 0x20 || b == 0x7F || c1) {
      const unsigned code = c1 ? static_cast<unsigned char>(value[i + 1]) : b;
      return absl::InvalidArgumentError(absl::StrFormat(
          "caller.%s has the control character U+%04X at character %d: send printable text", field,
          code, at));
    }
    if ((b & 0xC0) != 0x80) ++at;
  }
  return absl::OkStatus();
}

absl::Status CheckCaller(const aigw::v1::Caller& caller) {
  namespace columns = ::aigw::db::api_log;
  absl::Status st = CheckCallerText("user_id", caller.user_id(), columns::kMaxUserIdChars);
  if (st.ok()) st = CheckCallerText("ip_address", caller.ip_address(), columns::kMaxIpChars);
  if (st.ok()) st = CheckCallerText("user_agent", caller.user_agent(), columns::kMaxUserAgentChars);
  return st;
}

}  // namespace

absl::StatusOr<ResolvedTarget> ResolveTarget(const Catalogue& catalogue,
                                             const std::string& provider_code,
                                             const std::string& model, absl::string_view field) {
  if (provider_code.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, " is empty: name a provider (", catalogue.ProviderCodes(), ")"));
  }
  const ProviderEntry* provider = catalogue.FindProvider(provider_code);
  if (provider == nullptr) {
    return absl::NotFoundError(absl::StrCat(field, ": provider '", provider_code,
                                            "' is not configured (configured: ",
                                            catalogue.ProviderCodes(), ")"));
  }
  if (!provider->is_active) {
    return absl::NotFoundError(
        absl::StrCat(field, ": provider '", provider_code, "' is disabled"));
  }
  const ModelEntry* m = model.empty() ? provider->DefaultModel() : provider->FindModel(model);
  if (m == nullptr) {
    if (model.empty()) {
      return absl::NotFoundError(absl::StrCat(field, ": provider '", provider_code,
                                              "' has no active model to use as default"));
    }
    return absl::NotFoundError(absl::StrCat(field, ": model '", model,
                                            "' is not an active model of provider '",
                                            provider_code, "' (active: ", provider->ModelCodes(),
                                            ")"));
  }
  return ResolvedTarget{provider, m};
}

absl::StatusOr<std::vector<ResolvedTarget>> ValidateChatRequest(
    const aigw::v1::ChatCompletionRequest& request, const Catalogue& catalogue,
    const ValidationLimits& limits, bool streaming) {
  if (request.messages().empty()) {
    return absl::InvalidArgumentError("messages is empty: send at least one message");
  }
  if (request.messages_size() > limits.max_messages) {
    return absl::InvalidArgumentError(absl::StrCat("messages has ", request.messages_size(),
                                                   " entries; at most ", limits.max_messages,
                                                   " are accepted"));
  }
  int64_t bytes = 0;
  for (int i = 0; i < request.messages_size(); ++i) {
    const aigw::v1::ChatMessage& m = request.messages(i);
    if (m.role() != "system" && m.role() != "user" && m.role() != "assistant") {
      return absl::InvalidArgumentError(absl::StrCat("messages[", i, "].role is '", m.role(),
                                                     "': use system, user or assistant"));
    }
    if (m.content().empty()) {
      return absl::InvalidArgumentError(absl::StrCat("messages[", i, "].content is empty"));
    }
    bytes += static_cast<int64_t>(m.content().size() + m.name().size());
  }
  if (request.has_temperature() &&
      !(request.temperature() >= 0.0 && request.temperature() <= 2.0)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "temperature is ", request.temperature(), ": it must be between 0 and 2"));
  }
  if (request.has_top_p() && !(request.top_p() >= 0.0 && request.top_p() <= 1.0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("top_p is ", request.top_p(), ": it must be between 0 and 1"));
  }
  if (request.stop_size() > limits.max_stop_sequences) {
    return absl::InvalidArgumentError(absl::StrCat("stop has ", request.stop_size(),
                                                   " sequences; at most ",
                                                   limits.max_stop_sequences, " are accepted"));
  }
  for (int i = 0; i < request.stop_size(); ++i) {
    if (request.stop(i).empty()) {
      return absl::InvalidArgumentError(absl::StrCat("stop[", i, "] is empty"));
    }
    bytes += static_cast<int64_t>(request.stop(i).size());
  }
  if (bytes > limits.max_request_bytes) {
    return absl::InvalidArgumentError(absl::StrCat("request carries ", bytes,
                                                   " bytes of text; the limit is ",
                                                   limits.max_request_bytes));
  }
  if (absl::Status st = CheckRequestId(request.request_id(), limits.max_request_id_length);
      !st.ok()) {
    return st;
  }
  if (absl::Status st = CheckCaller(request.caller()); !st.ok()) return st;
  if (request.fallbacks_size() > limits.max_fallbacks) {
    return absl::InvalidArgumentError(absl::StrCat("fallbacks has ", request.fallbacks_size(),
                                                   " targets; at most ", limits.max_fallbacks));
  }

  std::vector<ResolvedTarget> targets;
  targets.reserve(1 + request.fallbacks_size());
  absl::StatusOr<ResolvedTarget> first =
      ResolveTarget(catalogue, request.provider_code(), request.model(), "provider_code");
  if (!first.ok()) return first.status();
  targets.push_back(*first);
  for (int i = 0; i < request.fallbacks_size(); ++i) {
    const aigw::v1::Target& f = request.fallbacks(i);
    absl::StatusOr<ResolvedTarget> t =
        ResolveTarget(catalogue, f.provider_code(), f.model(), absl::StrCat("fallbacks[", i, "]"));
    if (!t.ok()) return t.status();
    targets.push_back(*t);
  }
  if (request.has_max_tokens()) {
    if (request.max_tokens() <= 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("max_tokens is ", request.max_tokens(), ": it must be positive"));
    }
    const ModelEntry& m = *targets.front().model;
    if (m.max_output_tokens > 0 && request.max_tokens() > m.max_output_tokens) {
      return absl::InvalidArgumentError(absl::StrCat(
          "max_tokens is ", request.max_tokens(), " but model '", m.code, "' allows at most ",
          m.max_output_tokens));
    }
  }
  if (streaming && !targets.front().model->supports_streaming) {
    return absl::InvalidArgumentError(absl::StrCat(
        "model '", targets.front().model->code, "' does not support streaming"));
  }
  return targets;
}

}  // namespace aigw::gateway
