#ifndef AIGW_LIBS_PROVIDERS_ERROR_CLASS_H_
#define AIGW_LIBS_PROVIDERS_ERROR_CLASS_H_

#include "absl/strings/string_view.h"
#include "libs/providers/chat_types.h"

namespace aigw::providers {

// What a provider's error answer says about the key it was sent with and
// about the request, read from the HTTP status and the provider's documented
// error type and code:
//   OpenAI     401 invalid_api_key / "Incorrect API key provided",
//              401 "You must be a member of an organization", "IP not
//              authorized"; 403 request_forbidden /
//              unsupported_country_region_territory; 403 for a model or
//              project the key may not use; 429 rate_limit_exceeded,
//              insufficient_quota.
//   Anthropic  401 authentication_error, 403 permission_error ("Your API
//              key does not have permission to use the specified
//              resource"), 429 rate_limit_error, 529 overloaded_error.
enum class ErrorClass {
  // 429: this key is over a limit for a while; another key may serve now.
  kRateLimited,
  // The key itself is refused: 401, or any 4xx whose type or code says so
  // (authentication_error, invalid_api_key). Unusable until an operator
  // re-validates or replaces it.
  kKeyRejected,
  // 403 for this key and this request (permission_error: the key may not
  // use this model or resource). The key is fine otherwise, and a key of
  // another organisation or workspace may be allowed.
  kKeyForbidden,
  // 403 for every key from here: the provider refuses the caller's region
  // (unsupported_country_region_territory). No other key of the provider
  // helps; another provider may.
  kProviderForbidden,
  // 5xx, 408 and 409 (OpenAI's "retry your request"): the provider's trouble.
  kServerError,
  // Any other 4xx: the request itself is refused.
  kRequestRefused,
};

// `http_status` is a non-2xx status; `type`, `code` and `message` are the
// provider's (UpstreamError), possibly empty. The message is read only for a
// 403 without a type or code, as OpenAI-compatible proxies pass on OpenAI's
// region refusal ("Country, region, or territory not supported").
ErrorClass ClassifyError(int http_status, absl::string_view type, absl::string_view code,
                         absl::string_view message = {});
inline ErrorClass ClassifyError(const UpstreamError& error) {
  return ClassifyError(error.http_status, error.type, error.code, error.message);
}

}  // namespace aigw::providers

#endif  // AIGW_LIBS_PROVIDERS_ERROR_CLASS_H_
