#ifndef AIGW_SERVICES_USAGE_USAGE_STORE_H_
#define AIGW_SERVICES_USAGE_USAGE_STORE_H_

#include <atomic>
#include <deque>
#include <memory>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "aigw/v1/usage.pb.h"
#include "google/protobuf/repeated_ptr_field.h"
#include "libs/common/clock.h"
#include "libs/db/database.h"
#include "services/usage/log_inserter.h"
#include "services/usage/sql_literal.h"
#include "services/usage/usage_metrics.h"

namespace aigw::usage {

struct UsageStoreOptions {
  // Events per RecordCalls batch; a larger batch is INVALID_ARGUMENT.
  int max_batch_events = 5000;
  // stat_date is the calendar day of created_at in this zone.
  absl::TimeZone stats_zone = absl::UTCTimeZone();
  // Rows per multi-row INSERT: large enough to amortise a statement, small
  // enough to stay far below MySQL's max_allowed_packet.
  int rows_per_statement = 500;
  // Most events one group-commit transaction takes (whole batches; a single
  // batch larger than this still goes alone).
  int max_group_events = 20000;
  // MariaDB: write log rows with bulk execution (see LogInserter). Off, the
  // MySQL-server way (literal multi-row INSERTs) is used instead.
  bool mariadb_bulk_insert = true;
};

struct RecordResult {
  int accepted = 0;
  int duplicates = 0;
};

// Call events in: rows of t_ai_api_logs plus the matching additions to
// t_ai_usage_stats and t_ai_error_stats, all in one transaction.
//
// Idempotent on (request_id, attempt): an event already in the log (or
// repeated within the batch) is a duplicate and is counted nowhere. The
// log's unique key makes the insert skip what is already there, and
// LogInserter tells which rows went in; only those are added to the stats.
// On MySQL the log is partitioned by month and its unique key includes
// created_at (migration 3): a resent event carries its original created_at,
// so resends are still caught.
//
// Thread-safe, with group commit: one writer at a time per process (the
// database serialises writers anyway, and ids then grow in commit order,
// which QueryLogs' snapshot paging relies on), and batches that arrive while
// a transaction runs are written together in the next one. Each caller still
// returns only after the transaction holding its batch has committed. A
// group the database refuses for a statement (not a lock or a lost
// connection) is written again a batch at a time, so an event the database
// will not take fails only the batch that carries it, not the other
// callers' batches that happened to share its transaction. A batch refused
// alone is written in halves, each in a transaction of its own, down to the
// rows the database refuses alone (see SingleOut): when it took the rest,
// those events are the cause; the batch is refused with INVALID_ARGUMENT
// naming the first (the gateway then sets it aside and resends the rest),
// and they are remembered for kRefusedFor, so that the event sent again,
// alone or in any batch, is refused at once.
// Validation, text conversions and SQL text are done by each caller's own
// thread beforehand.
class UsageStore {
 public:
  // `metrics` may be null.
  static absl::StatusOr<std::unique_ptr<UsageStore>> Create(db::Database* db,
                                                            UsageStoreOptions options,
                                                            UsageMetrics* metrics, Clock* clock);

  // INVALID_ARGUMENT (naming the event and field) for a batch over the cap
  // or any bad event, and then nothing is written. Returns only after the
  // transaction has committed.
  absl::StatusOr<RecordResult> RecordCalls(
      const google::protobuf::RepeatedPtrField<v1::CallEvent>& events);

  const UsageStoreOptions& options() const { return options_; }

  // Batches waiting for the writer (not counting the group being written),
  // and whether a group is being written.
  size_t queued_batches() const;
  bool writing() const;

 private:
  UsageStore(db::Database* db, UsageStoreOptions options, UsageMetrics* metrics, Clock* clock,
             SqlQuoter quoter)
      : db_(db),
        options_(options),
        metrics_(metrics),
        clock_(clock),
        quoter_(quoter),
        inserter_(LogInserter::For(db->backend(), options.rows_per_statement, quoter,
                                   options.mariadb_bulk_insert)) {}

  struct Pending;
  absl::StatusOr<RecordResult> Record(
      const google::protobuf::RepeatedPtrField<v1::CallEvent>& events);
  // Writes `group` in one transaction (retrying lock conflicts) and fills in
  // each batch's outcome; a refused group of several batches, a batch at a
  // time.
  void WriteGroup(const std::vector<Pending*>& group);
  absl::Status WriteRetryingLocks(const std::vector<Pending*>& group);
  absl::Status SingleOut(Pending& batch, const absl::Status& refused);
  // INVALID_ARGUMENT naming the first of `events` the database refused
  // before (RememberRefused); OK when none.
  absl::Status CheckRefusedBefore(
      const google::protobuf::RepeatedPtrField<v1::CallEvent>& events) const;
  void RememberRefused(const LogRow& row, const absl::Status& why);
  absl::Status WriteOnce(const std::vector<Pending*>& group);
  // The log rows and stats upserts of one transaction; counts each owner's
  // accepted rows.
  absl::Status WriteStatements(soci::session& s, absl::Span<const LogRow* const> rows,
                               absl::Span<Pending* const> owners, absl::string_view now_db);

  db::Database* db_;
  UsageStoreOptions options_;
  UsageMetrics* metrics_;
  Clock* clock_;
  SqlQuoter quoter_;
  // Used by the one writer at a time.
  std::unique_ptr<LogInserter> inserter_;

  // Events the database refused alone while it took their batch's others,
  // for kRefusedFor (an operator who fixed the cause can resend them then),
  // the oldest forgotten first past kRefusedRemembered.
  static constexpr size_t kRefusedRemembered = 1024;
  static constexpr absl::Duration kRefusedFor = absl::Minutes(10);
  struct Refusal {
    std::string why;
    absl::Time at;
  };
  mutable absl::Mutex refused_mu_;
  std::atomic<size_t> refused_count_{0};
  absl::flat_hash_map<std::pair<std::string, int32_t>, Refusal> refused_
      ABSL_GUARDED_BY(refused_mu_);
  std::deque<std::pair<std::string, int32_t>> refused_order_ ABSL_GUARDED_BY(refused_mu_);

  mutable absl::Mutex mu_;
  std::deque<Pending*> queue_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace aigw::usage

#endif  // AIGW_SERVICES_USAGE_USAGE_STORE_H_
