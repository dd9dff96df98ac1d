#include "services/usage/stats_accumulator.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "services/usage/usage_time.h"

namespace aigw::usage {
namespace {

// Rows gathered into multi-row statements of at most `max_rows` rows each:
// head, the rows separated by commas, tail.
class MultiRowStatements {
 public:
  MultiRowStatements(std::string head, std::string tail, size_t max_rows,
                     std::vector<std::string>* out)
      : head_(std::move(head)), tail_(std::move(tail)), max_rows_(max_rows), out_(out) {}

  // The statement to append the next row's "(...)" to.
  std::string* AddRow() {
    if (rows_ == max_rows_) Flush();
    if (rows_++ == 0) {
      sql_ = head_;
    } else {
      sql_.push_back(',');
    }
    return &sql_;
  }

  void Flush() {
    if (rows_ == 0) return;
    sql_.append(tail_);
    out_->push_back(std::move(sql_));
    sql_.clear();
    rows_ = 0;
  }

 private:
  const std::string head_;
  const std::string tail_;
  const size_t max_rows_;
  std::vector<std::string>* out_;
  std::string sql_;
  size_t rows_ = 0;
};

std::string StatsInsertHead() {
  return absl::StrCat(
      "INSERT INTO t_ai_usage_stats (stat_date, provider_id, provider_code, model, key_id, ",
      db::ColumnNames<StatsFigures>(kStatsFigureColumns), ", created_at, updated_at) VALUES ");
}

// Adds each figure to the row already there; the first non-zero provider_id
// sticks.
std::string StatsUpsertTail(const db::Dialect& d) {
  std::vector<std::string> sets;
  for (const StatsColumn& c : kStatsFigureColumns) {
    sets.push_back(absl::StrCat(c.name, " = ", c.name, " + ", d.Excluded(c.name)));
  }
  sets.push_back(absl::StrCat("provider_id = CASE WHEN provider_id = 0 THEN ",
                              d.Excluded("provider_id"), " ELSE provider_id END"));
  sets.push_back(absl::StrCat("updated_at = ", d.Excluded("updated_at")));
  return absl::StrCat(d.UpsertClause("stat_date, provider_code, model, key_id"),
                      absl::StrJoin(sets, ", "));
}

void AppendStatsRow(const StatsKey& key, const StatsFigures& f, const SqlQuoter& q,
                    const std::string& now, std::string* sql) {
  const auto& [day, provider, model, key_id] = key;
  absl::StrAppend(sql, "('", FormatDate(day), "',", f.provider_id, ",");
  q.Append(provider, sql);
  sql->push_back(',');
  q.Append(model, sql);
  absl::StrAppend(sql, ",", key_id);
  for (const StatsColumn& c : kStatsFigureColumns) {
    sql->push_back(',');
    AppendLiteral(c, f, q, sql);
  }
  absl::StrAppend(sql, ",", now, ",", now, ")");
}

std::string ErrorsUpsertTail(const db::Dialect& d) {
  return absl::StrCat(d.UpsertClause("stat_date, provider_code, key_id, error_code"),
                      "error_count = error_count + ", d.Excluded("error_count"),
                      ", updated_at = ", d.Excluded("updated_at"));
}

void AppendErrorRow(const ErrorKey& key, int64_t count, const SqlQuoter& q, const std::string& now,
                    std::string* sql) {
  const auto& [day, provider, key_id, code] = key;
  absl::StrAppend(sql, "('", FormatDate(day), "',");
  q.Append(provider, sql);
  absl::StrAppend(sql, ",", key_id, ",");
  q.Append(code, sql);
  absl::StrAppend(sql, ",", count, ",", now, ",", now, ")");
}

}  // namespace

void StatsFigures::Add(const LogRow& r) {
  if (provider_id == 0) provider_id = r.provider_id;
  if (r.is_final) {
    ++total_requests;
    ++(r.success ? success_count : error_count);
    images += r.images;
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
  tool_calls += r.tool_calls;
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
  MultiRowStatements stats(StatsInsertHead(), StatsUpsertTail(d), max_rows, &out);
  for (const auto& [key, figures] : stats_) AppendStatsRow(key, figures, q, now, stats.AddRow());
  stats.Flush();
  MultiRowStatements errors(
      "INSERT INTO t_ai_error_stats (stat_date, provider_code, key_id, error_code, "
      "error_count, created_at, updated_at) VALUES ",
      ErrorsUpsertTail(d), max_rows, &out);
  for (const auto& [key, count] : errors_) AppendErrorRow(key, count, q, now, errors.AddRow());
  errors.Flush();
  return out;
}

}  // namespace aigw::usage
