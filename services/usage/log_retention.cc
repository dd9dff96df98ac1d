#include "services/usage/log_retention.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "absl/time/civil_time.h"
#include "services/usage/usage_time.h"
#include "soci/soci.h"
#include "spdlog/spdlog.h"

namespace aigw::usage {
namespace {

// Without retention, history older than this gets no monthly partitions of
// its own.
constexpr int kMaxMonthsBack = 36;

struct Partition {
  std::string name;
  // Rows in it have created_at < bound; MAXVALUE has none.
  std::optional<absl::Time> bound;
};

std::string MonthPartitionName(absl::CivilMonth m) {
  return absl::StrFormat("p%04d%02d", m.year(), m.month());
}

std::string MonthStart(absl::CivilMonth m) {
  return absl::StrFormat("%04d-%02d-01 00:00:00", m.year(), m.month());
}

// PARTITION_DESCRIPTION of a RANGE COLUMNS partition: "'2026-02-01 00:00:00'"
// or "MAXVALUE".
absl::StatusOr<Partition> ReadPartition(std::string name, std::string description) {
  Partition p{std::move(name), std::nullopt};
  absl::string_view d = absl::StripAsciiWhitespace(description);
  if (absl::EqualsIgnoreCase(d, "MAXVALUE")) return p;
  absl::ConsumePrefix(&d, "'");
  absl::ConsumeSuffix(&d, "'");
  std::string text(d);
  if (text.size() == 10) text += " 00:00:00";
  absl::StatusOr<absl::Time> t = ParseDbTime(text);
  if (!t.ok()) {
    return absl::InternalError(absl::StrCat("partition ", p.name, " of t_ai_api_logs has bound ",
                                            description, ", not a time"));
  }
  p.bound = *t;
  return p;
}

// t_ai_api_logs' partitions in order; empty when it is not partitioned.
absl::StatusOr<std::vector<Partition>> ReadPartitions(soci::session& s) {
  std::vector<Partition> parts;
  std::string name, description;
  soci::indicator name_ind, desc_ind;
  soci::statement st =
      (s.prepare << "SELECT PARTITION_NAME, PARTITION_DESCRIPTION FROM "
                    "information_schema.PARTITIONS WHERE TABLE_SCHEMA = DATABASE() AND "
                    "TABLE_NAME = 't_ai_api_logs' AND PARTITION_NAME IS NOT NULL "
                    "ORDER BY PARTITION_ORDINAL_POSITION",
       soci::into(name, name_ind), soci::into(description, desc_ind));
  st.execute();
  while (st.fetch()) {
    if (name_ind != soci::i_ok) continue;
    absl::StatusOr<Partition> p =
        ReadPartition(name, desc_ind == soci::i_ok ? description : "MAXVALUE");
    if (!p.ok()) return p.status();
    parts.push_back(*std::move(p));
  }
  return parts;
}

// The month of the first partition to split off the catch-all: the month
// after the last bounded partition, or (none yet) the oldest month with
// data, but no month that expires anyway (its rows fall into the first
// partition and are deleted) and, without retention, none more than
// kMaxMonthsBack ago (not a century of them because one event claimed to be
// from 1970).
absl::StatusOr<absl::CivilMonth> FirstMonthToCreate(soci::session& s,
                                                    const std::vector<Partition>& parts,
                                                    absl::Time now, absl::Time cutoff) {
  const absl::TimeZone utc = absl::UTCTimeZone();
  if (parts.size() > 1) {
    // The last bounded partition ends at the start of the next month to create.
    return absl::CivilMonth(absl::ToCivilSecond(*parts[parts.size() - 2].bound, utc));
  }
  absl::CivilMonth first = absl::CivilMonth(absl::ToCivilSecond(now, utc));
  std::string oldest;
  soci::indicator ind = soci::i_null;
  s << "SELECT CAST(MIN(created_at) AS CHAR) FROM t_ai_api_logs", soci::into(oldest, ind);
  if (ind == soci::i_ok) {
    absl::StatusOr<absl::Time> t = ParseDbTime(oldest);
    if (!t.ok()) return t.status();
    first = std::min(first, absl::CivilMonth(absl::ToCivilSecond(*t, utc)));
  }
  const absl::CivilMonth floor =
      cutoff == absl::InfinitePast()
          ? absl::CivilMonth(absl::ToCivilSecond(now, utc)) - kMaxMonthsBack
          : absl::CivilMonth(absl::ToCivilSecond(cutoff, utc));
  return std::max(first, floor);
}

// Splits the catch-all partition into one partition per month first..last
// plus the catch-all after them.
void SplitCatchAll(soci::session& s, const std::string& catch_all, absl::CivilMonth first,
                   absl::CivilMonth last) {
  std::vector<std::string> defs;
  for (absl::CivilMonth m = first; m <= last; ++m) {
    defs.push_back(absl::StrCat("PARTITION ", MonthPartitionName(m), " VALUES LESS THAN ('",
                                MonthStart(m + 1), "')"));
  }
  s << absl::StrCat("ALTER TABLE t_ai_api_logs REORGANIZE PARTITION ", catch_all, " INTO (",
                    absl::StrJoin(defs, ", "), ", PARTITION ", catch_all,
                    " VALUES LESS THAN (MAXVALUE))");
  spdlog::info("msg=\"log partitions created\" count={} through=\"{}\"", defs.size(),
               MonthPartitionName(last));
}

// Drops every partition whose rows have all expired (its bound is at or
// before the cutoff), counting their rows first.
void DropExpiredPartitions(soci::session& s, const std::vector<Partition>& parts, absl::Time cutoff,
                           RetentionReport& report) {
  std::vector<std::string> expired;
  for (const Partition& p : parts) {
    if (p.bound.has_value() && *p.bound <= cutoff) expired.push_back(p.name);
  }
  if (expired.empty()) return;
  long long rows = 0;
  s << absl::StrCat("SELECT COUNT(*) FROM t_ai_api_logs PARTITION (", absl::StrJoin(expired, ", "),
                    ")"),
      soci::into(rows);
  s << absl::StrCat("ALTER TABLE t_ai_api_logs DROP PARTITION ", absl::StrJoin(expired, ", "));
  report.deleted_rows += rows;
  report.dropped_partitions += static_cast<int>(expired.size());
  spdlog::info("msg=\"log partitions dropped\" partitions=\"{}\" rows={}",
               absl::StrJoin(expired, ","), rows);
}

}  // namespace

LogRetention::LogRetention(db::Database* db, RetentionOptions options, UsageMetrics* metrics,
                           Clock* clock)
    : db_(db),
      options_(options),
      metrics_(metrics),
      clock_(clock),
      job_(options.interval, [this] { RunAndLog(); }) {
  if (options_.batch_rows < 1) options_.batch_rows = 1;
}

LogRetention::~LogRetention() { Stop(); }

absl::StatusOr<RetentionReport> LogRetention::RunOnce() {
  RetentionReport report;
  const bool enabled = options_.retention_days > 0;
  const absl::Time cutoff =
      enabled ? clock_->Now() - absl::Hours(24) * options_.retention_days : absl::InfinitePast();
  absl::Status st;
  if (db_->backend() == db::Backend::kMySql) {
    st = db_->Run([&](soci::session& s) -> absl::Status {
      // Per database, so that replicas on one database take turns while
      // other databases on the server (tests) do not wait.
      int got = 0;
      soci::indicator ind = soci::i_null;
      s << "SELECT GET_LOCK(CONCAT('aigw_usage_retention.', DATABASE()), 0)", soci::into(got, ind);
      if (ind != soci::i_ok || got != 1) {
        report.skipped = true;
        return absl::OkStatus();
      }
      absl::Status inner;
      try {
        inner = MaintainPartitions(s, cutoff, report);
      } catch (...) {
        s << "SELECT RELEASE_LOCK(CONCAT('aigw_usage_retention.', DATABASE()))";
        throw;
      }
      if (inner.ok() && enabled) inner = DeleteInBatches(cutoff, report);
      s << "SELECT RELEASE_LOCK(CONCAT('aigw_usage_retention.', DATABASE()))";
      return inner;
    });
  } else if (enabled) {
    st = DeleteInBatches(cutoff, report);
  }
  if (metrics_ != nullptr) {
    metrics_->retention_deleted_rows->Increment(static_cast<double>(report.deleted_rows));
    metrics_->retention_dropped_partitions->Increment(report.dropped_partitions);
    if (!st.ok()) metrics_->db_errors_retention->Increment();
  }
  if (!st.ok()) return st;
  return report;
}

absl::Status LogRetention::MaintainPartitions(soci::session& s, absl::Time cutoff,
                                              RetentionReport& report) {
  absl::StatusOr<std::vector<Partition>> parts = ReadPartitions(s);
  if (!parts.ok()) return parts.status();
  // Not partitioned (a schema from before migration 3, or by hand): batch
  // deletes only.
  if (parts->empty() || parts->back().bound.has_value()) return absl::OkStatus();
  const absl::Time now = clock_->Now();
  absl::StatusOr<absl::CivilMonth> first = FirstMonthToCreate(s, *parts, now, cutoff);
  if (!first.ok()) return first.status();
  const absl::CivilMonth last = absl::CivilMonth(absl::ToCivilSecond(now, absl::UTCTimeZone())) +
                                options_.partition_months_ahead;
  if (*first <= last) {
    SplitCatchAll(s, parts->back().name, *first, last);
    report.created_partitions += static_cast<int>(last - *first + 1);
    parts = ReadPartitions(s);
    if (!parts.ok()) return parts.status();
  }
  if (cutoff != absl::InfinitePast()) DropExpiredPartitions(s, *parts, cutoff, report);
  return absl::OkStatus();
}

absl::Status LogRetention::DeleteInBatches(absl::Time cutoff, RetentionReport& report) {
  const std::string bound = FormatDbTime(cutoff);
  // MySQL takes DELETE ... LIMIT; SQLite (without the optional compile-time
  // feature) needs the rows named by a subquery.
  const std::string sql =
      db_->backend() == db::Backend::kMySql
          ? absl::StrCat("DELETE FROM t_ai_api_logs WHERE created_at < '", bound, "' LIMIT ",
                         options_.batch_rows)
          : absl::StrCat(
                "DELETE FROM t_ai_api_logs WHERE id IN (SELECT id FROM t_ai_api_logs "
                "WHERE created_at < '",
                bound, "' LIMIT ", options_.batch_rows, ")");
  while (true) {
    long long deleted = 0;
    absl::Status st = db_->Run([&](soci::session& s) {
      soci::statement stmt = (s.prepare << sql);
      stmt.execute(true);
      deleted = stmt.get_affected_rows();
      return absl::OkStatus();
    });
    if (!st.ok()) return st;
    report.deleted_rows += deleted;
    if (deleted < options_.batch_rows) return absl::OkStatus();
    if (job_.stopping()) return absl::OkStatus();
  }
}

void LogRetention::Start() {
  job_.Start();
  job_.RunNow();
}

void LogRetention::Stop() { job_.Stop(); }

void LogRetention::RunAndLog() {
  absl::StatusOr<RetentionReport> r = RunOnce();
  if (!r.ok()) {
    spdlog::warn("msg=\"log retention failed\" error=\"{}\"", std::string(r.status().message()));
  } else if (r->deleted_rows > 0) {
    spdlog::info("msg=\"log retention\" deleted_rows={} dropped_partitions={}", r->deleted_rows,
                 r->dropped_partitions);
  }
}

}  // namespace aigw::usage
