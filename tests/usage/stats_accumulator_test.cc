// Sums of new log rows per day, provider, model and key (and per error
// code), and the upserts that add them to the stats tables on both backends.

#include "services/usage/stats_accumulator.h"

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "soci/soci.h"
#include "tests/testing/table_columns.h"
#include "tests/testing/test_database.h"
#include "tests/usage/usage_test_util.h"

namespace aigw::usage {
namespace {

using ::aigw::testing::ExpectedColumn;
using ::aigw::testing::ReadTableColumns;
using ::aigw::testing::TableColumn;
using ::aigw::testing::TestDatabase;

const absl::CivilDay kDay(2026, 3, 10);

LogRow Row(const std::string& model, int64_t key_id, bool success, bool is_final,
           const std::string& error_code = "") {
  LogRow r;
  r.provider_id = 1;
  r.provider_code = "openai";
  r.model = model;
  r.key_id = key_id;
  r.success = success;
  r.is_final = is_final;
  r.error_code = error_code;
  r.prompt_tokens = 100;
  r.completion_tokens = 10;
  r.total_tokens = 110;
  r.cached_prompt_tokens = 1;
  r.cache_creation_tokens = 2;
  r.reasoning_tokens = 3;
  r.cost_nanos = 1000000001;
  r.latency_ms = 200;
  r.stat_date = kDay;
  return r;
}

TEST(StatsAccumulatorTest, CountsFinalAttemptsAsRequestsAndEveryAttemptsFigures) {
  StatsAccumulator acc;
  // One request: a rate-limited first attempt on key 1, then a success on key 1.
  // Each attempt sent 2 images; the answer called 3 tools.
  LogRow limited = Row("gpt-4o", 1, false, false, "HTTP_429");
  limited.images = 2;
  acc.Add(limited);
  LogRow answered = Row("gpt-4o", 1, true, true);
  answered.images = 2;
  answered.tool_calls = 3;
  acc.Add(answered);
  // Another request that failed for good.
  acc.Add(Row("gpt-4o", 1, false, true, "HTTP_500"));
  ASSERT_EQ(acc.stats().size(), 1u);
  const StatsFigures& f = acc.stats().at(StatsKey{kDay, "openai", "gpt-4o", 1});
  EXPECT_EQ(f.provider_id, 1);
  EXPECT_EQ(f.total_requests, 2);
  EXPECT_EQ(f.success_count, 1);
  EXPECT_EQ(f.error_count, 1);
  EXPECT_EQ(f.attempt_count, 3);
  EXPECT_EQ(f.attempt_error_count, 2);
  EXPECT_EQ(f.prompt_tokens, 300);
  EXPECT_EQ(f.reasoning_tokens, 9);
  EXPECT_EQ(f.cost_nanos, 3000000003);
  EXPECT_EQ(f.latency_ms, 600);
  EXPECT_EQ(f.tool_calls, 3);
  EXPECT_EQ(f.images, 2);  // once a request
  EXPECT_EQ(acc.errors().size(), 2u);
  EXPECT_EQ(acc.errors().at(ErrorKey{kDay, "openai", 1, "HTTP_429"}), 1);
  EXPECT_EQ(acc.errors().at(ErrorKey{kDay, "openai", 1, "HTTP_500"}), 1);
}

TEST(StatsAccumulatorTest, UpsertStatementsHoldAtMostMaxRowsEach) {
  StatsAccumulator acc;
  for (int key = 1; key <= 5; ++key) acc.Add(Row("m", key, false, true, "X"));
  const std::vector<std::string> stmts = acc.UpsertStatements(
      db::Dialect(db::Backend::kSqlite), SqlQuoter(false), "2026-03-10 12:00:00.000", 2);
  // 5 stats rows in 2 + 2 + 1, then 5 error rows the same way.
  ASSERT_EQ(stmts.size(), 6u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_TRUE(absl::StartsWith(stmts[i], "INSERT INTO t_ai_usage_stats")) << stmts[i];
  }
  for (size_t i = 3; i < 6; ++i) {
    EXPECT_TRUE(absl::StartsWith(stmts[i], "INSERT INTO t_ai_error_stats")) << stmts[i];
  }
  EXPECT_TRUE(absl::StrContains(stmts[0], "'m',1,1,0,1,1,1,100,10,110,1,2,3,1.000000001,200,"))
      << stmts[0];
  EXPECT_TRUE(
      acc.UpsertStatements(db::Dialect(db::Backend::kMySql), SqlQuoter(true), "x", 0).size() ==
      10u);
  EXPECT_TRUE(StatsAccumulator()
                  .UpsertStatements(db::Dialect(db::Backend::kSqlite), SqlQuoter(false), "x", 10)
                  .empty());
}

class StatsAccumulatorDbTest : public aigw::testing::DatabaseTest {
 protected:
  void Apply(const StatsAccumulator& acc, size_t max_rows) {
    absl::StatusOr<SqlQuoter> q = SqlQuoter::ForDatabase(db());
    ASSERT_TRUE(q.ok()) << q.status();
    absl::Status st = db().InTransaction([&](soci::session& s) {
      for (const std::string& sql :
           acc.UpsertStatements(db().dialect(), *q, "2026-03-10 12:00:00.000", max_rows)) {
        s << sql;
      }
      return absl::OkStatus();
    });
    ASSERT_TRUE(st.ok()) << st;
  }
};

TEST_P(StatsAccumulatorDbTest, TheFiguresAreColumnsOfTheMigratedStatsTable) {
  const std::vector<TableColumn> table = ReadTableColumns(db(), "t_ai_usage_stats");
  for (const StatsColumn& c : kStatsFigureColumns) {
    const TableColumn want = ExpectedColumn(c, GetParam());
    bool found = false;
    for (const TableColumn& have : table) {
      if (have.name != want.name) continue;
      found = true;
      EXPECT_EQ(have, want);
    }
    EXPECT_TRUE(found) << c.name;
  }
}

TEST_P(StatsAccumulatorDbTest, UpsertsAddToTheRowsAlreadyThere) {
  StatsAccumulator acc;
  acc.Add(Row("gpt-4o", 1, false, false, "HTTP_429"));
  LogRow answered = Row("gpt-4o", 1, true, true);
  answered.tool_calls = 2;
  answered.images = 1;
  acc.Add(answered);
  acc.Add(Row("gpt-4o-mini", 2, false, true, "it's"));
  Apply(acc, 1);
  Apply(acc, 500);
  const testing::StatsTable stats = testing::ReadStats(db());
  ASSERT_EQ(stats.size(), 2u);
  const testing::Figures& f = stats.at({"2026-03-10", "openai", "gpt-4o", 1});
  EXPECT_EQ(f.total_requests, 2);
  EXPECT_EQ(f.success_count, 2);
  EXPECT_EQ(f.error_count, 0);
  EXPECT_EQ(f.attempt_count, 4);
  EXPECT_EQ(f.attempt_error_count, 2);
  EXPECT_EQ(f.cached_prompt_tokens, 4);
  EXPECT_EQ(f.cache_creation_tokens, 8);
  EXPECT_EQ(f.cost_nanos, 4000000004);
  EXPECT_EQ(f.latency_ms, 800);
  EXPECT_EQ(f.tool_calls, 4);
  EXPECT_EQ(f.images, 2);
  const testing::ErrorTable errors = testing::ReadErrorStats(db());
  EXPECT_EQ(errors.at({"2026-03-10", "openai", 1, "HTTP_429"}), 2);
  EXPECT_EQ(errors.at({"2026-03-10", "openai", 2, "it's"}), 2);
}

TEST_P(StatsAccumulatorDbTest, TheFirstKnownProviderIdSticks) {
  StatsAccumulator unknown, known, other;
  LogRow r = Row("m", 1, true, true);
  r.provider_id = 0;
  unknown.Add(r);
  r.provider_id = 4;
  known.Add(r);
  r.provider_id = 5;
  other.Add(r);
  Apply(unknown, 10);
  Apply(known, 10);
  Apply(other, 10);
  EXPECT_EQ(QueryInt("SELECT provider_id FROM t_ai_usage_stats"), 4);
}

INSTANTIATE_TEST_SUITE_P(Backends, StatsAccumulatorDbTest,
                         ::testing::ValuesIn(TestDatabase::Backends()),
                         ::aigw::testing::BackendName);

}  // namespace
}  // namespace aigw::usage
