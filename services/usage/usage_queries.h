#ifndef AIGW_SERVICES_USAGE_USAGE_QUERIES_H_
#define AIGW_SERVICES_USAGE_USAGE_QUERIES_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "aigw/v1/usage.pb.h"
#include "libs/common/clock.h"
#include "libs/db/database.h"
#include "services/usage/sql_literal.h"
#include "services/usage/usage_metrics.h"

namespace soci {
class session;
}  // namespace soci

namespace aigw::usage {

struct UsageQueryOptions {
  // The zone of stat_date, and so of "today" for trend and dashboard.
  absl::TimeZone stats_zone = absl::UTCTimeZone();
  // GetUsage ranges longer than this are refused.
  int max_usage_days = 3660;
  // Longest errors-by-code and errors-by-key lists (largest counts first);
  // total_errors still counts every error.
  int max_breakdown_rows = 100;
  // QueryLogs counts at most this many rows for its total (0: no limit).
  // Past it the total is this number and LogPage::total_capped is set: a
  // pager needs no more, and an exact COUNT over a log of millions of rows
  // costs seconds (MySQL, 10M rows, a 128 MB buffer pool: 16 s).
  int64_t max_counted_logs = 10000;
  // How long a QueryLogs total may be reused (and brought up to a newer
  // snapshot by counting only the rows after the old one). Rows retention
  // deletes meanwhile are not noticed for this long.
  absl::Duration log_count_reuse = absl::Seconds(60);
};

// One page of the call log plus the snapshot it was read at.
struct LogPage {
  v1::QueryLogsResponse response;
  int64_t snapshot_id = 0;
  // The total stopped at max_counted_logs: there are at least that many.
  bool total_capped = false;
};

// The read side: every aggregate comes from t_ai_usage_stats and
// t_ai_error_stats (one row per day, provider, model and key; per day,
// provider, key and error code), so a query's cost follows the number of
// those rows, never the size of the log. Only QueryLogs reads the log.
//
// Figures: total_requests, success_count and error_count count client
// requests (final attempts); tokens, cost and latency cover every attempt;
// avg_latency_ms is per upstream attempt; success_rate is success_count /
// total_requests (0 when there were none). errors_by_code, errors_by_key and
// total_errors count every failed attempt, retries included.
class UsageQueries {
 public:
  static absl::StatusOr<std::unique_ptr<UsageQueries>> Create(db::Database* db,
                                                              UsageQueryOptions options,
                                                              UsageMetrics* metrics, Clock* clock);

  // start_date/end_date 'YYYY-MM-DD', inclusive; an empty end is today, an
  // empty start 29 days before the end. Rows exist only for groups with
  // calls: by day oldest first, otherwise most requests first.
  absl::StatusOr<v1::GetUsageResponse> GetUsage(const v1::GetUsageRequest& request);
  // The last `days` days including today (0 means 30), one point per day
  // oldest first, zeros for days without calls.
  absl::StatusOr<v1::GetTrendResponse> GetTrend(const v1::GetTrendRequest& request);
  // Summary, trend and error breakdown of the last `days` days (0 means 7).
  absl::StatusOr<v1::GetDashboardResponse> GetDashboard(const v1::GetDashboardRequest& request);

  // Newest first: created_at descending, ties by id descending. Pages are
  // offsets into the log as it was at `snapshot_id` (rows with id <=
  // snapshot_id): since ids only grow (writers commit in id order), rows
  // recorded after the snapshot never shift a later page, so a reader
  // walking page 1, 2, 3 ... with the snapshot of page 1 sees every row
  // once, with no gap and no repeat, and a constant total. `snapshot_id` <=
  // 0 takes the log's current MAX(id). The time range is start_time <=
  // created_at < end_time. The total is a COUNT up to max_counted_logs,
  // reused for the same filters for log_count_reuse (so later pages cost no
  // count, and a newer snapshot only counts the rows added since).
  absl::StatusOr<LogPage> QueryLogs(const v1::QueryLogsRequest& request, int64_t snapshot_id);

 private:
  UsageQueries(db::Database* db, UsageQueryOptions options, UsageMetrics* metrics, Clock* clock,
               SqlQuoter quoter)
      : db_(db), options_(options), metrics_(metrics), clock_(clock), quoter_(quoter) {}

  absl::Status Trend(soci::session& s, absl::CivilDay from, absl::CivilDay to,
                     const std::string& provider_code,
                     google::protobuf::RepeatedPtrField<v1::TrendPoint>* points);
  absl::Status Db(const std::function<absl::Status(soci::session&)>& fn);
  struct CachedCount {
    long long snapshot = 0;
    long long count = 0;
    bool capped = false;
    absl::Time counted_at;
  };
  // The log rows matching `where_filters` (" AND ..." or empty) with id <=
  // snapshot, counted up to max_counted_logs, reusing an earlier count of
  // the same filters.
  CachedCount CountLogs(soci::session& s, const std::string& where_filters, long long snapshot);

  db::Database* db_;
  UsageQueryOptions options_;
  UsageMetrics* metrics_;
  Clock* clock_;
  SqlQuoter quoter_;
  absl::Mutex count_mu_;
  absl::flat_hash_map<std::string, CachedCount> counts_ ABSL_GUARDED_BY(count_mu_);
};

}  // namespace aigw::usage

#endif  // AIGW_SERVICES_USAGE_USAGE_QUERIES_H_
