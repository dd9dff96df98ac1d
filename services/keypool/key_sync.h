#ifndef AIGW_SERVICES_KEYPOOL_KEY_SYNC_H_
#define AIGW_SERVICES_KEYPOOL_KEY_SYNC_H_

#include <deque>
#include <functional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "libs/common/periodic_task.h"
#include "services/keypool/key_pool.h"
#include "services/keypool/key_store.h"
#include "services/keypool/keypool_metrics.h"

namespace aigw::keypool {

struct KeySyncOptions {
  // How often the keys are re-read to pick up changes made straight in the
  // database; zero turns polling off (Reload still works).
  absl::Duration poll_interval = absl::Seconds(10);
  // How often changed counters, last use and status are written back.
  absl::Duration flush_interval = absl::Seconds(1);
  // How often leases expire and the per-key gauges are refreshed.
  absl::Duration upkeep_interval = absl::Seconds(1);
};

// Keeps the in-memory pool and the database in step, off the lease path:
// three background chores that re-read the keys (poll), write back the
// counters in batches (flush), and expire leases and refresh the per-key
// metrics (upkeep). All database work is serialised, so a reload never reads
// the table between a batch being taken from the pool and its being written.
class KeySync {
 public:
  using ReloadDone = std::function<void(absl::StatusOr<int>)>;

  // None of the pointers is owned; `metrics` may be null.
  KeySync(KeyPool* pool, KeyStore* store, KeyPoolMetrics* metrics, KeySyncOptions options);
  ~KeySync();

  // Re-reads providers and keys and applies them now; returns the number of
  // keys in the pool. On error the pool keeps what it had.
  absl::StatusOr<int> Reload();
  // The same, but the pool first forgets every key's live state and takes
  // it from the rows, as a process starting now would: what a standby does
  // when it takes over (the counters are the last the active one wrote).
  absl::StatusOr<int> ReloadFresh();

  // Before Start: writes back only while `gate` says so (the active replica
  // of a pair); a standby's pool is stale and must never be written.
  void set_write_gate(std::function<bool()> gate) { write_gate_ = std::move(gate); }
  // Before Start: more to write back with every flush, after the counters
  // (KeyWindowStore::Save); its error is the flush's when they succeeded.
  void set_flush_hook(std::function<absl::Status()> hook) { flush_hook_ = std::move(hook); }
  // Writes back what changed now. On error the changes stay pending.
  absl::Status Flush();
  // Expires leases and refreshes the per-key gauges now (a standby, whose
  // write gate is closed, shows none).
  void Upkeep();

  // Runs a Reload on the poll chore's thread (callers on gRPC threads must
  // not block on the database) and calls `done` there. Before Start or after
  // Stop it runs inline.
  void ReloadAsync(ReloadDone done);

  // Starts the chores; the first upkeep runs at once.
  void Start();
  // Stops the chores, answers pending reloads, and makes a final Flush.
  void Stop();

 private:
  // The chores: a reload (answering those asked for), a logged flush.
  void Poll();
  void FlushAndLog();
  absl::StatusOr<int> LoadAndApply(bool fresh);
  absl::Status WriteCounters() ABSL_EXCLUSIVE_LOCKS_REQUIRED(db_mu_);

  KeyPool* const pool_;
  KeyStore* const store_;
  KeyPoolMetrics* const metrics_;
  const KeySyncOptions options_;
  std::function<bool()> write_gate_;
  std::function<absl::Status()> flush_hook_;

  // Serialises database work (Reload, Flush).
  absl::Mutex db_mu_;
  // What the last applied snapshot said about everything but the counters
  // (which only matter for keys new to the pool, and those change it): an
  // unchanged poll is not applied, sparing the leases the pool's write lock.
  std::string applied_fingerprint_ ABSL_GUARDED_BY(db_mu_);
  int applied_keys_ ABSL_GUARDED_BY(db_mu_) = 0;

  absl::Mutex mu_;
  bool running_ ABSL_GUARDED_BY(mu_) = false;
  std::deque<ReloadDone> reloads_ ABSL_GUARDED_BY(mu_);
  // A failed write-back is said once per outage (flush chore only).
  bool flush_failing_ = false;

  // Without polling the keys are re-read only when asked.
  PeriodicTask poll_{options_.poll_interval > absl::ZeroDuration() ? options_.poll_interval
                                                                   : absl::InfiniteDuration(),
                     [this] { Poll(); }};
  PeriodicTask flush_{options_.flush_interval, [this] { FlushAndLog(); }};
  PeriodicTask upkeep_{options_.upkeep_interval, [this] { Upkeep(); }};
};

}  // namespace aigw::keypool

#endif  // AIGW_SERVICES_KEYPOOL_KEY_SYNC_H_
