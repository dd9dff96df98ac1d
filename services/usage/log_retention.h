#ifndef AIGW_SERVICES_USAGE_LOG_RETENTION_H_
#define AIGW_SERVICES_USAGE_LOG_RETENTION_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libs/common/clock.h"
#include "libs/common/periodic_task.h"
#include "libs/db/database.h"
#include "services/usage/usage_metrics.h"

namespace soci {
class session;
}  // namespace soci

namespace aigw::usage {

struct RetentionOptions {
  // Log rows whose created_at is more than this many days before now are
  // removed; 0 keeps them forever. The daily statistics are kept.
  int retention_days = 90;
  // Rows per DELETE: each is its own short transaction, so ingestion (and
  // SQLite's single writer) never waits long behind retention.
  int batch_rows = 1000;
  // How often the background job runs.
  absl::Duration interval = absl::Hours(1);
  // MySQL: months after the current one that get their partition ahead of
  // time (a split of the empty catch-all partition is instant).
  int partition_months_ahead = 2;
};

struct RetentionReport {
  // Log rows removed, by DELETE or with a dropped partition.
  int64_t deleted_rows = 0;
  int dropped_partitions = 0;
  int created_partitions = 0;
  // MySQL: another process held the retention lock, so this run did nothing.
  bool skipped = false;
};

// Removes expired call log rows. On MySQL, where migration 3 partitions
// t_ai_api_logs by month, a run first keeps monthly partitions ready
// (splitting the catch-all `pmax` into pYYYYMM partitions from the oldest
// month with data up to `partition_months_ahead` months ahead), then drops
// every partition whose upper bound is at or before the cutoff (all its rows
// expired: a whole month goes at the cost of a file delete), then deletes
// the remaining expired rows (the part of the oldest kept month before the
// cutoff) in small batches. On SQLite only the batch deletes apply.
// Several replicas may run it: on MySQL a named lock lets one at a time.
class LogRetention {
 public:
  // `metrics` may be null.
  LogRetention(db::Database* db, RetentionOptions options, UsageMetrics* metrics, Clock* clock);
  ~LogRetention();

  // One pass at the clock's current time: removes exactly the rows with
  // created_at < now - retention_days.
  absl::StatusOr<RetentionReport> RunOnce();

  // Runs RunOnce now and then every `interval` on a background thread, until
  // Stop (or destruction). Failures are logged and counted, and retried at
  // the next interval.
  void Start();
  void Stop();

 private:
  absl::Status MaintainPartitions(soci::session& s, absl::Time cutoff, RetentionReport& report);
  absl::Status DeleteInBatches(absl::Time cutoff, RetentionReport& report);
  // The background job: RunOnce, its outcome logged.
  void RunAndLog();

  db::Database* db_;
  RetentionOptions options_;
  UsageMetrics* metrics_;
  Clock* clock_;
  PeriodicTask job_;
};

}  // namespace aigw::usage

#endif  // AIGW_SERVICES_USAGE_LOG_RETENTION_H_
