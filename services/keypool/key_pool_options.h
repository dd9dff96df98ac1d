#ifndef AIGW_SERVICES_KEYPOOL_KEY_POOL_OPTIONS_H_
#define AIGW_SERVICES_KEYPOOL_KEY_POOL_OPTIONS_H_

#include "absl/time/time.h"
#include "services/keypool/allotment.h"

namespace aigw::keypool {

// The tunables of key selection and key health (flags in keypool_flags.cc).
struct KeyPoolOptions {
  // Cooldown after an upstream 429 that carried no Retry-After.
  absl::Duration default_cooldown = absl::Seconds(60);
  // Upper bound on a provider's Retry-After, against absurd values.
  absl::Duration max_cooldown = absl::Hours(24);
  // Consecutive SERVER_ERROR/NETWORK_ERROR outcomes on one key that open its
  // circuit breaker; 0 turns the breaker off.
  int breaker_failures = 5;
  // How long an open breaker keeps the key out. After it, one more failure
  // re-opens it at once (half-open) and a success closes it.
  absl::Duration breaker_cooldown = absl::Seconds(30);
  // The zone whose calendar days RPD and the daily counters follow.
  absl::TimeZone time_zone = absl::UTCTimeZone();
  // A lease not reported within this time expires: its estimate stays
  // counted and a later report of it is NOT_FOUND. Long enough for the
  // slowest streamed completion.
  absl::Duration lease_timeout = absl::Minutes(15);
  // How big the gateways' allotments are (allotment.h).
  AllotmentPolicy allotment;
};

}  // namespace aigw::keypool

#endif  // AIGW_SERVICES_KEYPOOL_KEY_POOL_OPTIONS_H_
