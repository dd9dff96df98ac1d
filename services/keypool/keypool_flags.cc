#include "services/keypool/keypool_flags.h"

#include <string>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

ABSL_FLAG(absl::Duration, default_cooldown, absl::Seconds(60),
          "Cooldown of a key after an upstream 429 without Retry-After "
          "[env AIGW_KEYPOOL_DEFAULT_COOLDOWN]");
ABSL_FLAG(absl::Duration, max_cooldown, absl::Hours(24),
          "Longest cooldown a provider's Retry-After may impose [env AIGW_KEYPOOL_MAX_COOLDOWN]");
ABSL_FLAG(int, breaker_failures, 5,
          "Consecutive 5xx/network errors on one key that open its circuit breaker; 0 = off "
          "[env AIGW_KEYPOOL_BREAKER_FAILURES]");
ABSL_FLAG(absl::Duration, breaker_cooldown, absl::Seconds(30),
          "How long an open circuit breaker keeps a key out [env AIGW_KEYPOOL_BREAKER_COOLDOWN]");
ABSL_FLAG(std::string, time_zone, "UTC",
          "IANA time zone whose calendar days the RPD limits and daily counters follow, e.g. "
          "Asia/Shanghai [env AIGW_TIME_ZONE]");
ABSL_FLAG(absl::Duration, lease_timeout, absl::Minutes(15),
          "A lease not reported within this time expires and keeps its estimate "
          "[env AIGW_KEYPOOL_LEASE_TIMEOUT]");
ABSL_FLAG(absl::Duration, poll_interval, absl::Seconds(10),
          "How often keys are re-read to pick up changes made straight in the database; "
          "0 = only on Reload [env AIGW_KEYPOOL_POLL_INTERVAL]");
ABSL_FLAG(absl::Duration, flush_interval, absl::Seconds(1),
          "How often key counters and status are written back to the database "
          "[env AIGW_KEYPOOL_FLUSH_INTERVAL]");

namespace aigw::keypool {

std::vector<EnvFlag> KeyPoolEnvFlags() {
  return {{"default_cooldown", "AIGW_KEYPOOL_DEFAULT_COOLDOWN"},
          {"max_cooldown", "AIGW_KEYPOOL_MAX_COOLDOWN"},
          {"breaker_failures", "AIGW_KEYPOOL_BREAKER_FAILURES"},
          {"breaker_cooldown", "AIGW_KEYPOOL_BREAKER_COOLDOWN"},
          {"time_zone", "AIGW_TIME_ZONE"},
          {"lease_timeout", "AIGW_KEYPOOL_LEASE_TIMEOUT"},
          {"poll_interval", "AIGW_KEYPOOL_POLL_INTERVAL"},
          {"flush_interval", "AIGW_KEYPOOL_FLUSH_INTERVAL"}};
}

absl::StatusOr<KeyPoolConfig> KeyPoolConfigFromFlags() {
  KeyPoolConfig c;
  struct Positive {
    const char* flag;
    absl::Duration value;
    bool zero_ok;
  };
  const Positive durations[] = {
      {"default_cooldown", absl::GetFlag(FLAGS_default_cooldown), false},
      {"max_cooldown", absl::GetFlag(FLAGS_max_cooldown), false},
      {"breaker_cooldown", absl::GetFlag(FLAGS_breaker_cooldown), false},
      {"lease_timeout", absl::GetFlag(FLAGS_lease_timeout), false},
      {"poll_interval", absl::GetFlag(FLAGS_poll_interval), true},
      {"flush_interval", absl::GetFlag(FLAGS_flush_interval), false},
  };
  for (const Positive& d : durations) {
    if (d.value < absl::ZeroDuration() || (!d.zero_ok && d.value == absl::ZeroDuration())) {
      return absl::InvalidArgumentError(absl::StrCat("--", d.flag, " must be ",
                                                     d.zero_ok ? "zero or more" : "positive",
                                                     " (got ", absl::FormatDuration(d.value),
                                                     ")"));
    }
  }
  c.pool.default_cooldown = absl::GetFlag(FLAGS_default_cooldown);
  c.pool.max_cooldown = absl::GetFlag(FLAGS_max_cooldown);
  c.pool.breaker_failures = absl::GetFlag(FLAGS_breaker_failures);
  if (c.pool.breaker_failures < 0) {
    return absl::InvalidArgumentError("--breaker_failures must be zero (off) or more");
  }
  c.pool.breaker_cooldown = absl::GetFlag(FLAGS_breaker_cooldown);
  c.pool.lease_timeout = absl::GetFlag(FLAGS_lease_timeout);
  const std::string zone = absl::GetFlag(FLAGS_time_zone);
  if (!absl::LoadTimeZone(zone, &c.pool.time_zone)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--time_zone / AIGW_TIME_ZONE: unknown time zone \"", zone,
        "\" (want an IANA name such as UTC or Asia/Shanghai; is tzdata installed?)"));
  }
  c.sync.poll_interval = absl::GetFlag(FLAGS_poll_interval);
  c.sync.flush_interval = absl::GetFlag(FLAGS_flush_interval);
  return c;
}

}  // namespace aigw::keypool
