#ifndef AIGW_SERVICES_KEYPOOL_KEY_ENTRY_H_
#define AIGW_SERVICES_KEYPOOL_KEY_ENTRY_H_

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "aigw/v1/common.pb.h"
#include "services/keypool/allotment.h"
#include "services/keypool/day_calendar.h"
#include "services/keypool/key_pool_options.h"
#include "services/keypool/pool_snapshot.h"
#include "services/keypool/rate_window.h"

namespace aigw::keypool {

// The parts of a key a lease hands out. Immutable and shared, so a lease
// copies a pointer under the lock, not strings.
struct KeyIdentity {
  int64_t id = 0;
  int64_t provider_id = 0;
  std::string key_name;
  std::string secret;
  std::string masked;
};

// The live state of one key, as ListKeyStates and the metrics show it.
struct KeyStateView {
  int64_t key_id = 0;
  int64_t provider_id = 0;
  std::string provider_code;
  std::string key_name;
  std::string masked_key;
  // normal | rate_limited | invalid | disabled | cooling
  std::string status;
  int priority = 0;
  bool is_active = true;
  int64_t requests_current_minute = 0;
  int64_t tokens_current_minute = 0;
  int64_t requests_today = 0;
  int64_t tokens_today = 0;
  int64_t rate_limit_rpm = 0;
  int64_t rate_limit_tpm = 0;
  int64_t rate_limit_rpd = 0;
  // InfinitePast when not cooling down.
  absl::Time cooldown_until = absl::InfinitePast();
  absl::Time last_used_at = absl::InfinitePast();
  std::string last_error;
};

// How one leased call ended, as ReportUsage tells it.
struct UsageReport {
  std::string lease_id;
  aigw::v1::Outcome outcome = aigw::v1::OUTCOME_UNSPECIFIED;
  int http_status = 0;
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  int64_t total_tokens = 0;
  int64_t retry_after_ms = 0;
  std::string error_message;
};

// One key's configuration, rate window, daily counters, health and
// write-back bookkeeping. Not thread-safe: guarded by its provider's mutex.
class KeyEntry {
 public:
  explicit KeyEntry(int64_t id) : id_(id) {}
  KeyEntry(const KeyEntry&) = delete;
  KeyEntry& operator=(const KeyEntry&) = delete;

  int64_t id() const { return id_; }
  int priority() const { return priority_; }
  // Limits; 0 = unlimited.
  int64_t rpm() const { return rpm_; }
  int64_t tpm() const { return tpm_; }
  int64_t rpd() const { return rpd_; }
  absl::Time last_used_at() const { return last_used_at_; }
  const std::shared_ptr<const KeyIdentity>& identity() const { return identity_; }
  const std::string& secret_error() const { return secret_error_; }

  // Takes a database row. A `fresh` key (new to this process) also takes its
  // status, cooldown, counters (when counts_date is `today`) and last use
  // from the row; a known key keeps its live ones, except that a status
  // someone else changed in the database wins (an admin re-validating or
  // disabling a key), and a new secret on an invalid key makes it normal.
  void ApplyRow(const KeyRow& row, absl::CivilDay today, bool fresh);

  // Active, decryptable, not invalid or disabled, not cooling down: limits
  // aside, the key may be handed out at `now`.
  bool Healthy(absl::Time now) const {
    return is_active_ && secret_error_.empty() &&
           (status_ == KeyStatus::kNormal || status_ == KeyStatus::kRateLimited) &&
           now >= cooldown_until_ && now >= breaker_until_;
  }

  // What gateways' allotments hold back of this key's limits (allotment.h):
  // the limits a lease is checked against are the key's less these. Set by
  // the pool whenever its allotments change.
  const HeldBack& held_back() const { return held_back_; }
  void set_held_back(const HeldBack& held) { held_back_ = held; }
  // The key's limits, what is in use at `now` and what is held back: what
  // an allotment is cut from.
  KeyBudget Budget(absl::Time now, absl::CivilDay today);
  // Counts what a gateway spent of a settled allotment: `requests` requests
  // carrying `tokens` at `now` (no earlier than they were made), in the
  // window and the day.
  void CountAllotted(absl::Time now, absl::CivilDay today, int64_t requests, int64_t tokens);

  // Whether one more request carrying `tokens` fits RPM, TPM and RPD (each
  // less what allotments hold back).
  bool Fits(absl::Time now, absl::CivilDay today, int64_t tokens);
  // Whether it fits and leaves the key under half of each limit: the test a
  // prefetched lease must pass, so keys near a limit are only leased on need.
  bool FitsWithHeadroom(absl::Time now, absl::CivilDay today, int64_t tokens);

  // Counts a lease of `tokens` at `now`; returns the rate-window handle.
  uint64_t Record(absl::Time now, absl::CivilDay today, int64_t tokens);

  // A lower bound on when the key could take any request (even one of zero
  // tokens): InfiniteFuture while inactive, invalid or disabled; otherwise
  // the end of its cooldown, of a full RPM window, of a TPM window already
  // over its limit, of a used-up day. At or before `now` when not blocked.
  // Only time can lift these blocks (or a reload), so a key may be set aside
  // until then without being looked at.
  absl::Time BlockedUntil(absl::Time now, DayCalendar& calendar);

  // The earliest time the key could be leased for `tokens` if nothing else
  // happened; InfiniteFuture when it never could (invalid, disabled,
  // inactive, or `tokens` above its TPM).
  absl::Time EarliestAvailable(absl::Time now, DayCalendar& calendar, int64_t tokens);

  // Corrects the tokens counted at lease time by `delta` (real - estimate).
  void Reconcile(uint64_t window_handle, absl::CivilDay lease_day, int64_t delta);

  // Gives back a lease that was never used: its request and `tokens` leave
  // the window and (when counted today) the day.
  void Release(uint64_t window_handle, absl::CivilDay lease_day, int64_t tokens);

  // Key health from an outcome: RATE_LIMITED -> cooldown, AUTH_FAILED ->
  // invalid, PERMISSION_DENIED -> only the last error, repeated 5xx/network
  // errors -> circuit breaker.
  void ApplyOutcome(const UsageReport& report, absl::Time leased_at, absl::Time now,
                    const KeyPoolOptions& options);

  KeyStateView View(absl::Time now, absl::CivilDay today);

  // The rate window's events at `now` in slices (see RateWindow::Slices).
  std::vector<RateWindow::Slice> WindowSlices(absl::Time now, absl::Duration granularity);
  // Counts saved events in the rate window (a takeover, oldest first).
  void SeedWindow(const std::vector<RateWindow::Slice>& slices);

  // Moves the daily counters to `today` when the day has changed.
  void RollDay(absl::CivilDay today);

  // Fills `out` with what must be written back, if anything, and clears the
  // dirty marks. A 429 cooldown that has ended turns the status back to
  // normal here.
  bool TakeWrite(absl::Time now, absl::CivilDay today, KeyWrite* out);
  // After the write: success records the status now in the database; failure
  // marks the key dirty again.
  void AckWrite(const KeyWrite& write, bool ok);

  // Intrusive links of the provider's per-priority LRU lists. A key that is
  // blocked for a while is `parked`: out of its list until BlockedUntil.
  KeyEntry* lru_prev = nullptr;
  KeyEntry* lru_next = nullptr;
  int lru_group = -1;
  bool parked = false;
  // Tells a parking's heap entry from those of earlier parkings.
  uint64_t park_generation = 0;

 private:
  void SetError(const UsageReport& report, absl::Time now);
  void CloseBreaker();

  const int64_t id_;
  std::shared_ptr<const KeyIdentity> identity_;
  std::string secret_error_;
  int priority_ = 0;
  int64_t rpm_ = 0;
  int64_t tpm_ = 0;
  int64_t rpd_ = 0;
  bool is_active_ = true;

  KeyStatus status_ = KeyStatus::kNormal;
  // The status text the database holds as far as this process knows (read
  // or written by it); a different value on reload is someone else's change.
  std::string db_status_seen_;
  absl::Time cooldown_until_ = absl::InfinitePast();

  // Circuit breaker.
  int failures_ = 0;
  bool half_open_ = false;
  absl::Time breaker_until_ = absl::InfinitePast();
  absl::Time breaker_opened_at_ = absl::InfinitePast();

  // The limits less what allotments hold back (0 = unlimited).
  int64_t rpm_left() const { return LimitLeft(rpm_, held_back_.requests); }
  int64_t tpm_left() const { return LimitLeft(tpm_, held_back_.tokens); }
  int64_t rpd_left() const { return LimitLeft(rpd_, held_back_.day_requests); }
  static int64_t LimitLeft(int64_t limit, int64_t held) {
    // Allotments hold back at most half of a limit (ShareOf); never 0,
    // which would read as unlimited.
    return limit > 0 ? std::max<int64_t>(1, limit - held) : 0;
  }

  RateWindow window_;
  HeldBack held_back_;
  absl::CivilDay day_;
  int64_t requests_today_ = 0;
  int64_t tokens_today_ = 0;
  absl::Time last_used_at_ = absl::InfinitePast();
  std::string last_error_;
  absl::Time last_error_at_ = absl::InfinitePast();

  bool counters_dirty_ = false;
  bool status_dirty_ = false;
  bool error_dirty_ = false;
};

}  // namespace aigw::keypool

#endif  // AIGW_SERVICES_KEYPOOL_KEY_ENTRY_H_
