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
  // Sum of message contents, names and stop strings, in bytes.
  int64_t max_request_bytes = 1 << 20;
  int max_messages = 1000;
  int max_stop_sequences = 4;
  int max_fallbacks = 8;
  // t_ai_api_logs.request_id.
  int max_request_id_length = 64;
};

// A provider and model the call may go to; pointers into the catalogue the
// validation ran against (keep it alive).
struct ResolvedTarget {
  const ProviderEntry* provider = nullptr;
  const ModelEntry* model = nullptr;
};

// Checks a request and resolves its first target and fallbacks. Errors are
// INVALID_ARGUMENT for a malformed request and NOT_FOUND for an unknown or
// disabled provider or model, each naming the field and what to fix. The
// caller fields must fit their t_ai_api_logs columns as sent (user_id 128
// characters, ip_address 64, user_agent 512; no control characters) and the
// request_id is at most 64 letters, digits and kRequestIdPunctuation: what
// is recorded is what the caller sent.
absl::StatusOr<std::vector<ResolvedTarget>> ValidateChatRequest(
    const aigw::v1::ChatCompletionRequest& request, const Catalogue& catalogue,
    const ValidationLimits& limits, bool streaming);

// Resolves one provider and (possibly empty) model; `field` names it in
// errors ("provider_code", "fallbacks[1]").
absl::StatusOr<ResolvedTarget> ResolveTarget(const Catalogue& catalogue,
                                             const std::string& provider_code,
                                             const std::string& model, absl::string_view field);

}  // namespace aigw::gateway

#endif  // AIGW_SERVICES_GATEWAY_REQUEST_VALIDATION_H_
