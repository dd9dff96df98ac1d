#ifndef AIGW_SERVICES_KEYPOOL_LEASE_REGISTRY_H_
#define AIGW_SERVICES_KEYPOOL_LEASE_REGISTRY_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"

namespace aigw::keypool {

// What ReportUsage needs to know about a lease.
struct LeaseRecord {
  int64_t key_id = 0;
  // RateWindow handle of the lease's event, to reconcile its tokens.
  uint64_t window_handle = 0;
  int64_t estimated_tokens = 0;
  // The calendar day the lease was counted on.
  absl::CivilDay day;
  absl::Time leased_at;
};

// The leases handed out and not yet reported.
//
// A lease is reported once. Reporting it again while the lease timeout has
// not passed since it was issued is an idempotent no-op (kAlreadyReported),
// so a client may safely retry a ReportUsage whose answer it lost; nothing is
// counted twice. An id never issued by this process, or one whose lease
// timeout has passed (reported or not), is kUnknown. A lease never reported
// expires after the timeout and its estimate stays counted.
//
// Memory holds only unreported leases plus one checkpoint per Expire call:
// reported leases are recognised from a sequence-number watermark, not kept.
// Thread-safe; leases are sharded so concurrent calls rarely meet.
class LeaseRegistry {
 public:
  enum class Claim { kClaimed, kAlreadyReported, kUnknown };

  LeaseRegistry();

  // Registers a lease; returns its id ("<process instance>-<sequence>").
  std::string Issue(const LeaseRecord& record);

  // Takes the lease out for reporting: kClaimed fills `out`.
  Claim ClaimForReport(absl::string_view lease_id, LeaseRecord* out);

  // Forgets leases issued at or before now - timeout. Returns how many of
  // them were never reported. Called periodically; expiry is as fine as the
  // call interval.
  int64_t Expire(absl::Time now, absl::Duration timeout);

  int64_t outstanding() const { return outstanding_.load(std::memory_order_relaxed); }

 private:
  static constexpr int kShards = 16;
  struct Shard {
    absl::Mutex mu;
    absl::flat_hash_map<uint64_t, LeaseRecord> live ABSL_GUARDED_BY(mu);
    // Expired unreported leases above the watermark, so a late report of one
    // is kUnknown rather than kAlreadyReported.
    absl::flat_hash_set<uint64_t> expired ABSL_GUARDED_BY(mu);
  };

  bool ParseSequence(absl::string_view lease_id, uint64_t* seq) const;

  std::string prefix_;
  std::atomic<uint64_t> next_seq_{0};
  std::atomic<int64_t> outstanding_{0};
  // Every lease with a sequence <= watermark_ was issued at least one lease
  // timeout ago.
  std::atomic<uint64_t> watermark_{0};
  absl::Mutex checkpoints_mu_;
  // (highest sequence issued, when) at each Expire call.
  std::deque<std::pair<uint64_t, absl::Time>> checkpoints_ ABSL_GUARDED_BY(checkpoints_mu_);
  std::array<Shard, kShards> shards_;
};

}  // namespace aigw::keypool

#endif  // AIGW_SERVICES_KEYPOOL_LEASE_REGISTRY_H_
