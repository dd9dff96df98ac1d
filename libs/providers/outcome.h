#ifndef AIGW_LIBS_PROVIDERS_OUTCOME_H_
#define AIGW_LIBS_PROVIDERS_OUTCOME_H_

#include <optional>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "aigw/v1/common.pb.h"
#include "libs/providers/chat_types.h"

// How an upstream attempt ended, decided once for every service: the gateway
// (what to try next, what to log), the keypool (what it says about the key),
// admin (whether another key may serve) and usage (a stored row's outcome
// read back). HTTP 408 and 409 are the provider's trouble (SERVER_ERROR,
// retried) everywhere; the usage service once read them as CLIENT_ERROR.
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

// What may still serve after a failed attempt.
enum class NextStep {
  kRetrySameKey,   // 5xx, network: back off, try again (any key)
  kRetryOtherKey,  // 429, a rejected key, a 403 for this key: another key at once
  kNextTarget,     // the target cannot serve (a redirect, an answer over a limit, a 403 for
                   // every key: a region refusal): another provider, at once
  kGiveUp,         // the request itself is refused (other 4xx): nothing else serves
};

// The outcome recorded for an error answer, and what may serve instead:
// 401 / invalid_api_key / authentication_error -> AUTH_FAILED, another key;
// 403 -> PERMISSION_DENIED (the key stays usable), another key for a
// permission_error, another provider for a region refusal; 429 ->
// RATE_LIMITED, another key; 5xx -> SERVER_ERROR, again after a backoff;
// other 4xx -> CLIENT_ERROR, nothing.
struct Verdict {
  aigw::v1::Outcome outcome;
  NextStep next;
};
Verdict VerdictFor(ErrorClass error_class);
inline Verdict ClassifyUpstreamError(const UpstreamError& error) {
  return VerdictFor(ClassifyError(error));
}

// How one upstream attempt ended from the transport result and the HTTP
// status alone: NETWORK_ERROR when no whole answer arrived, SUCCESS for 2xx,
// SERVER_ERROR for a redirect (never followed: the provider's base_url is
// wrong), otherwise as ClassifyError with no type or code says. An error
// answer whose body was read is classified by ClassifyUpstreamError.
aigw::v1::Outcome ClassifyAttempt(const absl::Status& transport, int http_status);
// What may serve after an attempt that ended with `outcome`, when nothing
// more specific is known (ClassifyUpstreamError).
NextStep NextStepFor(aigw::v1::Outcome outcome);

// The call log's error codes for failures that are not a provider's error
// answer. A failed attempt's error_code is one of these or an outcome's name.
namespace error_code {
inline constexpr char kTimeout[] = "TIMEOUT";
// An answer that does not parse, or a malformed stream.
inline constexpr char kBadResponse[] = "BAD_RESPONSE";
// An answer over one of the bounds on what an upstream may send (body,
// headers, one event, JSON depth).
inline constexpr char kResponseTooLarge[] = "RESPONSE_TOO_LARGE";
inline constexpr char kRedirect[] = "REDIRECT";
// A stream that ended before its end marker.
inline constexpr char kStreamInterrupted[] = "STREAM_INTERRUPTED";
// The gateway's bounds on one stream: its duration and its content.
inline constexpr char kStreamTooLong[] = "STREAM_TOO_LONG";
inline constexpr char kStreamTooLarge[] = "STREAM_TOO_LARGE";
// The gateway ended the stream: its client read too slowly, or left.
inline constexpr char kClientTooSlow[] = "CLIENT_TOO_SLOW";
inline constexpr char kCancelled[] = "CANCELLED";
// Never sent: no key could be leased, the provider's host is not allowed,
// or the target's model lacks a capability the request needs (tools,
// images) and the call skipped it.
inline constexpr char kNoAvailableKeys[] = "NO_AVAILABLE_KEYS";
inline constexpr char kKeypoolUnavailable[] = "KEYPOOL_UNAVAILABLE";
inline constexpr char kHostNotAllowed[] = "HOST_NOT_ALLOWED";
inline constexpr char kUnsupportedCapability[] = "UNSUPPORTED_CAPABILITY";
}  // namespace error_code

// The outcome an error code stands for: an outcome's own name, or one of
// error_code's codes. None for anything else (a code of the original
// system's, "HTTP_502").
std::optional<aigw::v1::Outcome> OutcomeForErrorCode(absl::string_view code);

// What an attempt's outcome says about the key it used (the keypool's key
// health).
enum class KeyVerdict {
  kWorks,           // SUCCESS, CLIENT_ERROR: the provider answered with this key
  kRateLimited,     // RATE_LIMITED: it cools down
  kRejected,        // AUTH_FAILED: unusable until an operator re-validates it
  kRefusedRequest,  // PERMISSION_DENIED: one request refused; the key stays usable
  kFailing,         // SERVER_ERROR, NETWORK_ERROR: counts towards the circuit breaker
  kNothing,         // RELEASED, NOT_SENT: the key was not used
};
KeyVerdict KeyVerdictFor(aigw::v1::Outcome outcome);

}  // namespace aigw::providers

#endif  // AIGW_LIBS_PROVIDERS_OUTCOME_H_
