#include "services/gateway/request_validation.h"

#include <tuple>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "libs/common/utf8.h"
#include "libs/db/api_log_columns.h"
#include "services/gateway/request_validation_messages.h"
#include "services/gateway/request_validation_tools.h"

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

RequestNeeds NeedsOf(const aigw::v1::ChatCompletionRequest& request) {
  RequestNeeds needs;
  needs.function_calling = !request.tools().empty();
  for (const aigw::v1::ChatMessage& m : request.messages()) {
    if (!m.tool_calls().empty() || m.role() == "tool") needs.function_calling = true;
    for (const aigw::v1::ContentPart& p : m.parts()) {
      if (p.has_image_url()) needs.vision = true;
    }
  }
  return needs;
}

absl::string_view MissingCapability(const ModelEntry& m, const RequestNeeds& needs) {
  if (needs.function_calling && !m.supports_function_call) return "supports_function_call";
  if (needs.vision && !m.supports_vision) return "supports_vision";
  return "";
}

absl::Status CheckCapabilities(const ResolvedTarget& target, const RequestNeeds& needs,
                               absl::string_view field) {
  const ModelEntry& m = *target.model;
  const absl::string_view flag = MissingCapability(m, needs);
  if (flag.empty()) return absl::OkStatus();
  const bool tools = flag == "supports_function_call";
  const absl::string_view capability = tools ? "function calling" : "images";
  const absl::string_view what = tools ? "tools or tool turns" : "image parts";
  return absl::InvalidArgumentError(absl::StrCat(
      field, field.empty() ? "" : ": ", "model '", m.code, "' of provider '",
      target.provider->code, "' does not support ", capability, " (", flag,
      " is off in its catalogue entry): send no ", what, ", or choose a model that supports ",
      capability));
}

namespace {

bool InRange(double v, double lo, double hi) { return v >= lo && v <= hi; }  // false for NaN

absl::Status CheckSampling(const aigw::v1::ChatCompletionRequest& request) {
  if (request.has_temperature() && !InRange(request.temperature(), 0.0, 2.0)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "temperature is ", request.temperature(), ": it must be between 0 and 2"));
  }
  if (request.has_top_p() && !InRange(request.top_p(), 0.0, 1.0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("top_p is ", request.top_p(), ": it must be between 0 and 1"));
  }
  for (const auto& [name, has, value] :
       {std::tuple{"presence_penalty", request.has_presence_penalty(), request.presence_penalty()},
        std::tuple{"frequency_penalty", request.has_frequency_penalty(),
                   request.frequency_penalty()}}) {
    if (has && !InRange(value, kMinPenalty, kMaxPenalty)) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, " is ", value, ": it must be between -2 and 2"));
    }
  }
  if (request.has_seed() &&
      (request.seed() > kMaxSeedMagnitude || request.seed() < -kMaxSeedMagnitude)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "seed is ", request.seed(), ": it must be between -", kMaxSeedMagnitude, " and ",
        kMaxSeedMagnitude, " (2^53 - 1, what every provider reads exactly)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<int64_t> CheckStops(const aigw::v1::ChatCompletionRequest& request,
                                   const ValidationLimits& limits) {
  if (request.stop_size() > limits.max_stop_sequences) {
    return absl::InvalidArgumentError(absl::StrCat("stop has ", request.stop_size(),
                                                   " sequences; at most ",
                                                   limits.max_stop_sequences, " are accepted"));
  }
  int64_t bytes = 0;
  for (int i = 0; i < request.stop_size(); ++i) {
    if (request.stop(i).empty()) {
      return absl::InvalidArgumentError(absl::StrCat("stop[", i, "] is empty"));
    }
    bytes += static_cast<int64_t>(request.stop(i).size());
  }
  return bytes;
}

absl::Status CheckRequestBytes(int64_t bytes, const ValidationLimits& limits) {
  if (bytes > limits.max_request_bytes) {
    return absl::InvalidArgumentError(absl::StrCat("request carries ", bytes,
                                                   " bytes of text; the limit is ",
                                                   limits.max_request_bytes));
  }
  return absl::OkStatus();
}

// Messages, tools, tool choice, response format, sampling knobs and stop
// sequences; what the request needs of its model.
absl::StatusOr<RequestNeeds> CheckBody(const aigw::v1::ChatCompletionRequest& request,
                                       const ValidationLimits& limits) {
  if (request.messages().empty()) {
    return absl::InvalidArgumentError("messages is empty: send at least one message");
  }
  absl::StatusOr<MessagesSummary> messages = CheckMessages(request.messages(), limits);
  if (!messages.ok()) return messages.status();
  absl::StatusOr<int64_t> tools = CheckTools(request.tools(), limits.max_tools);
  if (!tools.ok()) return tools.status();
  if (absl::Status st = CheckToolChoice(request); !st.ok()) return st;
  absl::StatusOr<int64_t> schema = CheckResponseFormat(request.response_format());
  if (!schema.ok()) return schema.status();
  if (absl::Status st = CheckSampling(request); !st.ok()) return st;
  absl::StatusOr<int64_t> stops = CheckStops(request, limits);
  if (!stops.ok()) return stops.status();
  if (absl::Status st =
          CheckRequestBytes(messages->text_bytes + *tools + *schema + *stops, limits);
      !st.ok()) {
    return st;
  }
  return RequestNeeds{!request.tools().empty() || messages->has_tool_turns, messages->images > 0};
}

absl::StatusOr<std::vector<ResolvedTarget>> ResolveTargets(
    const aigw::v1::ChatCompletionRequest& request, const Catalogue& catalogue,
    const ValidationLimits& limits) {
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
  return targets;
}

// What the first target's model must allow: max_tokens, streaming, tools
// and images.
absl::Status CheckFirstModel(const aigw::v1::ChatCompletionRequest& request,
                             const ResolvedTarget& first, const RequestNeeds& needs,
                             bool streaming) {
  const ModelEntry& m = *first.model;
  if (request.has_max_tokens()) {
    if (request.max_tokens() <= 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("max_tokens is ", request.max_tokens(), ": it must be positive"));
    }
    if (m.max_output_tokens > 0 && request.max_tokens() > m.max_output_tokens) {
      return absl::InvalidArgumentError(absl::StrCat(
          "max_tokens is ", request.max_tokens(), " but model '", m.code, "' allows at most ",
          m.max_output_tokens));
    }
  }
  if (streaming && !m.supports_streaming) {
    return absl::InvalidArgumentError(
        absl::StrCat("model '", m.code, "' does not support streaming"));
  }
  return CheckCapabilities(first, needs, "");
}

}  // namespace

absl::StatusOr<std::vector<ResolvedTarget>> ValidateChatRequest(
    const aigw::v1::ChatCompletionRequest& request, const Catalogue& catalogue,
    const ValidationLimits& limits, bool streaming) {
  absl::StatusOr<RequestNeeds> needs = CheckBody(request, limits);
  if (!needs.ok()) return needs.status();
  if (absl::Status st = CheckRequestId(request.request_id(), limits.max_request_id_length);
      !st.ok()) {
    return st;
  }
  if (absl::Status st = CheckCaller(request.caller()); !st.ok()) return st;
  absl::StatusOr<std::vector<ResolvedTarget>> targets = ResolveTargets(request, catalogue, limits);
  if (!targets.ok()) return targets.status();
  if (absl::Status st = CheckFirstModel(request, targets->front(), *needs, streaming); !st.ok()) {
    return st;
  }
  return targets;
}

absl::Status ValidateCountTokensRequest(const aigw::v1::CountTokensRequest& request,
                                        const ValidationLimits& limits) {
  if (request.messages().empty() == request.text().empty()) {
    return absl::InvalidArgumentError("give either messages or text (exactly one)");
  }
  if (!request.text().empty()) {
    if (!request.tools().empty()) {
      return absl::InvalidArgumentError("tools count with messages, not with text: send messages");
    }
    if (static_cast<int64_t>(request.text().size()) > limits.max_request_bytes) {
      return absl::InvalidArgumentError(absl::StrCat("text is ", request.text().size(),
                                                     " bytes; the limit is ",
                                                     limits.max_request_bytes));
    }
    return absl::OkStatus();
  }
  absl::StatusOr<MessagesSummary> messages = CheckMessages(request.messages(), limits);
  if (!messages.ok()) return messages.status();
  absl::StatusOr<int64_t> tools = CheckTools(request.tools(), limits.max_tools);
  if (!tools.ok()) return tools.status();
  return CheckRequestBytes(messages->text_bytes + *tools, limits);
}

}  // namespace aigw::gateway
