#include "services/usage/usage_store.h"

#include <functional>
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
  // The batch's rows, first occurrence of each (request_id, attempt), and
  // the index in the batch of each row's event.
  std::vector<LogRow> rows;
  std::vector<int> row_event;
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
    me.row_event.push_back(i);
  }
  if (absl::Status refused = CheckRefusedBefore(events); !refused.ok()) return refused;
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
  absl::Status st = WriteRetryingLocks(group);
  if (!st.ok() && RefusedStatement(st)) {
    if (group.size() > 1) {
      for (Pending* p : group) WriteGroup({p});
      return;
    }
    st = SingleOut(*group[0], st);
  }
  for (Pending* p : group) {
    p->status = st;
    if (!st.ok()) p->accepted = 0;
  }
}

absl::Status UsageStore::SingleOut(Pending& batch, const absl::Status& refused) {
  // A database that refuses everything (a full disk, a missing table) does
  // so from the first split: both halves are refused before any row was
  // taken, and the batch fails as it did, after two more transactions.
  // Past kMaxWrites the search stops too.
  constexpr int kMaxWrites = 64;
  int writes = 0;
  int accepted = 0;
  bool took_some = false;
  std::vector<size_t> refused_rows;
  absl::Status failed;  // a failure that is no refusal ends the search
  // [lo, hi) was refused in one transaction.
  std::function<bool(size_t, size_t)> narrow = [&](size_t lo, size_t hi) -> bool {
    if (hi - lo == 1) {
      refused_rows.push_back(lo);
      return true;
    }
    const size_t mid = lo + (hi - lo) / 2;
    bool refused_halves[2] = {false, false};
    const std::pair<size_t, size_t> halves[2] = {{lo, mid}, {mid, hi}};
    for (int h = 0; h < 2; ++h) {
      if (++writes > kMaxWrites) return false;
      Pending part;
      part.events = static_cast<int>(halves[h].second - halves[h].first);
      part.rows.assign(batch.rows.begin() + halves[h].first,
                       batch.rows.begin() + halves[h].second);
      const absl::Status st = WriteRetryingLocks({&part});
      if (st.ok()) {
        took_some = true;
        accepted += part.accepted;
      } else if (RefusedStatement(st)) {
        refused_halves[h] = true;
      } else {
        failed = st;
        return false;
      }
    }
    if (refused_halves[0] && refused_halves[1] && !took_some) return false;
    for (int h = 0; h < 2; ++h) {
      if (refused_halves[h] && !narrow(halves[h].first, halves[h].second)) return false;
    }
    return true;
  };
  const bool narrowed = narrow(0, batch.rows.size());
  if (!failed.ok()) return failed;
  if (!narrowed || !took_some) return refused;
  batch.accepted = accepted;
  if (refused_rows.empty()) return absl::OkStatus();  // refused once, then taken
  const LogRow& first = batch.rows[refused_rows.front()];
  for (size_t r : refused_rows) RememberRefused(batch.rows[r], refused);
  return absl::InvalidArgumentError(absl::StrCat(
      "events[", batch.row_event[refused_rows.front()], "] (request_id '",
      CleanUtf8(first.request_id, 80), "', attempt ", first.attempt,
      "): the database refuses to store it (", refused.message(), "); ",
      refused_rows.size(), " of the batch's events refused, the others recorded"));
}

void UsageStore::RememberRefused(const LogRow& row, const absl::Status& why) {
  absl::MutexLock l(&refused_mu_);
  auto key = std::make_pair(row.request_id, row.attempt);
  auto [it, added] = refused_.try_emplace(key);
  it->second = Refusal{std::string(why.message()), clock_->Now()};
  if (!added) return;
  refused_order_.push_back(std::move(key));
  if (refused_order_.size() > kRefusedRemembered) {
    refused_.erase(refused_order_.front());
    refused_order_.pop_front();
  }
  refused_count_.store(refused_.size(), std::memory_order_release);
}

absl::Status UsageStore::CheckRefusedBefore(
    const google::protobuf::RepeatedPtrField<v1::CallEvent>& events) const {
  if (refused_count_.load(std::memory_order_acquire) == 0) return absl::OkStatus();
  const absl::Time now = clock_->Now();
  absl::MutexLock l(&refused_mu_);
  for (int i = 0; i < events.size(); ++i) {
    const v1::CallEvent& e = events.Get(i);
    auto it = refused_.find(std::make_pair(e.request_id(), e.attempt()));
    if (it == refused_.end() || now - it->second.at >= kRefusedFor) continue;
    return absl::InvalidArgumentError(absl::StrCat(
        "events[", i, "] (request_id '", CleanUtf8(e.request_id(), 80), "', attempt ",
        e.attempt(), "): the database refused to store it ",
        absl::FormatDuration(absl::Trunc(now - it->second.at, absl::Seconds(1))),
        " ago (", it->second.why, "), and is refused without trying for ",
        absl::FormatDuration(kRefusedFor), " after that"));
  }
  return absl::OkStatus();
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
