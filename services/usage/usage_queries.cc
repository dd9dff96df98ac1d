#include "services/usage/usage_queries.h"

#include <map>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "libs/common/proto_time.h"
#include "libs/common/utf8.h"
#include "libs/db/dialect.h"
#include "services/usage/call_log_row.h"
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

// The summed figures of a group of stats rows.
struct Sums {
  long long total_requests = 0;
  long long success_count = 0;
  long long error_count = 0;
  long long attempt_count = 0;
  long long prompt_tokens = 0;
  long long completion_tokens = 0;
  long long total_tokens = 0;
  long long cached_prompt_tokens = 0;
  long long cache_creation_tokens = 0;
  long long reasoning_tokens = 0;
  long long cost_nanos = 0;
  long long latency_ms = 0;

  double AvgLatency() const {
    return attempt_count > 0 ? static_cast<double>(latency_ms) / attempt_count : 0;
  }
  double SuccessRate() const {
    return total_requests > 0 ? static_cast<double>(success_count) / total_requests : 0;
  }
};

std::string SumsSelect(const db::Dialect& d) {
  return absl::StrCat(
      "COALESCE(SUM(total_requests),0), COALESCE(SUM(success_count),0), "
      "COALESCE(SUM(error_count),0), COALESCE(SUM(attempt_count),0), "
      "COALESCE(SUM(prompt_tokens),0), COALESCE(SUM(completion_tokens),0), "
      "COALESCE(SUM(total_tokens),0), COALESCE(SUM(cached_prompt_tokens),0), "
      "COALESCE(SUM(cache_creation_tokens),0), COALESCE(SUM(reasoning_tokens),0), ",
      d.DecimalToNanos("COALESCE(SUM(total_cost),0)"), ", COALESCE(SUM(total_latency_ms),0)");
}

void IntoSums(soci::statement& st, Sums& s) {
  st.exchange(soci::into(s.total_requests));
  st.exchange(soci::into(s.success_count));
  st.exchange(soci::into(s.error_count));
  st.exchange(soci::into(s.attempt_count));
  st.exchange(soci::into(s.prompt_tokens));
  st.exchange(soci::into(s.completion_tokens));
  st.exchange(soci::into(s.total_tokens));
  st.exchange(soci::into(s.cached_prompt_tokens));
  st.exchange(soci::into(s.cache_creation_tokens));
  st.exchange(soci::into(s.reasoning_tokens));
  st.exchange(soci::into(s.cost_nanos));
  st.exchange(soci::into(s.latency_ms));
}

void FillRow(const Sums& s, v1::UsageRow* row) {
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
  row->set_avg_latency_ms(s.AvgLatency());
}

absl::Status DaysInRange(int days, absl::string_view what) {
  if (days < 0 || days > kMaxDays) {
    return absl::InvalidArgumentError(absl::StrCat(what, " must be between 1 and ", kMaxDays,
                                                   " (0 means the default), got ", days));
  }
  return absl::OkStatus();
}

// Key names for the given key ids (deleted keys have none).
absl::flat_hash_map<int64_t, std::string> KeyNames(soci::session& s,
                                                   const std::vector<int64_t>& ids) {
  absl::flat_hash_map<int64_t, std::string> names;
  std::vector<int64_t> wanted;
  for (int64_t id : ids) {
    if (id > 0) wanted.push_back(id);
  }
  if (wanted.empty()) return names;
  long long id = 0;
  std::string name;
  soci::statement st =
      (s.prepare << absl::StrCat("SELECT id, key_name FROM t_ai_api_keys WHERE id IN (",
                                 absl::StrJoin(wanted, ","), ")"),
       soci::into(id), soci::into(name));
  st.execute();
  while (st.fetch()) names[id] = name;
  return names;
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
  absl::CivilDay end = today;
  if (!req.end_date().empty()) {
    absl::StatusOr<absl::CivilDay> d = ParseDate(req.end_date(), "end_date");
    if (!d.ok()) return d.status();
    end = *d;
  }
  absl::CivilDay start = end - 29;
  if (!req.start_date().empty()) {
    absl::StatusOr<absl::CivilDay> d = ParseDate(req.start_date(), "start_date");
    if (!d.ok()) return d.status();
    start = *d;
  }
  if (end < start) {
    return absl::InvalidArgumentError(
        absl::StrCat("end_date ", FormatDate(end), " is before start_date ", FormatDate(start)));
  }
  if (end - start + 1 > options_.max_usage_days) {
    return absl::InvalidArgumentError(absl::StrCat("the range ", FormatDate(start), " .. ",
                                                   FormatDate(end), " is longer than ",
                                                   options_.max_usage_days, " days"));
  }
  const db::Dialect& d = db_->dialect();
  std::string group_cols;  // three columns: text, text, integer
  std::string group_by;
  std::string order_by;
  switch (req.group_by()) {
    case v1::GetUsageRequest::GROUP_BY_UNSPECIFIED:
    case v1::GetUsageRequest::DAY:
      group_cols = absl::StrCat(d.is_mysql() ? "CAST(stat_date AS CHAR)" : "stat_date", ", '', 0");
      group_by = "stat_date";
      order_by = "stat_date";
      break;
    case v1::GetUsageRequest::PROVIDER:
      group_cols = "provider_code, '', 0";
      group_by = "provider_code";
      order_by = "COALESCE(SUM(total_requests),0) DESC, provider_code";
      break;
    case v1::GetUsageRequest::MODEL:
      group_cols = "provider_code, model, 0";
      group_by = "provider_code, model";
      order_by = "COALESCE(SUM(total_requests),0) DESC, provider_code, model";
      break;
    case v1::GetUsageRequest::KEY:
      group_cols = "provider_code, '', key_id";
      group_by = "provider_code, key_id";
      order_by = "COALESCE(SUM(total_requests),0) DESC, provider_code, key_id";
      break;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("group_by ", static_cast<int>(req.group_by()), " is not a known GroupBy"));
  }
  std::string where = absl::StrCat("stat_date >= '", FormatDate(start), "' AND stat_date <= '",
                                   FormatDate(end), "'");
  if (!req.provider_code().empty()) {
    absl::StrAppend(&where, " AND provider_code = ", quoter_.Quote(req.provider_code()));
  }
  const std::string sql =
      absl::StrCat("SELECT ", group_cols, ", ", SumsSelect(d), " FROM t_ai_usage_stats WHERE ",
                   where, " GROUP BY ", group_by, " ORDER BY ", order_by);
  v1::GetUsageResponse resp;
  absl::Status st = Db([&](soci::session& s) -> absl::Status {
    std::string g1, g2;
    long long g3 = 0;
    Sums sums;
    soci::statement stmt(s);
    stmt.alloc();
    stmt.exchange(soci::into(g1));
    stmt.exchange(soci::into(g2));
    stmt.exchange(soci::into(g3));
    IntoSums(stmt, sums);
    stmt.prepare(sql);
    stmt.define_and_bind();
    stmt.execute();
    std::vector<int64_t> key_ids;
    while (stmt.fetch()) {
      v1::UsageRow* row = resp.add_rows();
      switch (req.group_by()) {
        case v1::GetUsageRequest::PROVIDER:
          row->set_provider_code(g1);
          break;
        case v1::GetUsageRequest::MODEL:
          row->set_provider_code(g1);
          row->set_model(g2);
          break;
        case v1::GetUsageRequest::KEY:
          row->set_provider_code(g1);
          row->set_key_id(g3);
          key_ids.push_back(g3);
          break;
        default:
          row->set_date(g1);
      }
      FillRow(sums, row);
    }
    if (!key_ids.empty()) {
      auto names = KeyNames(s, key_ids);
      for (v1::UsageRow& row : *resp.mutable_rows()) {
        auto it = names.find(row.key_id());
        if (it != names.end()) row.set_key_name(it->second);
      }
    }
    return absl::OkStatus();
  });
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
  const db::Dialect& d = db_->dialect();
  v1::GetDashboardResponse resp;
  absl::Status st = Db([&](soci::session& s) -> absl::Status {
    Sums sums;
    {
      soci::statement stmt(s);
      stmt.alloc();
      IntoSums(stmt, sums);
      stmt.prepare(absl::StrCat("SELECT ", SumsSelect(d), " FROM t_ai_usage_stats WHERE ", range));
      stmt.define_and_bind();
      stmt.execute(true);
    }
    v1::DashboardSummary* sum = resp.mutable_summary();
    sum->set_total_requests(sums.total_requests);
    sum->set_success_count(sums.success_count);
    sum->set_error_count(sums.error_count);
    sum->set_success_rate(sums.SuccessRate());
    sum->set_total_tokens(sums.total_tokens);
    sum->set_total_cost_nanos(sums.cost_nanos);
    sum->set_total_cost(sums.cost_nanos / kNanosPerUnit);
    sum->set_avg_latency_ms(sums.AvgLatency());

    absl::Status trend = Trend(s, from, today, "", resp.mutable_trend());
    if (!trend.ok()) return trend;

    v1::ErrorBreakdown* errors = resp.mutable_errors();
    long long total = 0;
    s << absl::StrCat("SELECT COALESCE(SUM(error_count),0) FROM t_ai_error_stats WHERE ", range),
        soci::into(total);
    errors->set_total_errors(total);
    {
      std::string code;
      long long count = 0;
      soci::statement stmt =
          (s.prepare << absl::StrCat(
               "SELECT error_code, SUM(error_count) FROM t_ai_error_stats WHERE ", range,
               " GROUP BY error_code ORDER BY SUM(error_count) DESC, error_code LIMIT ",
               options_.max_breakdown_rows),
           soci::into(code), soci::into(count));
      stmt.execute();
      while (stmt.fetch()) {
        v1::ErrorCodeCount* c = errors->add_errors_by_code();
        c->set_error_code(code);
        c->set_count(count);
      }
    }
    {
      std::string provider;
      long long key_id = 0, count = 0;
      soci::statement stmt =
          (s.prepare << absl::StrCat(
               "SELECT provider_code, key_id, SUM(error_count) FROM t_ai_error_stats WHERE ", range,
               " GROUP BY provider_code, key_id ORDER BY SUM(error_count) DESC, provider_code, "
               "key_id LIMIT ",
               options_.max_breakdown_rows),
           soci::into(provider), soci::into(key_id), soci::into(count));
      stmt.execute();
      std::vector<int64_t> ids;
      while (stmt.fetch()) {
        v1::KeyErrorCount* k = errors->add_errors_by_key();
        k->set_provider_code(provider);
        k->set_key_id(key_id);
        k->set_count(count);
        ids.push_back(key_id);
      }
      auto names = KeyNames(s, ids);
      for (v1::KeyErrorCount& k : *errors->mutable_errors_by_key()) {
        auto it = names.find(k.key_id());
        if (it != names.end()) k.set_key_name(it->second);
      }
    }
    return absl::OkStatus();
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
  const int page = req.page() == 0 ? 1 : req.page();
  const int page_size = req.page_size() == 0 ? kDefaultPageSize : req.page_size();
  const int64_t offset = static_cast<int64_t>(page - 1) * page_size;

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
    std::string filters;
    if (!req.status().empty()) absl::StrAppend(&filters, " AND status = '", req.status(), "'");
    if (!req.provider_code().empty()) {
      absl::StrAppend(&filters, " AND provider_code = ", quoter_.Quote(req.provider_code()));
    }
    if (req.key_id() > 0) absl::StrAppend(&filters, " AND key_id = ", req.key_id());
    if (!req.user_id().empty()) {
      absl::StrAppend(&filters, " AND user_id = ", quoter_.Quote(req.user_id()));
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
    // "(id + 0)": the snapshot bound must not be used as an index range (it
    // covers nearly the whole table); the planners should walk the
    // created_at index of the filter instead, which also yields the order.
    const std::string where = absl::StrCat(" WHERE (id + 0) <= ", snap, filters);
    const CachedCount counted = CountLogs(s, filters, snap);
    out.response.set_total(counted.count);
    out.total_capped = counted.capped;
    if (offset >= counted.count && !counted.capped) return absl::OkStatus();

    long long id = 0, provider_id = 0, key_id = 0, prompt = 0, completion = 0, tokens = 0,
              cached = 0, cache_creation = 0, reasoning = 0, cost = 0, latency = 0, ttft = 0;
    int attempt = 0, http_status = 0, is_stream = 0, is_final = 0;
    std::string request_id, provider_code, model, user_id, ip, user_agent, status, error_code,
        error_message, created_at;
    soci::statement stmt(s);
    stmt.alloc();
    for (auto* v : {&id, &provider_id, &key_id, &prompt, &completion, &tokens, &cached,
                    &cache_creation, &reasoning, &cost, &latency, &ttft}) {
      stmt.exchange(soci::into(*v));
    }
    for (auto* v : {&attempt, &http_status, &is_stream, &is_final}) stmt.exchange(soci::into(*v));
    for (auto* v : {&request_id, &provider_code, &model, &user_id, &ip, &user_agent, &status,
                    &error_code, &error_message, &created_at}) {
      stmt.exchange(soci::into(*v));
    }
    const db::Dialect& d = db_->dialect();
    stmt.prepare(absl::StrCat(
        "SELECT id, provider_id, key_id, prompt_tokens, completion_tokens, total_tokens, "
        "cached_prompt_tokens, cache_creation_tokens, reasoning_tokens, ",
        d.DecimalToNanos("cost"),
        ", latency_ms, ttft_ms, attempt, http_status, is_stream, is_final, request_id, "
        "provider_code, model, COALESCE(user_id,''), COALESCE(ip_address,''), "
        "COALESCE(user_agent,''), status, COALESCE(error_code,''), COALESCE(error_message,''), ",
        d.is_mysql() ? "CAST(created_at AS CHAR)" : "created_at", " FROM t_ai_api_logs", where,
        // The time indexes end in id (SQLite: rowid; MySQL: explicitly,
        // migration 3), so this order is an index walk, not a sort.
        " ORDER BY created_at DESC, id DESC LIMIT ", page_size, " OFFSET ", offset));
    stmt.define_and_bind();
    stmt.execute();
    while (stmt.fetch()) {
      LogRow r;
      r.request_id = request_id;
      r.attempt = attempt;
      r.provider_id = provider_id;
      r.provider_code = provider_code;
      r.key_id = key_id;
      r.model = model;
      r.user_id = user_id;
      r.ip_address = ip;
      r.user_agent = user_agent;
      r.success = status == "success";
      r.error_code = error_code;
      r.error_message = error_message;
      r.http_status = http_status;
      r.prompt_tokens = prompt;
      r.completion_tokens = completion;
      r.total_tokens = tokens;
      r.cached_prompt_tokens = cached;
      r.cache_creation_tokens = cache_creation;
      r.reasoning_tokens = reasoning;
      r.cost_nanos = cost;
      r.latency_ms = latency;
      r.ttft_ms = ttft;
      r.is_stream = is_stream != 0;
      r.is_final = is_final != 0;
      absl::StatusOr<absl::Time> t = ParseDbTime(created_at);
      if (!t.ok()) return t.status();
      r.created_at = *t;
      v1::CallLog* log = out.response.add_logs();
      log->set_id(id);
      log->set_status(status);
      ToCallEvent(r, log->mutable_event());
    }
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  return out;
}

}  // namespace aigw::usage
