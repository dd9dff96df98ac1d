#ifndef AIGW_SERVICES_USAGE_STATS_ACCUMULATOR_H_
#define AIGW_SERVICES_USAGE_STATS_ACCUMULATOR_H_

#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "libs/db/column.h"
#include "libs/db/dialect.h"
#include "services/usage/call_log_row.h"
#include "services/usage/sql_literal.h"

namespace aigw::usage {

// The per-day figures of one (provider, model, key) as t_ai_usage_stats
// keeps them.
struct StatsFigures {
  int64_t provider_id = 0;
  // Client requests: final attempts.
  int64_t total_requests = 0;
  int64_t success_count = 0;
  int64_t error_count = 0;
  // Every upstream attempt.
  int64_t attempt_count = 0;
  int64_t attempt_error_count = 0;
  // Tokens, cost and latency of every attempt (a failed attempt may still
  // have used and cost tokens).
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  int64_t total_tokens = 0;
  int64_t cached_prompt_tokens = 0;
  int64_t cache_creation_tokens = 0;
  int64_t reasoning_tokens = 0;
  int64_t cost_nanos = 0;
  int64_t latency_ms = 0;
  // Tool calls in the answers (only a successful attempt has any), and the
  // images of client requests (final attempts: a retry sends the same
  // images again, which its tokens already count).
  int64_t tool_calls = 0;
  int64_t images = 0;

  void Add(const LogRow& row);
  bool operator==(const StatsFigures&) const = default;
};

using StatsColumn = db::Column<StatsFigures>;

// The summed figures of t_ai_usage_stats, each with the StatsFigures field
// that holds it: the upserts add them, the queries sum them
// (provider_id is kept, not summed).
inline constexpr StatsColumn kStatsFigureColumns[] = {
    StatsColumn::BigInt("total_requests", &StatsFigures::total_requests),
    StatsColumn::BigInt("success_count", &StatsFigures::success_count),
    StatsColumn::BigInt("error_count", &StatsFigures::error_count),
    StatsColumn::BigInt("attempt_count", &StatsFigures::attempt_count),
    StatsColumn::BigInt("attempt_error_count", &StatsFigures::attempt_error_count),
    StatsColumn::BigInt("prompt_tokens", &StatsFigures::prompt_tokens),
    StatsColumn::BigInt("completion_tokens", &StatsFigures::completion_tokens),
    StatsColumn::BigInt("total_tokens", &StatsFigures::total_tokens),
    StatsColumn::BigInt("cached_prompt_tokens", &StatsFigures::cached_prompt_tokens),
    StatsColumn::BigInt("cache_creation_tokens", &StatsFigures::cache_creation_tokens),
    StatsColumn::BigInt("reasoning_tokens", &StatsFigures::reasoning_tokens),
    StatsColumn::Money("total_cost", &StatsFigures::cost_nanos),
    StatsColumn::BigInt("total_latency_ms", &StatsFigures::latency_ms),
    StatsColumn::BigInt("tool_calls", &StatsFigures::tool_calls),
    StatsColumn::BigInt("images", &StatsFigures::images),
};

// stat_date, provider_code, model, key_id: the unique key of a stats row.
using StatsKey = std::tuple<absl::CivilDay, std::string, std::string, int64_t>;
// stat_date, provider_code, key_id, error_code: of an error-stats row.
using ErrorKey = std::tuple<absl::CivilDay, std::string, int64_t, std::string>;

// Sums a batch of new log rows in memory, so a batch of thousands of events
// costs one upsert per (day, provider, model, key) and per error code
// instead of one per event. Keys are kept sorted: every writer updates
// stats rows in the same order, which keeps concurrent MySQL writers from
// deadlocking on each other's row locks.
class StatsAccumulator {
 public:
  void Add(const LogRow& row);
  bool empty() const { return stats_.empty(); }
  const std::map<StatsKey, StatsFigures>& stats() const { return stats_; }
  const std::map<ErrorKey, int64_t>& errors() const { return errors_; }

  // Multi-row upserts (at most `max_rows` rows each) adding these sums to
  // t_ai_usage_stats and t_ai_error_stats. `now_db` is the updated_at value.
  std::vector<std::string> UpsertStatements(const db::Dialect& dialect, const SqlQuoter& quoter,
                                            absl::string_view now_db, size_t max_rows) const;

 private:
  std::map<StatsKey, StatsFigures> stats_;
  std::map<ErrorKey, int64_t> errors_;
};

}  // namespace aigw::usage

#endif  // AIGW_SERVICES_USAGE_STATS_ACCUMULATOR_H_
