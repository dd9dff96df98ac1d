#ifndef AIGW_TESTS_FAULT_UPSTREAM_LIMITS_H_
#define AIGW_TESTS_FAULT_UPSTREAM_LIMITS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace aigw::fault {

// A provider key with limits (0 = none), as the harness seeds it.
struct KeyLimits {
  std::string api_key;
  int64_t rpm = 0;
  int64_t tpm = 0;
  int64_t rpd = 0;
};

// "rpm:tpm:rpd,rpm:tpm:rpd,..." (one entry per key).
absl::StatusOr<std::vector<KeyLimits>> ParseKeyLimits(absl::string_view text);

// One request as the fake upstream recorded it.
struct UpstreamRequest {
  absl::Time time;
  std::string api_key;
  int status = 0;
};

// What one key received at the fake upstream, against its limits.
struct KeyUse {
  KeyLimits limits;
  // Every request (the day's, for RPD).
  int64_t requests = 0;
  // The most requests, and tokens of answered (200) requests, in any 60 s.
  int64_t max_minute_requests = 0;
  int64_t max_minute_tokens = 0;
  // How far each figure is over its limit, as a fraction of it (0 within).
  double rpm_over = 0, tpm_over = 0, rpd_over = 0;
};

// Counts `requests` per key of `keys`: each answered request carries
// `tokens_per_answer` tokens (the fake is told to answer with that usage).
std::vector<KeyUse> CountUse(const std::vector<KeyLimits>& keys,
                             const std::vector<UpstreamRequest>& requests,
                             int64_t tokens_per_answer);

// The requests the fake on `port` recorded (GET /_control/requests).
absl::StatusOr<std::vector<UpstreamRequest>> FetchUpstreamRequests(int port);

}  // namespace aigw::fault

#endif  // AIGW_TESTS_FAULT_UPSTREAM_LIMITS_H_
