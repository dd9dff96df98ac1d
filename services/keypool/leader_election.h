#ifndef AIGW_SERVICES_KEYPOOL_LEADER_ELECTION_H_
#define AIGW_SERVICES_KEYPOOL_LEADER_ELECTION_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "libs/common/clock.h"
#include "libs/db/database.h"

namespace soci {
class session;
}  // namespace soci

namespace aigw::keypool {

struct LeaderElectionOptions {
  // The election (row of t_ai_leader_leases).
  std::string name = "keypool";
  // This process, as the row and the standby's errors name it. Unique per
  // process (a restarted process is a new holder).
  std::string holder;
  // A holder that has not renewed for this long may be replaced: the most a
  // standby waits after the active one died. The holder itself stops
  // granting `kSafetyMargin` before its last renewal's start + lease.
  absl::Duration lease = absl::Milliseconds(600);
  // The longest lease the holder announces when its renewals are slow. A
  // renewal that takes longer than the lease left makes the holder refuse
  // calls until it comes back, so the holder announces in the row a lease
  // long enough for the slowest of its recent renewals (2.5 times it, plus
  // the renew interval and the margin), never shorter than `lease` nor
  // longer than this; a standby waits for the lease the row announces. The
  // cost: after the holder dies on a slow database the takeover takes that
  // long. Equal to `lease`: never lengthened.
  absl::Duration max_lease = absl::Seconds(5);
  // How often the holder renews (well under `lease`).
  absl::Duration renew_interval = absl::Milliseconds(150);
  // How often a standby reads the row.
  absl::Duration poll_interval = absl::Milliseconds(100);
  // While the database cannot be reached, the holder keeps its role for this
  // long after its last renewal (nobody can take over through a database
  // nobody reaches). Zero: it steps down when its lease runs out, like any
  // holder that cannot renew. See deploy/README.md for the trade-off.
  absl::Duration outage_hold = absl::Seconds(60);
  // Decides validity and takeover; tests move it by hand.
  Clock* clock = Clock::Real();
};

// What the row said when last read.
struct LeaderLeaseRow {
  std::string holder;
  int64_t fencing = 0;
  int64_t renewals = 0;
  int64_t expires_at_ms = 0;
  // The lease the holder announced (0: a holder that announces none; the
  // standby's own `lease` applies).
  int64_t lease_ms = 0;
};

// One process's part in an active/standby election through a row of the
// shared database (SQLite or MySQL/MariaDB): one holder at a time, each
// holder with a fencing number larger than every earlier one.
//
//   - A standby reads the row every poll and takes it over with a
//     compare-and-set UPDATE on the (fencing, renewals) it read, bumping the
//     fencing number: when the row is free (released), or when it has seen
//     the row unchanged for a whole `lease` of its own clock. Judging by what
//     it observed rather than by the holder's timestamp makes the takeover
//     independent of clock offsets between replicas, and after a database
//     outage the standby waits a whole lease again, so a holder that is
//     still alive renews first.
//   - The holder renews by bumping `renewals` where holder and fencing are
//     still its own, announcing the lease it holds for (`lease`, longer
//     while its renewals are slow: see `max_lease`). It is active until the
//     start of its last successful renewal + that lease - kSafetyMargin:
//     since a standby can only have seen that renewal after it started, and
//     waits the lease the row announced, it takes over no earlier, so two
//     holders never grant at once (given clocks that run at the same rate). A
//     renewal that finds the row taken (fencing moved on) deposes it at
//     once; so does a lapse of its own validity (a holder that was frozen
//     comes back inactive: IsActive reads the clock on every call).
//   - Writes made on behalf of the holder take `Fence` first in their
//     transaction: it fails once the fencing number moved on, and on MySQL
//     it locks the row so a takeover waits for the write to commit.
//
// IsActive is a lock-free read for every lease. Step does one round of
// database work; Start runs it on a thread of its own. Thread-safe.
class LeaderElection {
 public:
  // Called on the election's thread when the role changes: (true, fencing)
  // after winning the row, (false, 0) after losing it. A callback that takes
  // its time delays the next renewal (keep it under `lease`).
  using RoleCallback = std::function<void(bool active, int64_t fencing)>;

  static constexpr absl::Duration kSafetyMargin = absl::Milliseconds(50);

  // `db` is not owned and must outlive this. INVALID_ARGUMENT for an empty
  // holder or name, or intervals that do not fit the lease.
  static absl::StatusOr<std::unique_ptr<LeaderElection>> Create(db::Database* db,
                                                                LeaderElectionOptions options);
  ~LeaderElection();

  // Set before the first Step. Every role change calls it, on the thread
  // that made the change (Step's, Release's).
  void set_on_role_change(RoleCallback cb) { on_role_change_ = std::move(cb); }
  // Set before Start: called on the election's thread after every step.
  void set_after_step(std::function<void()> cb) { after_step_ = std::move(cb); }
  // Set before Start: called after every renewal the holder attempted, with
  // how long the database took and for how long the holder could not grant
  // meanwhile (its validity ran out before the renewal came back; zero when
  // it did not).
  using RenewalObserver = std::function<void(absl::Duration took, absl::Duration lapsed)>;
  void set_on_renewal(RenewalObserver cb) { on_renewal_ = std::move(cb); }

  // One round: the holder renews; a standby reads the row and takes it over
  // when it may. Returns the database's error, if any (the role is then as
  // described for outages above).
  absl::Status Step();

  // Whether this process holds the row now and may grant.
  bool IsActive() const {
    return fencing_.load(std::memory_order_acquire) != 0 &&
           absl::ToUnixNanos(options_.clock->Now()) <
               valid_until_ns_.load(std::memory_order_acquire);
  }
  // The lease the holder announces in its next renewal (`lease` unless its
  // recent renewals were slow).
  absl::Duration AnnouncedLease() const;
  // The fencing number held, 0 when standby (whether or not still valid).
  int64_t fencing() const { return fencing_.load(std::memory_order_acquire); }
  // The holder the row named when last read ("" if free or never read).
  std::string last_seen_holder() const;

  // Gives the row up now (holder emptied): a standby takes over at its next
  // poll. A no-op when not holding it.
  absl::Status Release();

  // Inside a write transaction made for the holder: FAILED_PRECONDITION
  // when this process no longer holds `fencing` (the write must roll back).
  absl::Status Fence(soci::session& s, int64_t fencing);

  // Runs Step every renew/poll interval until Stop.
  void Start();
  // Stops the thread; with `release`, gives the row up after it.
  void Stop(bool release);

 private:
  LeaderElection(db::Database* db, LeaderElectionOptions options);

  absl::Status EnsureRow();
  absl::Status StepActive();
  absl::Status StepStandby();
  // After a renewal that started at `start` announcing `lease`.
  void ObserveRenewal(absl::Time start, absl::Duration lease)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(step_mu_);
  absl::Duration AnnouncedLeaseLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(step_mu_);
  absl::StatusOr<LeaderLeaseRow> ReadRow();
  void BecomeActive(int64_t fencing, absl::Time since);
  void BecomeStandby(absl::string_view why);
  void Loop();

  db::Database* const db_;
  const LeaderElectionOptions options_;
  RoleCallback on_role_change_;
  std::function<void()> after_step_;
  RenewalObserver on_renewal_;

  std::atomic<int64_t> fencing_{0};
  std::atomic<int64_t> valid_until_ns_{0};

  // Step's own state (one Step at a time).
  mutable absl::Mutex step_mu_;
  bool row_ensured_ ABSL_GUARDED_BY(step_mu_) = false;
  absl::Time last_renewed_ ABSL_GUARDED_BY(step_mu_) = absl::InfinitePast();
  // How long the holder's last renewals took (a ring), for the lease it
  // announces.
  static constexpr int kRenewalsRemembered = 32;
  absl::Duration recent_renewals_[kRenewalsRemembered] ABSL_GUARDED_BY(step_mu_) = {};
  int next_renewal_slot_ ABSL_GUARDED_BY(step_mu_) = 0;
  // The standby's observation: the row's version and when this process first
  // saw it (reset by a failed read, so an outage restarts the wait).
  bool observed_ ABSL_GUARDED_BY(step_mu_) = false;
  int64_t observed_fencing_ ABSL_GUARDED_BY(step_mu_) = 0;
  int64_t observed_renewals_ ABSL_GUARDED_BY(step_mu_) = 0;
  absl::Time observed_at_ ABSL_GUARDED_BY(step_mu_) = absl::InfinitePast();

  mutable absl::Mutex seen_mu_;
  std::string last_seen_holder_ ABSL_GUARDED_BY(seen_mu_);

  absl::Notification stop_;
  std::thread thread_;
};

// "<host>-<pid>-<random>": a holder name unique to this process.
std::string DefaultHolderName();

}  // namespace aigw::keypool

#endif  // AIGW_SERVICES_KEYPOOL_LEADER_ELECTION_H_
