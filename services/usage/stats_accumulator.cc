#include "services/usage/stats_accumulator.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "services/usage/usage_time.h"

namespace aigw::usage {
namespace {

constexpr const char* kSummedStatsColumns[] = {
    "total_requests",       "success_count",         "error_count",       "attempt_count",
    "attempt_error_count",  "prompt_tokens",         "completion_tokens", "total_tokens",
    "cached_prompt_tokens", "cache_creation_tokens", "reasoning_tokens",  "total_cost",
    "total_latency_ms"};

}  // namespace

void StatsFigures::Add(const LogRow& r) {
  if (provider_id == 0) provider_id = r.provider_id;
  if (r.is_final) {
    ++total_requests;
    ++(r.success ? success_count : error_count);
  }
  ++attempt_count;
  if (!r.success) ++attempt_error_count;
  prompt_tokens += r.prompt_tokens;
  completion_tokens += r.completion_tokens;
  total_tokens += r.total_tokens;
  cached_prompt_tokens += r.cached_prompt_tokens;
  cache_creation_tokens += r.cache_creation_tokens;
  reasoning_tokens += r.reasoning_tokens;
  cost_nanos += r.cost_nanos;
  latency_ms += r.latency_ms;
}

void StatsAccumulator::Add(const LogRow& r) {
  stats_[StatsKey{r.stat_date, r.provider_code, r.model, r.key_id}].Add(r);
  if (!r.success) ++errors_[ErrorKey{r.stat_date, r.provider_code, r.key_id, r.error_code}];
}

std::vector<std::string> StatsAccumulator::UpsertStatements(const db::Dialect& d,
                                                            const SqlQuoter& q,
                                                            absl::string_view now_db,
                                                            size_t max_rows) const {
  std::vector<std::string> out;
  if (max_rows == 0) max_rows = 1;
  const std::string now = q.Quote(now_db);

  std::string stats_tail = d.UpsertClause("stat_date, provider_code, model, key_id");
  std::vector<std::string> sets;
  for (const char* c : kSummedStatsColumns) {
    sets.push_back(absl::StrCat(c, " = ", c, " + ", d.Excluded(c)));
  }
  sets.push_back(absl::StrCat("provider_id = CASE WHEN provider_id = 0 THEN ",
                              d.Excluded("provider_id"), " ELSE provider_id END"));
  sets.push_back(absl::StrCat("updated_at = ", d.Excluded("updated_at")));
  absl::StrAppend(&stats_tail, absl::StrJoin(sets, ", "));

  std::string sql;
  size_t rows = 0;
  auto flush = [&](const std::string& tail) {
    if (rows == 0) return;
    sql.append(tail);
    out.push_back(std::move(sql));
    sql.clear();
    rows = 0;
  };
  for (const auto& [key, f] : stats_) {
    if (rows == 0) {
      sql = absl::StrCat(
          "INSERT INTO t_ai_usage_stats (stat_date, provider_id, provider_code, model, key_id, ",
          absl::StrJoin(kSummedStatsColumns, ", "), ", created_at, updated_at) VALUES ");
    } else {
      sql.push_back(',');
    }
    const auto& [day, provider, model, key_id] = key;
    absl::StrAppend(&sql, "('", FormatDate(day), "',", f.provider_id, ",");
    q.Append(provider, &sql);
    sql.push_back(',');
    q.Append(model, &sql);
    absl::StrAppend(&sql, ",", key_id, ",", f.total_requests, ",", f.success_count, ",",
                    f.error_count, ",", f.attempt_count, ",", f.attempt_error_count, ",",
                    f.prompt_tokens, ",", f.completion_tokens, ",", f.total_tokens, ",",
                    f.cached_prompt_tokens, ",", f.cache_creation_tokens, ",", f.reasoning_tokens,
                    ",", db::NanosToDecimal(f.cost_nanos), ",", f.latency_ms, ",", now, ",", now,
                    ")");
    if (++rows == max_rows) flush(stats_tail);
  }
  flush(stats_tail);

  const std::string errors_tail =
      absl::StrCat(d.UpsertClause("stat_date, provider_code, key_id, error_code"),
                   "error_count = error_count + ", d.Excluded("error_count"),
                   ", updated_at = ", d.Excluded("updated_at"));
  for (const auto& [key, count] : errors_) {
    if (rows == 0) {
      sql =
          "INSERT INTO t_ai_error_stats (stat_date, provider_code, key_id, error_code, "
          "error_count, created_at, updated_at) VALUES ";
    } else {
      sql.push_back(',');
    }
    const auto& [day, provider, key_id, code] = key;
    absl::StrAppend(&sql, "('", FormatDate(day), "',");
    q.Append(provider, &sql);
    absl::StrAppend(&sql, ",", key_id, ",");
    q.Append(code, &sql);
    absl::StrAppend(&sql, ",", count, ",", now, ",", now, ")");
    if (++rows == max_rows) flush(errors_tail);
  }
  flush(errors_tail);
  return out;
}

}  // namespace aigw::usage
