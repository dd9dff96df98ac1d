#include "services/usage/usage_queries.h"

#include <map>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "libs/common/proto_time.h"
#include "libs/common/utf8.h"
#include "libs/db/column.h"
#include "libs/db/dialect.h"
#include "libs/db/row_reader.h"
#include "services/usage/call_log_row.h"
#include "services/usage/log_columns.h"
#include "services/usage/stats_accumulator.h"
#include "services/usage/usage_time.h"
#include "soci/soci.h"

namespace aigw::usage {
namespace {

constexpr int kDefaultTrendDays = 30;
constexpr int kDefaultDashboardDays = 7;
constexpr int kMaxDays = 366;
constexpr int kDefaultPageSize = 50;
constexpr int kMaxPageSize = 500;
constexpr double kNanosPerUnit = 1e9;

double AvgLatency(const StatsFigures& f) {
  return f.attempt_count > 0 ? static_cast<double>(f.latency_ms) / f.attempt_count : 0;
}
double SuccessRate(const StatsFigures& f) {
  return f.total_requests > 0 ? static_cast<double>(f.success_count) / f.total_requests : 0;
}

// The select list summing every figure of the stats rows of a group; read
// with SumsReader.
std::string SumsSelect(const db::Dialect& d) {
  return absl::StrJoin(kStatsFigureColumns, ", ", [&](std::string* out, const StatsColumn& c) {
    out->append(db::ReadExpression(c, d, absl::StrCat("COALESCE(SUM(", c.name, "),0)")));
  });
}
using SumsReader = db::RowReader<StatsFigures>;

void FillRow(const StatsFigures& s, v1::UsageRow* row) {
  row->set_total_requests(s.total_requests);
  row->set_success_count(s.success_count);
  row->set_error_count(s.error_count);
  row->set_prompt_tokens(s.prompt_tokens);
  row->set_completion_tokens(s.completion_tokens);
  row->set_total_tokens(s.total_tokens);
  row->set_cached_prompt_tokens(s.cached_prompt_tokens);
  row->set_cache_creation_tokens(s.cache_creation_tokens);
  row->set_reasoning_tokens(s.reasoning_tokens);
  row->set_total_cost_nanos(s.cost_nanos);
  row->set_total_cost(s.cost_nanos / kNanosPerUnit);
  row->set_avg_latency_ms(AvgLatency(s));
  row->set_tool_calls(s.tool_calls);
  row->set_images(s.images);
}

absl::Status DaysInRange(int days, absl::string_view what) {
  if (days < 0 || days > kMaxDays) {
    return absl::InvalidArgumentError(absl::StrCat(what, " must be between 1 and ", kMaxDays,
                                                   " (0 means the default), got ", days));
  }
  return absl::OkStatus();
}

// Sets key_name on each of `rows` (usage rows or error counts by key) whose
// key still exists.
template <typename Rows>
void NameKeys(soci::session& s, Rows& rows) {
  std::vector<int64_t> wanted;
  for (const auto& row : rows) {
    if (row.key_id() > 0) wanted.push_back(row.key_id());
  }
  if (wanted.empty()) return;
  absl::flat_hash_map<int64_t, std::string> names;
  long long id = 0;
  std::string name;
  soci::statement st =
      (s.prepare << absl::StrCat("SELECT id, key_name FROM t_ai_api_keys WHERE id IN (",
                                 absl::StrJoin(wanted, ","), ")"),
       soci::into(id), soci::into(name));
  st.execute();
  while (st.fetch()) names[id] = name;
  for (auto& row : rows) {
    auto it = names.find(row.key_id());
    if (it != names.end()) row.set_key_name(it->second);
  }
}

// The inclusive days of a GetUsage request: an empty end is today, an empty
// start 29 days before the end.
struct DayRange {
  absl::CivilDay start;
  absl::CivilDay end;
};
absl::StatusOr<DayRange> UsageRange(const v1::GetUsageRequest& req, absl::CivilDay today,
                                    int max_days) {
  DayRange r{today - 29, today};
  if (!req.end_date().empty()) {
    absl::StatusOr<absl::CivilDay> d = ParseDate(req.end_date(), "end_date");
    if (!d.ok()) return d.status();
    r.end = *d;
  }
  r.start = r.end - 29;
  if (!req.start_date().empty()) {
    absl::StatusOr<absl::CivilDay> d = ParseDate(req.start_date(), "start_date");
    if (!d.ok()) return d.status();
    r.start = *d;
  }
  if (r.end < r.start) {
    return absl::InvalidArgumentError(absl::StrCat("end_date ", FormatDate(r.end),
                                                   " is before start_date ", FormatDate(r.start)));
  }
  if (r.end - r.start + 1 > max_days) {
    return absl::InvalidArgumentError(absl::StrCat("the range ", FormatDate(r.start), " .. ",
                                                   FormatDate(r.end), " is longer than ", max_days,
                                                   " days"));
  }
  return r;
}

// How GetUsage groups the stats rows: three selected columns (text, text,
// integer) that say which group a row is, the GROUP BY and the ORDER BY
// (by day oldest first, otherwise most requests first).
struct Grouping {
  std::string columns;
  std::string group_by;
  std::string order_by;
};
absl::StatusOr<Grouping> GroupingOf(v1::GetUsageRequest::GroupBy g, const db::Dialect& d) {
  Grouping out;
  switch (g) {
    case v1::GetUsageRequest::GROUP_BY_UNSPECIFIED:
    case v1::GetUsageRequest::DAY:
      out = {absl::StrCat(d.is_mysql() ? "CAST(stat_date AS CHAR)" : "stat_date", ", '', 0"),
             "stat_date", "stat_date"};
      return out;
    case v1::GetUsageRequest::PROVIDER:
      out = {"provider_code, '', 0", "provider_code", ""};
      break;
    case v1::GetUsageRequest::MODEL:
      out = {"provider_code, model, 0", "provider_code, model", ""};
      break;
    case v1::GetUsageRequest::KEY:
      out = {"provider_code, '', key_id", "provider_code, key_id", ""};
      break;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("group_by ", static_cast<int>(g), " is not a known GroupBy"));
  }
  out.order_by = absl::StrCat("COALESCE(SUM(total_requests),0) DESC, ", out.group_by);
  return out;
}

// Which group a usage row is, from the grouping columns.
void SetGroup(v1::GetUsageRequest::GroupBy g, const std::string& text1, const std::string& text2,
              long long number, v1::UsageRow* row) {
  switch (g) {
    case v1::GetUsageRequest::PROVIDER:
      row->set_provider_code(text1);
      break;
    case v1::GetUsageRequest::MODEL:
      row->set_provider_code(text1);
      row->set_model(text2);
      break;
    case v1::GetUsageRequest::KEY:
      row->set_provider_code(text1);
      row->set_key_id(number);
      break;
    default:
      row->set_date(text1);
  }
}

// One usage row per group selected by `sql` (the grouping columns, then
// SumsSelect).
absl::Status ReadUsageRows(soci::session& s, const std::string& sql, v1::GetUsageRequest::GroupBy g,
                           v1::GetUsageResponse* resp) {
  std::string text1, text2;
  long long number = 0;
  StatsFigures sums;
  SumsReader reader(kStatsFigureColumns);
  soci::statement stmt(s);
  stmt.alloc();
  stmt.exchange(soci::into(text1));
  stmt.exchange(soci::into(text2));
  stmt.exchange(soci::into(number));
  reader.Bind(stmt, &sums);
  stmt.prepare(sql);
  stmt.define_and_bind();
  stmt.execute();
  while (stmt.fetch()) {
    if (absl::Status st = reader.Complete(); !st.ok()) return st;
    v1::UsageRow* row = resp->add_rows();
    SetGroup(g, text1, text2, number, row);
    FillRow(sums, row);
  }
  NameKeys(s, *resp->mutable_rows());
  return absl::OkStatus();
}

absl::Status ReadSummary(soci::session& s, const db::Dialect& d, const std::string& range,
                         v1::DashboardSummary* sum) {
  StatsFigures sums;
  SumsReader reader(kStatsFigureColumns);
  soci::statement stmt(s);
  stmt.alloc();
  reader.Bind(stmt, &sums);
  stmt.prepare(absl::StrCat("SELECT ", SumsSelect(d), " FROM t_ai_usage_stats WHERE ", range));
  stmt.define_and_bind();
  stmt.execute(true);
  if (absl::Status st = reader.Complete(); !st.ok()) return st;
  sum->set_total_requests(sums.total_requests);
  sum->set_success_count(sums.success_count);
  sum->set_error_count(sums.error_count);
  sum->set_success_rate(SuccessRate(sums));
  sum->set_total_tokens(sums.total_tokens);
  sum->set_total_cost_nanos(sums.cost_nanos);
  sum->set_total_cost(sums.cost_nanos / kNanosPerUnit);
  sum->set_avg_latency_ms(AvgLatency(sums));
  return absl::OkStatus();
}

// Every failed attempt in `range`: the total, and the largest counts by
// error code and by key.
void ReadErrors(soci::session& s, const std::string& range, int max_rows,
                v1::ErrorBreakdown* errors) {
  long long total = 0;
  s << absl::StrCat("SELECT COALESCE(SUM(error_count),0) FROM t_ai_error_stats WHERE ", range),
      soci::into(total);
  errors->set_total_errors(total);
  std::string code, provider;
  long long key_id = 0, code_count = 0, key_count = 0;
  soci::statement by_code =
      (s.prepare << absl::StrCat("SELECT error_code, SUM(error_count) FROM t_ai_error_stats WHERE ",
                                 range,
                                 " GROUP BY error_code ORDER BY SUM(error_count) DESC, "
                                 "error_code LIMIT ",
                                 max_rows),
       soci::into(code), soci::into(code_count));
  by_code.execute();
  while (by_code.fetch()) {
    v1::ErrorCodeCount* c = errors->add_errors_by_code();
    c->set_error_code(code);
    c->set_count(code_count);
  }
  soci::statement by_key =
      (s.prepare << absl::StrCat(
           "SELECT provider_code, key_id, SUM(error_count) FROM t_ai_error_stats WHERE ", range,
           " GROUP BY provider_code, key_id ORDER BY SUM(error_count) DESC, provider_code, "
           "key_id LIMIT ",
           max_rows),
       soci::into(provider), soci::into(key_id), soci::into(key_count));
  by_key.execute();
  while (by_key.fetch()) {
    v1::KeyErrorCount* k = errors->add_errors_by_key();
    k->set_provider_code(provider);
    k->set_key_id(key_id);
    k->set_count(key_count);
  }
  NameKeys(s, *errors->mutable_errors_by_key());
}

absl::Status CheckLogQuery(const v1::QueryLogsRequest& req) {
  if (!req.status().empty() && req.status() != "success" && req.status() != "error") {
    return absl::InvalidArgumentError(absl::StrCat(
        "status must be 'success', 'error' or empty, got '", CleanUtf8(req.status(), 32), "'"));
  }
  if (req.page() < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("page is 1-based (0 means 1), got ", req.page()));
  }
  if (req.page_size() < 0 || req.page_size() > kMaxPageSize) {
    return absl::InvalidArgumentError(absl::StrCat("page_size must be between 1 and ", kMaxPageSize,
                                                   " (0 means ", kDefaultPageSize, "), got ",
                                                   req.page_size()));
  }
  if (req.key_id() < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("key_id must not be negative, got ", req.key_id()));
  }
  if (req.has_start_time() && !TimestampInRange(req.start_time())) {
    return absl::InvalidArgumentError("start_time is outside the years 1970..9999");
  }
  if (req.has_end_time() && !TimestampInRange(req.end_time())) {
    return absl::InvalidArgumentError("end_time is outside the years 1970..9999");
  }
  if (req.has_start_time() && req.has_end_time() &&
      FromProtoTimestamp(req.end_time()) < FromProtoTimestamp(req.start_time())) {
    return absl::InvalidArgumentError("end_time is before start_time");
  }
  return absl::OkStatus();
}

// " AND ..." for each filter of a (checked) QueryLogs request.
std::string LogFilters(const v1::QueryLogsRequest& req, const SqlQuoter& quoter) {
  std::string filters;
  if (!req.status().empty()) absl::StrAppend(&filters, " AND status = '", req.status(), "'");
  if (!req.provider_code().empty()) {
    absl::StrAppend(&filters, " AND provider_code = ", quoter.Quote(req.provider_code()));
  }
  if (req.key_id() > 0) absl::StrAppend(&filters, " AND key_id = ", req.key_id());
  if (!req.user_id().empty()) {
    absl::StrAppend(&filters, " AND user_id = ", quoter.Quote(req.user_id()));
  }
  if (req.has_start_time()) {
    absl::StrAppend(&filters, " AND created_at >= '",
                    FormatDbTime(FromProtoTimestamp(req.start_time())), "'");
  }
  if (req.has_end_time()) {
    // created_at has whole milliseconds: "< end" on the millisecond that
    // holds end_time would drop rows inside it, so round the bound up.
    const absl::Time end = FromProtoTimestamp(req.end_time());
    const absl::Time bound =
        TruncateToMillis(end) == end ? end : TruncateToMillis(end) + absl::Milliseconds(1);
    absl::StrAppend(&filters, " AND created_at < '", FormatDbTime(bound), "'");
  }
  return filters;
}

// One page of log rows matching `where`, newest first, each read as the
// columns of kLogColumns describe it.
absl::Status ReadLogs(soci::session& s, const db::Dialect& d, const std::string& where,
                      int page_size, int64_t offset, v1::QueryLogsResponse* resp) {
  long long id = 0;
  LogRow row;
  db::RowReader<LogRow> reader(kLogColumns);
  soci::statement stmt(s);
  stmt.alloc();
  stmt.exchange(soci::into(id));
  reader.Bind(stmt, &row);
  stmt.prepare(absl::StrCat(
      "SELECT id, ", db::ReadExpressions<LogRow>(kLogColumns, d), " FROM t_ai_api_logs", where,
      // The time indexes end in id (SQLite: rowid; MySQL: explicitly,
      // migration 3), so this order is an index walk, not a sort.
      " ORDER BY created_at DESC, id DESC LIMIT ", page_size, " OFFSET ", offset));
  stmt.define_and_bind();
  stmt.execute();
  while (stmt.fetch()) {
    if (absl::Status st = reader.Complete(); !st.ok()) return st;
    v1::CallLog* log = resp->add_logs();
    log->set_id(id);
    log->set_status(row.success ? "success" : "error");
    ToCallEvent(row, log->mutable_event());
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<UsageQueries>> UsageQueries::Create(db::Database* db,
                                                                   UsageQueryOptions options,
                                                                   UsageMetrics* metrics,
                                                                   Clock* clock) {
  absl::StatusOr<SqlQuoter> quoter = SqlQuoter::ForDatabase(*db);
  if (!quoter.ok()) return quoter.status();
  return std::unique_ptr<UsageQueries>(new UsageQueries(db, options, metrics, clock, *quoter));
}

absl::Status UsageQueries::Db(const std::function<absl::Status(soci::session&)>& fn) {
  absl::Status st = db_->Run(fn);
  if (!st.ok() && metrics_ != nullptr) metrics_->db_errors_query->Increment();
  return st;
}

absl::StatusOr<v1::GetUsageResponse> UsageQueries::GetUsage(const v1::GetUsageRequest& req) {
  const absl::CivilDay today = absl::ToCivilDay(clock_->Now(), options_.stats_zone);
  absl::StatusOr<DayRange> range = UsageRange(req, today, options_.max_usage_days);
  if (!range.ok()) return range.status();
  const db::Dialect& d = db_->dialect();
  absl::StatusOr<Grouping> grouping = GroupingOf(req.group_by(), d);
  if (!grouping.ok()) return grouping.status();
  std::string where = absl::StrCat("stat_date >= '", FormatDate(range->start),
                                   "' AND stat_date <= '", FormatDate(range->end), "'");
  if (!req.provider_code().empty()) {
    absl::StrAppend(&where, " AND provider_code = ", quoter_.Quote(req.provider_code()));
  }
  const std::string sql = absl::StrCat("SELECT ", grouping->columns, ", ", SumsSelect(d),
                                       " FROM t_ai_usage_stats WHERE ", where, " GROUP BY ",
                                       grouping->group_by, " ORDER BY ", grouping->order_by);
  v1::GetUsageResponse resp;
  absl::Status st =
      Db([&](soci::session& s) { return ReadUsageRows(s, sql, req.group_by(), &resp); });
  if (!st.ok()) return st;
  return resp;
}

absl::Status UsageQueries::Trend(soci::session& s, absl::CivilDay from, absl::CivilDay to,
                                 const std::string& provider_code,
                                 google::protobuf::RepeatedPtrField<v1::TrendPoint>* points) {
  const db::Dialect& d = db_->dialect();
  std::string sql =
      absl::StrCat("SELECT ", d.is_mysql() ? "CAST(stat_date AS CHAR)" : "stat_date",
                   ", COALESCE(SUM(total_requests),0), COALESCE(SUM(success_count),0), "
                   "COALESCE(SUM(total_tokens),0), ",
                   d.DecimalToNanos("COALESCE(SUM(total_cost),0)"),
                   " FROM t_ai_usage_stats WHERE stat_date >= '", FormatDate(from),
                   "' AND stat_date <= '", FormatDate(to), "'");
  if (!provider_code.empty()) {
    absl::StrAppend(&sql, " AND provider_code = ", quoter_.Quote(provider_code));
  }
  absl::StrAppend(&sql, " GROUP BY stat_date");
  struct Day {
    long long requests = 0, successes = 0, tokens = 0, cost = 0;
  };
  std::map<std::string, Day> by_day;
  std::string date;
  Day day;
  soci::statement st = (s.prepare << sql, soci::into(date), soci::into(day.requests),
                        soci::into(day.successes), soci::into(day.tokens), soci::into(day.cost));
  st.execute();
  while (st.fetch()) by_day[date] = day;
  for (absl::CivilDay cur = from; cur <= to; ++cur) {
    v1::TrendPoint* p = points->Add();
    p->set_date(FormatDate(cur));
    auto it = by_day.find(p->date());
    if (it == by_day.end()) continue;
    const Day& v = it->second;
    p->set_requests(v.requests);
    p->set_tokens(v.tokens);
    p->set_cost_nanos(v.cost);
    p->set_cost(v.cost / kNanosPerUnit);
    p->set_success_rate(v.requests > 0 ? static_cast<double>(v.successes) / v.requests : 0);
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::GetTrendResponse> UsageQueries::GetTrend(const v1::GetTrendRequest& req) {
  if (absl::Status st = DaysInRange(req.days(), "days"); !st.ok()) return st;
  const int days = req.days() == 0 ? kDefaultTrendDays : req.days();
  const absl::CivilDay today = absl::ToCivilDay(clock_->Now(), options_.stats_zone);
  v1::GetTrendResponse resp;
  absl::Status st = Db([&](soci::session& s) {
    return Trend(s, today - (days - 1), today, req.provider_code(), resp.mutable_points());
  });
  if (!st.ok()) return st;
  return resp;
}

absl::StatusOr<v1::GetDashboardResponse> UsageQueries::GetDashboard(
    const v1::GetDashboardRequest& req) {
  if (absl::Status st = DaysInRange(req.days(), "days"); !st.ok()) return st;
  const int days = req.days() == 0 ? kDefaultDashboardDays : req.days();
  const absl::CivilDay today = absl::ToCivilDay(clock_->Now(), options_.stats_zone);
  const absl::CivilDay from = today - (days - 1);
  const std::string range = absl::StrCat("stat_date >= '", FormatDate(from), "' AND stat_date <= '",
                                         FormatDate(today), "'");
  v1::GetDashboardResponse resp;
  absl::Status st = Db([&](soci::session& s) -> absl::Status {
    absl::Status read = ReadSummary(s, db_->dialect(), range, resp.mutable_summary());
    if (read.ok()) read = Trend(s, from, today, "", resp.mutable_trend());
    if (read.ok()) ReadErrors(s, range, options_.max_breakdown_rows, resp.mutable_errors());
    return read;
  });
  if (!st.ok()) return st;
  return resp;
}

UsageQueries::CachedCount UsageQueries::CountLogs(soci::session& s, const std::string& filters,
                                                  long long snapshot) {
  const absl::Time now = clock_->Now();
  const long long cap = options_.max_counted_logs;
  CachedCount base;
  {
    absl::MutexLock lock(&count_mu_);
    auto it = counts_.find(filters);
    if (it != counts_.end() && now - it->second.counted_at <= options_.log_count_reuse &&
        it->second.snapshot <= snapshot) {
      base = it->second;
    }
  }
  CachedCount result;
  if (base.snapshot > 0) {
    result = base;
    if (snapshot > base.snapshot && !base.capped) {
      // Only the rows after the old snapshot: a primary key range.
      long long added = 0;
      s << absl::StrCat("SELECT COUNT(*) FROM t_ai_api_logs",
                        db_->dialect().is_mysql() ? " FORCE INDEX (PRIMARY)" : " NOT INDEXED",
                        " WHERE id > ", base.snapshot, " AND id <= ", snapshot, filters),
          soci::into(added);
      result.count += added;
      if (cap > 0 && result.count > cap) {
        result.count = cap;
        result.capped = true;
      }
    }
  } else {
    const std::string rows =
        absl::StrCat("SELECT 1 FROM t_ai_api_logs WHERE (id + 0) <= ", snapshot, filters);
    if (cap > 0) {
      s << absl::StrCat("SELECT COUNT(*) FROM (", rows, " LIMIT ", cap + 1, ") counted"),
          soci::into(result.count);
      if (result.count > cap) {
        result.count = cap;
        result.capped = true;
      }
    } else {
      s << absl::StrCat("SELECT COUNT(*) FROM (", rows, ") counted"), soci::into(result.count);
    }
    result.counted_at = now;
  }
  result.snapshot = snapshot;
  absl::MutexLock lock(&count_mu_);
  if (counts_.size() >= 256 && !counts_.contains(filters)) counts_.clear();
  // Reuse stays bounded by the time of the full count.
  counts_[filters] = result;
  return result;
}

absl::StatusOr<LogPage> UsageQueries::QueryLogs(const v1::QueryLogsRequest& req,
                                                int64_t snapshot_id) {
  if (absl::Status st = CheckLogQuery(req); !st.ok()) return st;
  const int page = req.page() == 0 ? 1 : req.page();
  const int page_size = req.page_size() == 0 ? kDefaultPageSize : req.page_size();
  const int64_t offset = static_cast<int64_t>(page - 1) * page_size;
  const std::string filters = LogFilters(req, quoter_);

  LogPage out;
  out.response.set_page(page);
  out.response.set_page_size(page_size);
  absl::Status st = Db([&](soci::session& s) -> absl::Status {
    long long snap = snapshot_id;
    if (snap <= 0) {
      soci::indicator ind = soci::i_null;
      s << "SELECT MAX(id) FROM t_ai_api_logs", soci::into(snap, ind);
      if (ind != soci::i_ok) snap = 0;
    }
    out.snapshot_id = snap;
    const CachedCount counted = CountLogs(s, filters, snap);
    out.response.set_total(counted.count);
    out.total_capped = counted.capped;
    if (offset >= counted.count && !counted.capped) return absl::OkStatus();
    // "(id + 0)": the snapshot bound must not be used as an index range (it
    // covers nearly the whole table); the planners should walk the
    // created_at index of the filter instead, which also yields the order.
    return ReadLogs(s, db_->dialect(), absl::StrCat(" WHERE (id + 0) <= ", snap, filters),
                    page_size, offset, &out.response);
  });
  if (!st.ok()) return st;
  return out;
}

}  // namespace aigw::usage
