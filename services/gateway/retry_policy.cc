#include "services/gateway/retry_policy.h"

#include <algorithm>
#include <cmath>

#include "libs/providers/error_class.h"

namespace aigw::gateway {

aigw::v1::Outcome ClassifyAttempt(const absl::Status& transport, int http_status) {
  if (!transport.ok()) return aigw::v1::NETWORK_ERROR;
  if (http_status >= 200 && http_status < 300) return aigw::v1::SUCCESS;
  if (http_status == 429) return aigw::v1::RATE_LIMITED;
  if (http_status == 401) return aigw::v1::AUTH_FAILED;
  if (http_status == 403) return aigw::v1::PERMISSION_DENIED;
  // 408 Request Timeout and 409 (OpenAI's "retry your request") are the
  // server's trouble, not the request's.
  if (http_status >= 500 || http_status == 408 || http_status == 409) {
    return aigw::v1::SERVER_ERROR;
  }
  return aigw::v1::CLIENT_ERROR;
}

NextStep NextStepFor(aigw::v1::Outcome outcome, int http_status) {
  switch (outcome) {
    case aigw::v1::RATE_LIMITED:
    case aigw::v1::AUTH_FAILED:
    case aigw::v1::PERMISSION_DENIED:
      return NextStep::kRetryOtherKey;
    case aigw::v1::SERVER_ERROR:
    case aigw::v1::NETWORK_ERROR:
      return NextStep::kRetrySameKey;
    default:
      return NextStep::kGiveUp;
  }
}

ErrorVerdict ClassifyUpstreamError(const providers::UpstreamError& error) {
  switch (providers::ClassifyError(error)) {
    case providers::ErrorClass::kRateLimited:
      return {aigw::v1::RATE_LIMITED, NextStep::kRetryOtherKey};
    case providers::ErrorClass::kKeyRejected:
      return {aigw::v1::AUTH_FAILED, NextStep::kRetryOtherKey};
    case providers::ErrorClass::kKeyForbidden:
      return {aigw::v1::PERMISSION_DENIED, NextStep::kRetryOtherKey};
    case providers::ErrorClass::kProviderForbidden:
      return {aigw::v1::PERMISSION_DENIED, NextStep::kNextTarget};
    case providers::ErrorClass::kServerError:
      return {aigw::v1::SERVER_ERROR, NextStep::kRetrySameKey};
    case providers::ErrorClass::kRequestRefused:
      break;
  }
  return {aigw::v1::CLIENT_ERROR, NextStep::kGiveUp};
}

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
