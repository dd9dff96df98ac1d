#ifndef AIGW_SERVICES_GATEWAY_RETRY_POLICY_H_
#define AIGW_SERVICES_GATEWAY_RETRY_POLICY_H_

#include <cstdint>
#include <optional>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "aigw/v1/common.pb.h"
#include "libs/providers/chat_types.h"

namespace aigw::gateway {

struct RetryOptions {
  // Upstream attempts per target (the first try included) before moving to
  // the next fallback.
  int max_attempts_per_target = 4;
  // Backoff before retry n (1-based): initial * multiplier^(n-1), capped.
  absl::Duration initial_backoff = absl::Seconds(1);
  double multiplier = 2.0;
  absl::Duration max_backoff = absl::Seconds(10);
  // Each delay is scaled by a uniform factor in [1 - jitter, 1 + jitter].
  double jitter = 0.2;
  // A provider's Retry-After longer than this is not waited for: the target
  // counts as exhausted and the next fallback is tried.
  absl::Duration max_retry_after = absl::Seconds(30);
};

// How one upstream attempt ended, from the transport result and HTTP status
// alone. An error answer whose body was read is classified by
// ClassifyUpstreamError instead.
aigw::v1::Outcome ClassifyAttempt(const absl::Status& transport, int http_status);

// What the pipeline does after a failed attempt.
enum class NextStep {
  kRetrySameKey,   // 5xx, network: back off, try again (any key)
  kRetryOtherKey,  // 429, a rejected key, a 403 for this key: exclude it, another key at once
  kNextTarget,     // the target cannot serve (a redirect, an answer over a limit, a 403 for
                   // every key: a region refusal): the next fallback at once
  kGiveUp,         // the request itself is refused (other 4xx): no retry, no fallback
};
NextStep NextStepFor(aigw::v1::Outcome outcome, int http_status);

// An upstream error answer (HTTP status, or an error event in a stream) by
// what the provider meant: providers::ClassifyError. 401 / invalid_api_key /
// authentication_error -> AUTH_FAILED (the keypool marks the key invalid);
// 403 -> PERMISSION_DENIED (the key stays usable), trying another key for a
// permission_error and the next target for a region refusal; 429 ->
// RATE_LIMITED; 5xx -> SERVER_ERROR; other 4xx -> CLIENT_ERROR.
struct ErrorVerdict {
  aigw::v1::Outcome outcome;
  NextStep next;
};
ErrorVerdict ClassifyUpstreamError(const providers::UpstreamError& error);

// The delay before retry number `retry` (1 = the first retry). A Retry-After
// from the provider wins over the computed backoff (it is the provider's
// explicit wish) and is not jittered. `unit_random` is uniform in [0, 1).
absl::Duration BackoffDelay(const RetryOptions& options, int retry,
                            std::optional<int64_t> retry_after_ms, double unit_random);

}  // namespace aigw::gateway

#endif  // AIGW_SERVICES_GATEWAY_RETRY_POLICY_H_
