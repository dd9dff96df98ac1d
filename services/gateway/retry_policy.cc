#include "services/gateway/retry_policy.h"

#include <algorithm>
#include <cmath>

namespace aigw::gateway {

absl::Duration BackoffDelay(const RetryOptions& options, int retry,
                            std::optional<int64_t> retry_after_ms, double unit_random) {
  if (retry_after_ms.has_value() && *retry_after_ms >= 0) {
    return absl::Milliseconds(*retry_after_ms);
  }
  const double base = absl::ToDoubleSeconds(options.initial_backoff) *
                      std::pow(options.multiplier, std::max(0, retry - 1));
  const double capped = std::min(base, absl::ToDoubleSeconds(options.max_backoff));
  const double factor = 1.0 + options.jitter * (2.0 * unit_random - 1.0);
  return absl::Seconds(std::max(0.0, capped * factor));
}

}  // namespace aigw::gateway
