#include "services/keypool/leader_election.h"

#include <unistd.h>

#include <algorithm>
#include <random>
#include <utility>

#include "absl/strings/str_cat.h"
#include "soci/soci.h"
#include "spdlog/spdlog.h"

namespace aigw::keypool {
namespace {

long long ToMillis(absl::Time t) { return absl::ToUnixMillis(t); }

// Runs an UPDATE and returns how many rows it changed.
long long Execute(soci::statement& st) {
  st.execute(true);
  return st.get_affected_rows();
}

}  // namespace

std::string DefaultHolderName() {
  char host[256] = {0};
  if (gethostname(host, sizeof(host) - 1) != 0 || host[0] == '\0') {
    snprintf(host, sizeof(host), "keypool");
  }
  std::random_device rd;
  return absl::StrCat(host, "-", getpid(), "-", absl::Hex(rd() & 0xffffff, absl::kZeroPad6));
}

absl::StatusOr<std::unique_ptr<LeaderElection>> LeaderElection::Create(
    db::Database* db, LeaderElectionOptions options) {
  if (options.name.empty() || options.name.size() > 64) {
    return absl::InvalidArgumentError("the election's name must be 1 to 64 characters");
  }
  if (options.holder.empty() || options.holder.size() > 255) {
    return absl::InvalidArgumentError("the holder's name must be 1 to 255 characters");
  }
  if (options.lease <= 2 * kSafetyMargin) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the leader lease must be longer than ", absl::FormatDuration(2 * kSafetyMargin),
        " (got ", absl::FormatDuration(options.lease), ")"));
  }
  if (options.renew_interval <= absl::ZeroDuration() ||
      2 * options.renew_interval > options.lease) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the renew interval must be positive and at most half the lease (got ",
        absl::FormatDuration(options.renew_interval), " for a lease of ",
        absl::FormatDuration(options.lease), ")"));
  }
  if (options.poll_interval <= absl::ZeroDuration() || options.poll_interval > options.lease) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the poll interval must be positive and at most the lease (got ",
        absl::FormatDuration(options.poll_interval), ")"));
  }
  if (options.max_lease < options.lease) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the longest leader lease must be at least the lease (got ",
        absl::FormatDuration(options.max_lease), " for a lease of ",
        absl::FormatDuration(options.lease), ")"));
  }
  if (options.outage_hold < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("the outage hold must not be negative");
  }
  return std::unique_ptr<LeaderElection>(new LeaderElection(db, std::move(options)));
}

LeaderElection::LeaderElection(db::Database* db, LeaderElectionOptions options)
    : db_(db), options_(std::move(options)) {}

LeaderElection::~LeaderElection() { Stop(/*release=*/false); }

std::string LeaderElection::last_seen_holder() const {
  absl::MutexLock l(&seen_mu_);
  return last_seen_holder_;
}

absl::Status LeaderElection::EnsureRow() {
  return db_->Run([&](soci::session& s) -> absl::Status {
    std::string name = options_.name;
    s << absl::StrCat(db_->dialect().InsertIgnore(),
                      " INTO t_ai_leader_leases (name, holder, fencing, renewals, expires_at_ms) "
                      "VALUES (:n, '', 0, 0, 0)"),
        soci::use(name);
    return absl::OkStatus();
  });
}

absl::StatusOr<LeaderLeaseRow> LeaderElection::ReadRow() {
  LeaderLeaseRow row;
  bool found = false;
  absl::Status st = db_->Run([&](soci::session& s) -> absl::Status {
    std::string name = options_.name;
    long long fencing = 0, renewals = 0, expires = 0, lease = 0;
    s << "SELECT holder, fencing, renewals, expires_at_ms, lease_ms FROM t_ai_leader_leases "
         "WHERE name = :n",
        soci::into(row.holder), soci::into(fencing), soci::into(renewals), soci::into(expires),
        soci::into(lease), soci::use(name);
    found = s.got_data();
    row.fencing = fencing;
    row.renewals = renewals;
    row.expires_at_ms = expires;
    row.lease_ms = lease;
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  if (!found) return absl::NotFoundError(absl::StrCat("no election row ", options_.name));
  return row;
}

absl::Status LeaderElection::Step() {
  absl::MutexLock l(&step_mu_);
  if (!row_ensured_) {
    if (absl::Status st = EnsureRow(); !st.ok()) {
      observed_ = false;
      return st;
    }
    row_ensured_ = true;
  }
  return fencing_.load(std::memory_order_acquire) != 0 ? StepActive() : StepStandby();
}

absl::Status LeaderElection::StepActive() {
  const int64_t fencing = fencing_.load(std::memory_order_acquire);
  const absl::Duration lease = AnnouncedLeaseLocked();
  const absl::Time start = options_.clock->Now();
  long long changed = 0;
  absl::Status st = db_->Run([&](soci::session& s) -> absl::Status {
    std::string name = options_.name;
    std::string holder = options_.holder;
    long long f = fencing;
    long long expires = ToMillis(start + lease);
    long long lease_ms = absl::ToInt64Milliseconds(lease);
    soci::statement u =
        (s.prepare << "UPDATE t_ai_leader_leases SET renewals = renewals + 1, "
                      "expires_at_ms = :e, lease_ms = :l "
                      "WHERE name = :n AND holder = :h AND fencing = :f",
         soci::use(expires), soci::use(lease_ms), soci::use(name), soci::use(holder),
         soci::use(f));
    changed = Execute(u);
    return absl::OkStatus();
  });
  ObserveRenewal(start, lease);
  if (!st.ok()) {
    // Nobody takes the row over through a database nobody reaches: keep
    // granting for the outage hold after the last renewal.
    if (options_.outage_hold > absl::ZeroDuration()) {
      const int64_t hold = absl::ToUnixNanos(last_renewed_ + options_.outage_hold);
      if (hold > valid_until_ns_.load(std::memory_order_acquire)) {
        valid_until_ns_.store(hold, std::memory_order_release);
      }
    }
    return st;
  }
  if (changed != 1) {
    BecomeStandby("another replica took the leader lease over");
    return absl::OkStatus();
  }
  last_renewed_ = start;
  valid_until_ns_.store(absl::ToUnixNanos(start + lease - kSafetyMargin),
                        std::memory_order_release);
  return absl::OkStatus();
}

absl::Duration LeaderElection::AnnouncedLease() const {
  absl::MutexLock l(&step_mu_);
  return AnnouncedLeaseLocked();
}

absl::Duration LeaderElection::AnnouncedLeaseLocked() const {
  absl::Duration slowest = absl::ZeroDuration();
  for (absl::Duration d : recent_renewals_) slowest = std::max(slowest, d);
  // The next renewal starts up to a renew interval after this one returned
  // and may be as slow: room for two of the slowest, and half of one more.
  const absl::Duration wanted = options_.renew_interval + kSafetyMargin + slowest * 2.5;
  return std::clamp(wanted, options_.lease, options_.max_lease);
}

void LeaderElection::ObserveRenewal(absl::Time start, absl::Duration lease) {
  const absl::Time end = options_.clock->Now();
  recent_renewals_[next_renewal_slot_] = end - start;
  next_renewal_slot_ = (next_renewal_slot_ + 1) % kRenewalsRemembered;
  const absl::Time valid_until =
      absl::FromUnixNanos(valid_until_ns_.load(std::memory_order_acquire));
  const absl::Duration lapsed =
      valid_until < end ? end - std::max(valid_until, start) : absl::ZeroDuration();
  if (lapsed > absl::ZeroDuration()) {
    // The replica refused calls while its own renewal waited for the
    // database: the lease is too short for this database's worst latency.
    spdlog::warn("msg=\"the active replica could not grant while a renewal waited for the "
                 "database\" election=\"{}\" renewal_ms={} refused_for_ms={} lease_ms={}",
                 options_.name, absl::ToInt64Milliseconds(end - start),
                 absl::ToInt64Milliseconds(lapsed), absl::ToInt64Milliseconds(lease));
  }
  if (on_renewal_) on_renewal_(end - start, lapsed);
}

absl::Status LeaderElection::StepStandby() {
  absl::StatusOr<LeaderLeaseRow> row = ReadRow();
  if (!row.ok()) {
    // After an outage the wait starts again: a holder that lived through it
    // gets a whole lease to renew first.
    observed_ = false;
    return row.status();
  }
  {
    absl::MutexLock l(&seen_mu_);
    last_seen_holder_ = row->holder;
  }
  const absl::Time now = options_.clock->Now();
  if (!observed_ || row->fencing != observed_fencing_ || row->renewals != observed_renewals_) {
    observed_ = true;
    observed_fencing_ = row->fencing;
    observed_renewals_ = row->renewals;
    observed_at_ = now;
  }
  // The holder may grant for the lease it announced, when longer than ours.
  const absl::Duration wait = std::max(options_.lease, absl::Milliseconds(row->lease_ms));
  const bool free = row->holder.empty() || now - observed_at_ >= wait;
  if (!free) return absl::OkStatus();

  long long changed = 0;
  absl::Status st = db_->Run([&](soci::session& s) -> absl::Status {
    std::string name = options_.name;
    std::string holder = options_.holder;
    long long f = row->fencing;
    long long r = row->renewals;
    long long expires = ToMillis(now + options_.lease);
    long long lease_ms = absl::ToInt64Milliseconds(options_.lease);
    soci::statement u =
        (s.prepare << "UPDATE t_ai_leader_leases SET holder = :h, fencing = fencing + 1, "
                      "renewals = renewals + 1, expires_at_ms = :e, lease_ms = :l "
                      "WHERE name = :n AND fencing = :f AND renewals = :r",
         soci::use(holder), soci::use(expires), soci::use(lease_ms), soci::use(name),
         soci::use(f), soci::use(r));
    changed = Execute(u);
    return absl::OkStatus();
  });
  observed_ = false;
  if (!st.ok()) return st;
  if (changed == 1) BecomeActive(row->fencing + 1, now);
  return absl::OkStatus();
}

void LeaderElection::BecomeActive(int64_t fencing, absl::Time since) {
  last_renewed_ = since;
  valid_until_ns_.store(absl::ToUnixNanos(since + options_.lease - kSafetyMargin),
                        std::memory_order_release);
  fencing_.store(fencing, std::memory_order_release);
  {
    absl::MutexLock l(&seen_mu_);
    last_seen_holder_ = options_.holder;
  }
  spdlog::info("msg=\"became the active replica\" election=\"{}\" holder=\"{}\" fencing={}",
               options_.name, options_.holder, fencing);
  if (on_role_change_) on_role_change_(true, fencing);
}

void LeaderElection::BecomeStandby(absl::string_view why) {
  const int64_t was = fencing_.exchange(0, std::memory_order_acq_rel);
  valid_until_ns_.store(0, std::memory_order_release);
  observed_ = false;
  spdlog::warn("msg=\"became a standby replica\" election=\"{}\" holder=\"{}\" fencing={} "
               "why=\"{}\"",
               options_.name, options_.holder, was, std::string(why));
  if (on_role_change_) on_role_change_(false, 0);
}

absl::Status LeaderElection::Release() {
  absl::MutexLock l(&step_mu_);
  const int64_t fencing = fencing_.load(std::memory_order_acquire);
  if (fencing == 0) return absl::OkStatus();
  // Stop granting before the row says anyone else may.
  valid_until_ns_.store(0, std::memory_order_release);
  absl::Status st = db_->Run([&](soci::session& s) -> absl::Status {
    std::string name = options_.name;
    std::string holder = options_.holder;
    long long f = fencing;
    s << "UPDATE t_ai_leader_leases SET holder = '', renewals = renewals + 1, "
         "expires_at_ms = 0 WHERE name = :n AND holder = :h AND fencing = :f",
        soci::use(name), soci::use(holder), soci::use(f);
    return absl::OkStatus();
  });
  BecomeStandby(st.ok() ? "released the leader lease" : "released (the row keeps it until it "
                                                         "runs out)");
  return st;
}

absl::Status LeaderElection::Fence(soci::session& s, int64_t fencing) {
  if (fencing == 0) {
    return absl::FailedPreconditionError("this keypool replica is not the active one");
  }
  std::string name = options_.name;
  std::string holder = options_.holder;
  long long f = fencing;
  soci::statement u =
      (s.prepare << "UPDATE t_ai_leader_leases SET renewals = renewals + 1 "
                    "WHERE name = :n AND holder = :h AND fencing = :f",
       soci::use(name), soci::use(holder), soci::use(f));
  if (Execute(u) != 1) {
    return absl::FailedPreconditionError(absl::StrCat(
        "this keypool replica no longer holds the leader lease (fencing ", fencing,
        " was superseded); its write is refused"));
  }
  return absl::OkStatus();
}

void LeaderElection::Start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] { Loop(); });
}

void LeaderElection::Stop(bool release) {
  if (thread_.joinable()) {
    stop_.Notify();
    thread_.join();
  }
  if (release) {
    if (absl::Status st = Release(); !st.ok()) {
      spdlog::warn("msg=\"could not release the leader lease; it runs out by itself\" "
                   "error=\"{}\"",
                   std::string(st.message()));
    }
  }
}

void LeaderElection::Loop() {
  bool failing = false;
  while (!stop_.HasBeenNotified()) {
    absl::Status st = Step();
    if (!st.ok() && !failing) {
      spdlog::error("msg=\"leader election cannot reach the database\" election=\"{}\" "
                    "active={} error=\"{}\"",
                    options_.name, IsActive(), std::string(st.message()));
    } else if (st.ok() && failing) {
      spdlog::info("msg=\"leader election reaches the database again\" election=\"{}\"",
                   options_.name);
    }
    failing = !st.ok();
    if (after_step_) after_step_();
    const absl::Duration wait = fencing_.load(std::memory_order_acquire) != 0
                                    ? options_.renew_interval
                                    : options_.poll_interval;
    stop_.WaitForNotificationWithTimeout(wait);
  }
}

}  // namespace aigw::keypool
