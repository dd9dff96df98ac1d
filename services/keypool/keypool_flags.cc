#include "services/keypool/keypool_flags.h"

#include <algorithm>
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
ABSL_FLAG(bool, leader_election, true,
          "Elect one active replica through the database; the others stand by and take over "
          "when it dies. Off: this process grants on its own (one replica only) "
          "[env AIGW_KEYPOOL_LEADER_ELECTION]");
ABSL_FLAG(absl::Duration, leader_lease, absl::Milliseconds(600),
          "How long an active replica that stopped renewing keeps the lead before a standby "
          "takes over [env AIGW_KEYPOOL_LEADER_LEASE]");
ABSL_FLAG(absl::Duration, leader_max_lease, absl::Seconds(5),
          "While its renewals are slow the active replica announces a longer lease, up to this "
          "(at least --leader_lease), so it does not refuse calls while a renewal waits for "
          "the database; a standby then waits that long [env AIGW_KEYPOOL_LEADER_MAX_LEASE]");
ABSL_FLAG(absl::Duration, leader_renew_interval, absl::Milliseconds(150),
          "How often the active replica renews its lease (at most half of --leader_lease) "
          "[env AIGW_KEYPOOL_LEADER_RENEW_INTERVAL]");
ABSL_FLAG(absl::Duration, leader_poll_interval, absl::Milliseconds(100),
          "How often a standby looks at the lease [env AIGW_KEYPOOL_LEADER_POLL_INTERVAL]");
ABSL_FLAG(absl::Duration, leader_outage_hold, absl::Seconds(60),
          "While the database cannot be reached, the active replica keeps granting this long "
          "after its last renewal; 0 = step down when the lease runs out "
          "[env AIGW_KEYPOOL_LEADER_OUTAGE_HOLD]");
ABSL_FLAG(double, allotment_share, 0.05,
          "Each gateway's allotment: this share of each key's RPM, TPM and RPD, which it may "
          "spend on its own while no keypool answers; held back from every other lease; "
          "0 = grant none [env AIGW_KEYPOOL_ALLOTMENT_SHARE]");
ABSL_FLAG(double, allotment_max_share, 0.25,
          "What all gateways' allotments of one key may hold back together (at most 0.5) "
          "[env AIGW_KEYPOOL_ALLOTMENT_MAX_SHARE]");
ABSL_FLAG(absl::Duration, allotment_use_for, absl::Seconds(60),
          "How long a gateway may use an allotment without asking again "
          "[env AIGW_KEYPOOL_ALLOTMENT_USE_FOR]");

namespace aigw::keypool {

std::vector<EnvFlag> KeyPoolEnvFlags() {
  return {{"default_cooldown", "AIGW_KEYPOOL_DEFAULT_COOLDOWN"},
          {"max_cooldown", "AIGW_KEYPOOL_MAX_COOLDOWN"},
          {"breaker_failures", "AIGW_KEYPOOL_BREAKER_FAILURES"},
          {"breaker_cooldown", "AIGW_KEYPOOL_BREAKER_COOLDOWN"},
          {"time_zone", "AIGW_TIME_ZONE"},
          {"lease_timeout", "AIGW_KEYPOOL_LEASE_TIMEOUT"},
          {"poll_interval", "AIGW_KEYPOOL_POLL_INTERVAL"},
          {"flush_interval", "AIGW_KEYPOOL_FLUSH_INTERVAL"},
          {"leader_election", "AIGW_KEYPOOL_LEADER_ELECTION"},
          {"leader_lease", "AIGW_KEYPOOL_LEADER_LEASE"},
          {"leader_max_lease", "AIGW_KEYPOOL_LEADER_MAX_LEASE"},
          {"leader_renew_interval", "AIGW_KEYPOOL_LEADER_RENEW_INTERVAL"},
          {"leader_poll_interval", "AIGW_KEYPOOL_LEADER_POLL_INTERVAL"},
          {"leader_outage_hold", "AIGW_KEYPOOL_LEADER_OUTAGE_HOLD"},
          {"allotment_share", "AIGW_KEYPOOL_ALLOTMENT_SHARE"},
          {"allotment_max_share", "AIGW_KEYPOOL_ALLOTMENT_MAX_SHARE"},
          {"allotment_use_for", "AIGW_KEYPOOL_ALLOTMENT_USE_FOR"}};
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
      {"allotment_use_for", absl::GetFlag(FLAGS_allotment_use_for), false},
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
  c.pool.allotment.share = absl::GetFlag(FLAGS_allotment_share);
  c.pool.allotment.max_share = absl::GetFlag(FLAGS_allotment_max_share);
  c.pool.allotment.use_for = absl::GetFlag(FLAGS_allotment_use_for);
  if (!(c.pool.allotment.share >= 0 && c.pool.allotment.share <= 0.5) ||
      !(c.pool.allotment.max_share >= 0 && c.pool.allotment.max_share <= 0.5)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--allotment_share and --allotment_max_share must be between 0 and 0.5 (got ",
        c.pool.allotment.share, " and ", c.pool.allotment.max_share, ")"));
  }
  c.sync.poll_interval = absl::GetFlag(FLAGS_poll_interval);
  c.sync.flush_interval = absl::GetFlag(FLAGS_flush_interval);
  c.election.enabled = absl::GetFlag(FLAGS_leader_election);
  c.election.options.holder = DefaultHolderName();
  c.election.options.lease = absl::GetFlag(FLAGS_leader_lease);
  c.election.options.max_lease =
      std::max(absl::GetFlag(FLAGS_leader_max_lease), c.election.options.lease);
  c.election.options.renew_interval = absl::GetFlag(FLAGS_leader_renew_interval);
  c.election.options.poll_interval = absl::GetFlag(FLAGS_leader_poll_interval);
  c.election.options.outage_hold = absl::GetFlag(FLAGS_leader_outage_hold);
  c.election.options.clock = c.clock;
  return c;
}

}  // namespace aigw::keypool
