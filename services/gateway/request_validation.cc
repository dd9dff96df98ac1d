#include "services/gateway/request_validation.h"

#include "absl/strings/str_cat.h"

namespace aigw::gateway {

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
  if (static_cast<int>(request.request_id().size()) > limits.max_request_id_length) {
    return absl::InvalidArgumentError(absl::StrCat("request_id is ", request.request_id().size(),
                                                   " characters; at most ",
                                                   limits.max_request_id_length));
  }
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
