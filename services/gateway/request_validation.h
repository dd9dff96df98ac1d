#ifndef AIGW_SERVICES_GATEWAY_REQUEST_VALIDATION_H_
#define AIGW_SERVICES_GATEWAY_REQUEST_VALIDATION_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "aigw/v1/chat.pb.h"
#include "services/gateway/catalogue.h"

namespace aigw::gateway {

// What a caller's request_id may hold besides ASCII letters and digits (it
// names the call in logs and the call log: UUIDs, ULIDs, base64 ids,
// "trace:span" pairs fit).
inline constexpr char kRequestIdPunctuation[] = "-_.:/+=@~";

struct ValidationLimits {
  // Sum of message contents, names, text parts, tool calls, tool
  // definitions, the response schema and stop strings, in bytes (images
  // apart).
  int64_t max_request_bytes = 1 << 20;
  int max_messages = 1000;
  int max_stop_sequences = 4;
  int max_fallbacks = 8;
  // t_ai_api_logs.request_id.
  int max_request_id_length = 64;
  // OpenAI's limit on functions per request.
  int max_tools = 128;
  // Image parts in a request.
  int max_images = 20;
  // One data: URL image, decoded (Anthropic's API takes 5 MB an image; the
  // gRPC message limit, 4 MiB by default, bounds the whole request first).
  int64_t max_image_bytes = 5 << 20;
  // One https image URL.
  int64_t max_image_url_bytes = 8 << 10;
};

// presence_penalty and frequency_penalty: OpenAI's range.
inline constexpr double kMinPenalty = -2.0;
inline constexpr double kMaxPenalty = 2.0;
// |seed| at most 2^53 - 1: every provider's JSON parser reads it exactly.
inline constexpr int64_t kMaxSeedMagnitude = (int64_t{1} << 53) - 1;

// A provider and model the call may go to; pointers into the catalogue the
// validation ran against (keep it alive).
struct ResolvedTarget {
  const ProviderEntry* provider = nullptr;
  const ModelEntry* model = nullptr;
};

// What a request needs of a model beyond text.
struct RequestNeeds {
  bool function_calling = false;  // tools offered, or tool calls / tool turns in messages
  bool vision = false;            // image parts
};
RequestNeeds NeedsOf(const aigw::v1::ChatCompletionRequest& request);

// The catalogue flag of the first capability the request needs that the
// model lacks ("supports_function_call", "supports_vision"); empty when it
// has them all.
absl::string_view MissingCapability(const ModelEntry& model, const RequestNeeds& needs);

// OK when the model has what the request needs (its catalogue entry's
// supports_function_call and supports_vision); else INVALID_ARGUMENT naming
// the model, the capability and what to do; `field`, when not empty,
// prefixes it ("fallbacks[1]").
absl::Status CheckCapabilities(const ResolvedTarget& target, const RequestNeeds& needs,
                               absl::string_view field);

// Checks a request and resolves its first target and fallbacks. Errors are
// INVALID_ARGUMENT for a malformed request and NOT_FOUND for an unknown or
// disabled provider or model, each naming the field and what to fix. The
// caller fields must fit their t_ai_api_logs columns as sent (user_id 128
// characters, ip_address 64, user_agent 512; no control characters) and the
// request_id is at most 64 letters, digits and kRequestIdPunctuation: what
// is recorded is what the caller sent (user_id is also what the providers
// get as their end-user id). Messages, images and tool turns are checked as
// request_validation_messages.h says; tools, tool_choice and response_format
// as request_validation_tools.h says; presence_penalty and frequency_penalty
// lie in [-2, 2] and |seed| <= kMaxSeedMagnitude. The first target's model
// must support what the request needs (CheckCapabilities: INVALID_ARGUMENT);
// fallbacks that do not are resolved here and left for the pipeline to skip.
absl::StatusOr<std::vector<ResolvedTarget>> ValidateChatRequest(
    const aigw::v1::ChatCompletionRequest& request, const Catalogue& catalogue,
    const ValidationLimits& limits, bool streaming);

// CountTokens' checks: messages as in a chat request (without the
// capability checks: counting is allowed for any model) or text, tools,
// within the same limits.
absl::Status ValidateCountTokensRequest(const aigw::v1::CountTokensRequest& request,
                                        const ValidationLimits& limits);

// Resolves one provider and (possibly empty) model; `field` names it in
// errors ("provider_code", "fallbacks[1]").
absl::StatusOr<ResolvedTarget> ResolveTarget(const Catalogue& catalogue,
                                             const std::string& provider_code,
                                             const std::string& model, absl::string_view field);

}  // namespace aigw::gateway

#endif  // AIGW_SERVICES_GATEWAY_REQUEST_VALIDATION_H_
