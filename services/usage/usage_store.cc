#include "services/usage/usage_store.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "libs/common/utf8.h"
#include "services/usage/call_log_row.h"
#include "services/usage/stats_accumulator.h"
#include "services/usage/usage_time.h"
#include "soci/soci.h"

namespace aigw::usage {
namespace {

constexpr int kMaxTransactionTries = 3;

// Lock conflicts between writers of different processes: the whole
// transaction was rolled back and may simply run again.
bool Retryable(const absl::Status& st) {
  return absl::IsAborted(st) || absl::StrContains(st.message(), "Deadlock found") ||
         absl::StrContains(st.message(), "Lock wait timeout") ||
         absl::StrContains(st.message(), "database is locked");
}

// A statement the database refused while reachable and not for a lock: the
// cause may be what one of the batches holds.
bool RefusedStatement(const absl::Status& st) { return absl::IsInternal(st) && !Retryable(st); }

}  // namespace

absl::StatusOr<std::unique_ptr<UsageStore>> UsageStore::Create(db::Database* db,
                                                               UsageStoreOptions options,
                                                               UsageMetrics* metrics,
                                                               Clock* clock) {
  absl::StatusOr<SqlQuoter> quoter = SqlQuoter::ForDatabase(*db);
  if (!quoter.ok()) return quoter.status();
  if (options.rows_per_statement < 1) options.rows_per_statement = 1;
  return std::unique_ptr<UsageStore>(new UsageStore(db, options, metrics, clock, *quoter));
}

absl::StatusOr<RecordResult> UsageStore::RecordCalls(
    const google::protobuf::RepeatedPtrField<v1::CallEvent>& events) {
  const absl::Time start = absl::Now();
  absl::StatusOr<RecordResult> result = Record(events);
  if (metrics_ != nullptr) {
    metrics_->batch_seconds->Observe(absl::ToDoubleSeconds(absl::Now() - start));
    if (result.ok()) {
      metrics_->batches_ok->Increment();
      metrics_->events_ingested->Increment(result->accepted);
      metrics_->duplicates->Increment(result->duplicates);
    } else if (absl::IsInvalidArgument(result.status())) {
      metrics_->batches_invalid->Increment();
    } else {
      metrics_->batches_error->Increment();
      metrics_->db_errors_record->Increment();
    }
  }
  return result;
}

// One caller's batch on its way through the group commit.
struct UsageStore::Pending {
  int events = 0;
  // The batch's rows, first occurrence of each (request_id, attempt).
  std::vector<LogRow> rows;
  // Set by the writer.
  bool done = false;
  absl::Status status;
  int accepted = 0;
};

absl::StatusOr<RecordResult> UsageStore::Record(
    const google::protobuf::RepeatedPtrField<v1::CallEvent>& events) {
  const int n = events.size();
  if (n > options_.max_batch_events) {
    return absl::InvalidArgumentError(absl::StrCat("batch has ", n, " events; at most ",
                                                   options_.max_batch_events,
                                                   " are accepted per RecordCalls call"));
  }
  const absl::Time now = clock_->Now();
  Pending me;
  me.events = n;
  me.rows.reserve(n);
  absl::flat_hash_set<std::pair<absl::string_view, int32_t>> seen;
  seen.reserve(n);
  for (int i = 0; i < n; ++i) {
    const v1::CallEvent& e = events.Get(i);
    absl::StatusOr<LogRow> row = ToLogRow(e, options_.stats_zone, now);
    if (!row.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("events[", i, "] (request_id '",
                                                     CleanUtf8(e.request_id(), 80),
                                                     "'): ", row.status().message()));
    }
    if (!seen.insert({e.request_id(), e.attempt()}).second) continue;
    me.rows.push_back(*std::move(row));
  }
  if (me.rows.empty()) return RecordResult{0, n};
  // Group commit: whoever finds no writer at work writes everything queued
  // (FIFO, up to max_group_events), then hands over; the others wait for
  // their batch to be done.
  mu_.Lock();
  queue_.push_back(&me);
  auto done_or_free = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return me.done || !writing_; };
  while (true) {
    mu_.Await(absl::Condition(&done_or_free));
    if (me.done) break;
    writing_ = true;
    std::vector<Pending*> group;
    int events_in_group = 0;
    while (!queue_.empty() && (group.empty() || events_in_group + queue_.front()->events <=
                                                    options_.max_group_events)) {
      events_in_group += queue_.front()->events;
      group.push_back(queue_.front());
      queue_.pop_front();
    }
    mu_.Unlock();
    WriteGroup(group);
    mu_.Lock();
    for (Pending* p : group) p->done = true;
    writing_ = false;
  }
  mu_.Unlock();
  if (!me.status.ok()) return me.status;
  return RecordResult{me.accepted, n - me.accepted};
}

size_t UsageStore::queued_batches() const {
  absl::MutexLock l(&mu_);
  return queue_.size();
}

bool UsageStore::writing() const {
  absl::MutexLock l(&mu_);
  return writing_;
}

void UsageStore::WriteGroup(const std::vector<Pending*>& group) {
  const absl::Status st = WriteRetryingLocks(group);
  if (!st.ok() && group.size() > 1 && RefusedStatement(st)) {
    for (Pending* p : group) WriteGroup({p});
    return;
  }
  for (Pending* p : group) {
    p->status = st;
    if (!st.ok()) p->accepted = 0;
  }
}

absl::Status UsageStore::WriteRetryingLocks(const std::vector<Pending*>& group) {
  absl::Status st;
  for (int attempt = 1; attempt <= kMaxTransactionTries; ++attempt) {
    for (Pending* p : group) p->accepted = 0;
    st = WriteOnce(group);
    if (st.ok() || !Retryable(st)) break;
  }
  return st;
}

absl::Status UsageStore::WriteOnce(const std::vector<Pending*>& group) {
  // Rows of the whole group, first occurrence across batches: a later batch
  // repeating an event of an earlier one in the same group sees it as a
  // duplicate, exactly as if it had come in the next transaction.
  std::vector<const LogRow*> rows;
  std::vector<Pending*> owners;
  {
    size_t total = 0;
    for (const Pending* p : group) total += p->rows.size();
    rows.reserve(total);
    owners.reserve(total);
    absl::flat_hash_set<std::pair<absl::string_view, int32_t>> seen;
    if (group.size() > 1) seen.reserve(total);
    for (Pending* p : group) {
      for (const LogRow& r : p->rows) {
        if (group.size() > 1 && !seen.insert({r.request_id, r.attempt}).second) continue;
        rows.push_back(&r);
        owners.push_back(p);
      }
    }
  }
  const std::string now_db = FormatDbTime(clock_->Now());
  return db_->InTransaction([&](soci::session& s) -> absl::Status {
    if (!db_->dialect().is_mysql()) {
      // The writer's connection: a page cache that holds the hot index pages,
      // and WAL checkpoints (with their fsync) every 64 MB instead of every
      // 4 MB, so a busy stream pays for them rarely.
      s << "PRAGMA cache_size = -65536";
      s << "PRAGMA wal_autocheckpoint = 16384";
    }
    return WriteStatements(s, rows, owners, now_db);
  });
}

absl::Status UsageStore::WriteStatements(soci::session& s, absl::Span<const LogRow* const> rows,
                                         absl::Span<Pending* const> owners,
                                         absl::string_view now_db) {
  absl::StatusOr<std::vector<bool>> inserted = inserter_->Insert(s, rows);
  if (!inserted.ok()) return inserted.status();
  StatsAccumulator acc;
  for (size_t i = 0; i < rows.size(); ++i) {
    if (!(*inserted)[i]) continue;
    acc.Add(*rows[i]);
    ++owners[i]->accepted;
  }
  for (const std::string& up :
       acc.UpsertStatements(db_->dialect(), quoter_, now_db, options_.rows_per_statement)) {
    s << up;
  }
  return absl::OkStatus();
}

}  // namespace aigw::usage
