#ifndef AIGW_SERVICES_GATEWAY_RETRY_POLICY_H_
#define AIGW_SERVICES_GATEWAY_RETRY_POLICY_H_

#include <cstdint>
#include <optional>

#include "absl/time/time.h"

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

// The delay before retry number `retry` (1 = the first retry). A Retry-After
// from the provider wins over the computed backoff (it is the provider's
// explicit wish) and is not jittered. `unit_random` is uniform in [0, 1).
absl::Duration BackoffDelay(const RetryOptions& options, int retry,
                            std::optional<int64_t> retry_after_ms, double unit_random);

}  // namespace aigw::gateway

#endif  // AIGW_SERVICES_GATEWAY_RETRY_POLICY_H_
