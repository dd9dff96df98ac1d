#ifndef AIGW_SERVICES_KEYPOOL_KEY_POOL_H_
#define AIGW_SERVICES_KEYPOOL_KEY_POOL_H_

#include <array>
#include <atomic>
#include <limits>
#include <optional>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "libs/common/clock.h"
#include "services/keypool/allotment.h"
#include "services/keypool/day_calendar.h"
#include "services/keypool/key_entry.h"
#include "services/keypool/key_pool_options.h"
#include "services/keypool/keypool_metrics.h"
#include "services/keypool/lease_registry.h"
#include "services/keypool/pool_snapshot.h"

namespace aigw::keypool {

// A provider as a lease hands it out. Immutable and shared.
struct ProviderInfo {
  int64_t id = 0;
  std::string code;
  std::string base_url;
  std::string api_format;
};

// A granted lease.
struct LeaseGrant {
  std::string lease_id;
  std::shared_ptr<const KeyIdentity> key;
  std::shared_ptr<const ProviderInfo> provider;
  // The provider's lru policy handed out a key past its limits.
  bool over_limit = false;
};

// Leases a gateway keeps ready (LeaseKeyRequest.prefetch and .refill).
// Up to `count` (at most kMaxCount) more leases go into `*out`, each
// counted like the first, each from a key that stays under half of each of
// its limits (KeyEntry::FitsWithHeadroom), the usual order rotating them over
// the keys; none when the first lease was over a limit. A `refill` holds the
// first lease to the same rule (no call waits for it) and is not counted as
// an exhausted lease when none is free.
struct Prefetch {
  static constexpr int kMaxCount = 64;
  int count = 0;
  bool refill = false;
  std::vector<LeaseGrant>* out = nullptr;
};

// An allotment as a gateway receives it.
struct AllotmentGrant {
  Allotment allotment;
  std::shared_ptr<const KeyIdentity> key;
};

// What a gateway says of an allotment it holds (AllotKeysRequest.held):
// what it has spent of it since it was granted.
struct AllotmentUse {
  std::string id;
  int64_t requests = 0;
  int64_t tokens = 0;
};

// One AllotKeys worked out in memory (KeyPool::PlanAllotments), to be
// stored (AllotmentStore::Commit) before it is answered, then confirmed or
// undone. The new grants are held back from the plan on; extensions and
// settlements change the pool only when confirmed, so a plan that cannot be
// stored leaves every allotment the gateway holds as it was.
struct AllotmentPlan {
  std::shared_ptr<const ProviderInfo> provider;
  std::vector<AllotmentGrant> granted;
  // With their new use_until, counted_until and day_end.
  std::vector<AllotmentGrant> extended;
  // Used allotments, dropped and counted into their keys when confirmed.
  std::vector<Allotment> settled;
  std::vector<AllotmentUse> settled_use;
};

// One key's rate window in slices (KeyPool::CollectWindows / SeedWindows).
struct KeyWindow {
  int64_t key_id = 0;
  std::vector<RateWindow::Slice> slices;
};

// The in-memory key pool: selection, exact rate windows, daily counters and
// key health for every provider. No I/O: the KeyStore fills it (Apply) and
// writes back what CollectWrites gives.
//
// Selection (DESIGN.md "Key selection"): healthy keys of the provider;
// highest priority first; least recently used first within a priority; the
// first key where one more request and the estimated tokens fit RPM, TPM
// (sliding 60 s) and RPD (calendar day in options.time_zone) wins.
// Each priority keeps its keys in a list ordered by last use, and a leased
// key moves to the list's end, so the usual lease looks at one key.
//
// Thread-safe and exact under concurrency: each provider's keys are guarded
// by that provider's mutex, held across the check and the count.
class KeyPool {
 public:
  KeyPool(Clock* clock, KeyPoolOptions options, KeyPoolMetrics* metrics = nullptr);
  KeyPool(const KeyPool&) = delete;
  KeyPool& operator=(const KeyPool&) = delete;

  // Serves `snapshot` from now on. Keys that stay keep their live state
  // (rate windows, counters, health, LRU order); see KeyEntry::ApplyRow.
  // Returns the number of keys in the pool.
  int Apply(const PoolSnapshot& snapshot);

  // Leases a key. Errors: INVALID_ARGUMENT (empty provider, negative
  // estimate), NOT_FOUND (unknown or inactive provider), RESOURCE_EXHAUSTED
  // "No available API keys for provider <code>" with `*retry_after` set to
  // when a key is expected to be free (never later than the first key
  // actually is; InfiniteDuration when no key will be without an admin's
  // action or a smaller estimate).
  //
  // With `prefetch` (see Prefetch), more leases for a gateway to keep ready.
  absl::StatusOr<LeaseGrant> Lease(absl::string_view provider_code, int64_t estimated_tokens,
                                   absl::Span<const int64_t> exclude_key_ids,
                                   absl::Duration* retry_after = nullptr,
                                   const Prefetch* prefetch = nullptr);

  // Reconciles a lease with its outcome. Errors: INVALID_ARGUMENT (no lease
  // id, no outcome, negative counts), NOT_FOUND (lease unknown or expired).
  // A repeated report of a lease within the lease timeout is OK and changes
  // nothing (see LeaseRegistry).
  //
  // Tokens: the real count (total_tokens, else prompt + completion) replaces
  // the estimate in the window and the day. A report without counts keeps
  // the estimate when the call may have been billed (SUCCESS, NETWORK_ERROR)
  // and releases it when the provider refused it (RATE_LIMITED, AUTH_FAILED,
  // PERMISSION_DENIED, SERVER_ERROR, CLIENT_ERROR). RELEASED gives the lease's request and
  // estimate back and leaves the key's health alone.
  absl::Status Report(const UsageReport& report);

  // Live state of the keys of one provider (empty code: every provider),
  // ordered by provider code, then priority (highest first), then key id.
  // NOT_FOUND for an unknown provider code.
  absl::StatusOr<std::vector<KeyStateView>> ListKeyStates(absl::string_view provider_code);

  // What changed since the last call, to be written back; see KeyEntry.
  std::vector<KeyWrite> CollectWrites();
  void AckWrites(const std::vector<KeyWrite>& writes, bool ok);

  // Every key's rate window now, in slices of `granularity`, for a standby
  // to take over with (KeyWindowStore).
  std::vector<KeyWindow> CollectWindows(absl::Duration granularity);
  // Counts saved events in the keys' rate windows (after a fresh load,
  // before any lease); keys not in the pool are skipped. A key whose events
  // fill a limit is set aside until they leave the window, like any other.
  void SeedWindows(const std::vector<KeyWindow>& windows);

  // Allotments (allotment.h). PlanAllotments answers an AllotKeys of
  // `holder` for a provider: each allotment in `held` that the holder has
  // used is settled, each unused one extended (while its key is healthy and
  // its share still within the policy's), and every other healthy key of
  // the provider with room gets a new one (ShareOf). Allotments of `held`
  // unknown to the pool, or another holder's, are ignored (the gateway
  // drops what the answer does not name). Errors: INVALID_ARGUMENT (empty
  // provider or holder, negative use), NOT_FOUND (unknown or disabled
  // provider). With `give_back` (a gateway stopping) every allotment of
  // `held` is settled, used or not, and none is granted.
  absl::StatusOr<AllotmentPlan> PlanAllotments(absl::string_view provider_code,
                                               absl::string_view holder,
                                               absl::Span<const AllotmentUse> held,
                                               bool give_back = false);
  // After the plan was stored: extensions take effect, settled allotments
  // leave and what was spent of them is counted into their keys.
  void ConfirmAllotments(const AllotmentPlan& plan);
  // The plan could not be stored: its new grants are dropped.
  void UndoAllotments(const AllotmentPlan& plan);
  // Takes over the allotments a predecessor stored (after a fresh load):
  // they replace the pool's own; lapsed ones are skipped.
  void ReplaceAllotments(const std::vector<Allotment>& allotments);
  // Forgets allotments that hold nothing back any more; cheap when none
  // has changed since the last call. Returns how many are left.
  int64_t SweepAllotments();
  // Allotments known now (tests, operators).
  std::vector<Allotment> Allotments();

  // Forgets leases older than the lease timeout; returns how many were never
  // reported.
  int64_t ExpireLeases();
  int64_t outstanding_leases() const { return leases_.outstanding(); }

  const KeyPoolOptions& options() const { return options_; }
  Clock* clock() const { return clock_; }

 private:
  struct PriorityGroup {
    int priority = 0;
    KeyEntry* head = nullptr;
    KeyEntry* tail = nullptr;
  };
  struct ProviderState {
    std::shared_ptr<const ProviderInfo> info;
    bool is_active = true;
    KeyPolicy policy = KeyPolicy::kStrict;
    prometheus::Counter* leases_ok = nullptr;
    prometheus::Counter* leases_over_limit = nullptr;
    prometheus::Counter* leases_exhausted = nullptr;
    // aigw_keypool_reports_total by Outcome value.
    std::array<prometheus::Counter*, aigw::v1::Outcome_ARRAYSIZE> reports{};

    absl::Mutex mu;
    std::vector<std::unique_ptr<KeyEntry>> keys ABSL_GUARDED_BY(mu);
    // Highest priority first.
    std::vector<PriorityGroup> groups ABSL_GUARDED_BY(mu);
    // Keys blocked until a known time, out of their lists meanwhile so a
    // lease does not look at them: a min-heap on that time.
    struct Parking {
      absl::Time until;
      KeyEntry* key;
      uint64_t generation;  // stale when the key was woken or parked again
    };
    std::vector<Parking> parked ABSL_GUARDED_BY(mu);
    DayCalendar calendar ABSL_GUARDED_BY(mu);
  };
  struct KeyRef {
    ProviderState* provider;
    KeyEntry* entry;
  };

  static void MoveToTail(ProviderState& p, KeyEntry* e) ABSL_EXCLUSIVE_LOCKS_REQUIRED(p.mu);
  static void Unlink(ProviderState& p, KeyEntry* e) ABSL_EXCLUSIVE_LOCKS_REQUIRED(p.mu);
  static void Park(ProviderState& p, KeyEntry* e, absl::Time until)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(p.mu);
  static void UnparkDue(ProviderState& p, absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(p.mu);
  // Puts a parked key back into its list now.
  static void Wake(ProviderState& p, KeyEntry* e) ABSL_EXCLUSIVE_LOCKS_REQUIRED(p.mu);
  static void BuildGroups(ProviderState& p, const absl::flat_hash_map<int64_t, int64_t>& rank)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(p.mu);
  // The first key in selection order, not excluded, that passes `fits`;
  // keys found blocked on the way are parked.
  template <typename FitsFn>
  static KeyEntry* Select(ProviderState& p, absl::Time now, absl::Span<const int64_t> exclude,
                          FitsFn fits) ABSL_EXCLUSIVE_LOCKS_REQUIRED(p.mu);
  absl::Duration RetryAfter(ProviderState& p, absl::Time now, int64_t tokens,
                            absl::Span<const int64_t> exclude) ABSL_EXCLUSIVE_LOCKS_REQUIRED(p.mu);
  void CountLease(absl::string_view provider, absl::string_view result);
  // Sets every key's held-back from the allotments at `now` (waking keys
  // that were parked and now hold back less) and when that next changes.
  void RecountHeldBack(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A new allotment of `e` for `holder`, or nullopt when it has no room.
  std::optional<Allotment> CutAllotment(ProviderState& p, KeyEntry* e, absl::string_view holder,
                                        absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(p.mu);
  // Whether an unused allotment may be extended: its key healthy, its share
  // within the policy's cap.
  bool MayExtend(KeyEntry* e, const Allotment& a, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // use_until, counted_until and day_end of an allotment made or extended
  // at `now`.
  void SetAllotmentTimes(ProviderState& p, absl::Time now, Allotment* a)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(p.mu);
  // The provider a lease names; NOT_FOUND (counted) when unknown or disabled.
  absl::StatusOr<ProviderState*> ActiveProvider(absl::string_view code)
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // INVALID_ARGUMENT for an empty provider or a negative estimate.
  absl::Status CheckLeaseArgs(absl::string_view provider_code, int64_t estimated_tokens);
  // The policy lru's pick past every limit: the least recently used healthy
  // key of any priority (the higher priority at a tie), parked ones included.
  static KeyEntry* LeastRecentlyUsedHealthy(ProviderState& p, absl::Time now,
                                            absl::Span<const int64_t> exclude)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(p.mu);
  // Up to prefetch.count more leases like `first` (same estimate and day),
  // each of a key with headroom, into prefetch.out; their records (no lease
  // ids yet) into `records`.
  static void LeaseMore(ProviderState& p, absl::Time now, const LeaseRecord& first,
                        absl::Span<const int64_t> exclude, const Prefetch& prefetch,
                        std::vector<LeaseRecord>* records) ABSL_EXCLUSIVE_LOCKS_REQUIRED(p.mu);
  // Gives the last records.size() grants of `out` their lease ids.
  void IssuePrefetched(const std::vector<LeaseRecord>& records, prometheus::Counter* counter,
                       std::vector<LeaseGrant>* out);
  std::unique_ptr<ProviderState> NewProviderState(const ProviderRow& row);
  // Empties the pool into `old`, with each key's place in selection order in
  // `rank` (parked keys last).
  void TakeKeysOut(absl::flat_hash_map<int64_t, std::unique_ptr<KeyEntry>>* old,
                   absl::flat_hash_map<int64_t, int64_t>* rank) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  Clock* const clock_;
  const KeyPoolOptions options_;
  KeyPoolMetrics* const metrics_;
  LeaseRegistry leases_;

  // Writers: Apply only. Every other call reads the maps under a reader lock
  // and then takes one provider's mutex.
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::unique_ptr<ProviderState>> providers_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<int64_t, KeyRef> keys_ ABSL_GUARDED_BY(mu_);
  // Every allotment by id. Changed under the writer lock only (rarely: an
  // AllotKeys per gateway and provider every few seconds), so a lease reads
  // each key's held-back under its provider's mutex as before.
  absl::flat_hash_map<std::string, Allotment> allotments_ ABSL_GUARDED_BY(mu_);
  // When some allotment next holds back less (Unix ns); SweepAllotments
  // takes the writer lock only then.
  std::atomic<int64_t> next_allotment_change_ns_{std::numeric_limits<int64_t>::max()};
  std::string allotment_id_prefix_;
  uint64_t allotment_seq_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace aigw::keypool

#endif  // AIGW_SERVICES_KEYPOOL_KEY_POOL_H_
