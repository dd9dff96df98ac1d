// Each way LogInserter writes call log rows (SQLite prepared insert, MariaDB
// bulk execution, MySQL literal rows) stores every column as written, reads
// back through QueryLogs unchanged, and tells exactly which rows were new.

#include "services/usage/log_inserter.h"

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "libs/common/clock.h"
#include "services/usage/log_columns.h"
#include "services/usage/usage_queries.h"
#include "soci/soci.h"
#include "tests/testing/test_database.h"

namespace aigw::usage {
namespace {

using ::aigw::testing::TestDatabase;

struct Writer {
  db::Backend backend;
  bool bulk;  // MariaDB bulk execution; off: literal multi-row INSERTs
};

std::vector<Writer> Writers() {
  std::vector<Writer> out;
  for (db::Backend b : TestDatabase::Backends()) {
    out.push_back({b, true});
    if (b == db::Backend::kMySql) out.push_back({b, false});
  }
  return out;
}

std::string WriterName(const ::testing::TestParamInfo<Writer>& info) {
  if (info.param.backend == db::Backend::kSqlite) return "Sqlite";
  return info.param.bulk ? "MariaDbBulk" : "MySqlLiteral";
}

// 2026-03-10 12:00:00.123 UTC
const absl::Time kCreated = absl::FromUnixMillis(1773144000123);

// Every field set, to a value no other field has.
LogRow FullRow(const std::string& request_id) {
  LogRow r;
  r.request_id = request_id;
  r.attempt = 2;
  r.provider_id = 3;
  r.provider_code = "openai";
  r.key_id = 7;
  r.model = "gpt-4o";
  r.user_id = "it's";
  r.ip_address = "10.0.0.1";
  r.user_agent = "a\\b";
  r.success = false;
  r.error_code = "HTTP_500";
  r.error_message = "上游错误 'x' \\ :y";
  r.http_status = 500;
  r.prompt_tokens = 100;
  r.completion_tokens = 50;
  r.total_tokens = 150;
  r.cached_prompt_tokens = 10;
  r.cache_creation_tokens = 5;
  r.reasoning_tokens = 20;
  r.cost_nanos = 1500;
  r.latency_ms = 2147483647;
  r.ttft_ms = 40;
  r.is_stream = true;
  r.is_final = false;
  r.created_at = kCreated;
  r.tool_calls = 2;
  r.images = 3;
  return r;
}

// What FullRow stores, column by column (NULL as nullopt; cost in
// nano-units), written out here rather than taken from the description.
std::map<std::string, std::optional<std::string>> FullRowStored(const std::string& request_id) {
  return {{"request_id", request_id},
          {"attempt", "2"},
          {"provider_id", "3"},
          {"provider_code", "openai"},
          {"key_id", "7"},
          {"model", "gpt-4o"},
          {"user_id", "it's"},
          {"ip_address", "10.0.0.1"},
          {"user_agent", "a\\b"},
          {"status", "error"},
          {"error_code", "HTTP_500"},
          {"error_message", "上游错误 'x' \\ :y"},
          {"http_status", "500"},
          {"prompt_tokens", "100"},
          {"completion_tokens", "50"},
          {"total_tokens", "150"},
          {"cached_prompt_tokens", "10"},
          {"cache_creation_tokens", "5"},
          {"reasoning_tokens", "20"},
          {"cost", "1500"},
          {"latency_ms", "2147483647"},
          {"ttft_ms", "40"},
          {"is_stream", "1"},
          {"is_final", "0"},
          {"created_at", "2026-03-10 12:00:00.123"},
          {"tool_calls", "2"},
          {"images", "3"}};
}

// Optional text empty, a success, no ready-made texts.
LogRow SparseRow(const std::string& request_id) {
  LogRow r;
  r.request_id = request_id;
  r.provider_code = "deepseek";
  r.success = true;
  r.is_final = true;
  r.created_at = kCreated;
  return r;
}

class LogInserterTest : public ::testing::TestWithParam<Writer> {
 protected:
  void SetUp() override {
    auto t = TestDatabase::Create(GetParam().backend);
    ASSERT_TRUE(t.ok()) << t.status();
    tdb_ = std::move(*t);
    auto quoter = SqlQuoter::ForDatabase(db());
    ASSERT_TRUE(quoter.ok()) << quoter.status();
    inserter_ = LogInserter::For(GetParam().backend, 7, *quoter, GetParam().bulk);
  }

  db::Database& db() { return tdb_->db(); }

  std::vector<bool> Insert(const std::vector<LogRow>& rows) {
    std::vector<const LogRow*> ptrs;
    for (const LogRow& r : rows) ptrs.push_back(&r);
    std::vector<bool> inserted;
    absl::Status st = db().InTransaction([&](soci::session& s) -> absl::Status {
      absl::StatusOr<std::vector<bool>> r = inserter_->Insert(s, ptrs);
      if (!r.ok()) return r.status();
      inserted = *std::move(r);
      return absl::OkStatus();
    });
    EXPECT_TRUE(st.ok()) << st;
    return inserted;
  }

  // Column `name` of the row `request_id` as text; nullopt for NULL.
  std::optional<std::string> Stored(const std::string& name, const std::string& request_id) {
    const db::Dialect& d = db().dialect();
    const std::string value = name == "cost" ? d.DecimalToNanos("cost") : name;
    std::string text;
    soci::indicator ind = soci::i_null;
    absl::Status st = db().Run([&](soci::session& s) {
      s << absl::StrCat("SELECT CAST(", value, d.is_mysql() ? " AS CHAR)" : " AS TEXT)",
                        " FROM t_ai_api_logs WHERE request_id = :r"),
          soci::use(request_id), soci::into(text, ind);
      return absl::OkStatus();
    });
    EXPECT_TRUE(st.ok()) << st;
    if (ind != soci::i_ok) return std::nullopt;
    return text;
  }

  long long Count() {
    long long n = -1;
    absl::Status st = db().Run([&](soci::session& s) {
      s << "SELECT COUNT(*) FROM t_ai_api_logs", soci::into(n);
      return absl::OkStatus();
    });
    EXPECT_TRUE(st.ok()) << st;
    return n;
  }

  std::unique_ptr<TestDatabase> tdb_;
  std::unique_ptr<LogInserter> inserter_;
};

TEST_P(LogInserterTest, StoresEveryColumnAsWritten) {
  EXPECT_EQ(Insert({FullRow("full"), SparseRow("sparse")}), std::vector<bool>({true, true}));
  const auto expected = FullRowStored("full");
  ASSERT_EQ(expected.size(), kLogColumnCount) << "a column is missing from this test";
  for (const auto& [name, value] : expected) {
    EXPECT_EQ(Stored(name, "full"), value) << name;
  }
  for (const char* nullable :
       {"user_id", "ip_address", "user_agent", "error_code", "error_message"}) {
    EXPECT_EQ(Stored(nullable, "sparse"), std::nullopt) << nullable;
  }
  EXPECT_EQ(Stored("status", "sparse"), "success");
  EXPECT_EQ(Stored("model", "sparse"), "");
  EXPECT_EQ(Stored("is_final", "sparse"), "1");
  EXPECT_EQ(Stored("cost", "sparse"), "0");
  EXPECT_EQ(Stored("images", "sparse"), "0");
}

TEST_P(LogInserterTest, QueryLogsReadsBackWhatWasWritten) {
  const std::vector<LogRow> rows = {FullRow("full"), SparseRow("sparse")};
  Insert(rows);
  ManualClock clock(kCreated);
  auto queries = UsageQueries::Create(&db(), {}, nullptr, &clock);
  ASSERT_TRUE(queries.ok()) << queries.status();
  absl::StatusOr<LogPage> page = (*queries)->QueryLogs({}, 0);
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->response.logs_size(), 2);
  for (const v1::CallLog& log : page->response.logs()) {
    const LogRow& row = log.event().request_id() == "full" ? rows[0] : rows[1];
    v1::CallEvent written;
    ToCallEvent(row, &written);
    EXPECT_EQ(log.event().DebugString(), written.DebugString());
    EXPECT_EQ(log.status(), row.success ? "success" : "error");
  }
}

TEST_P(LogInserterTest, TellsWhichRowsWereNew) {
  EXPECT_EQ(Insert({SparseRow("a"), SparseRow("b")}), std::vector<bool>({true, true}));
  EXPECT_EQ(Insert({SparseRow("b"), SparseRow("c"), SparseRow("a"), SparseRow("d")}),
            std::vector<bool>({false, true, false, true}));
  EXPECT_EQ(Insert({SparseRow("a"), SparseRow("d")}), std::vector<bool>({false, false}));
  LogRow second_attempt = SparseRow("a");
  second_attempt.attempt = 2;
  EXPECT_EQ(Insert({second_attempt}), std::vector<bool>({true}));
  EXPECT_EQ(Count(), 5);
}

// More rows than one bulk execution or literal statement takes, half of them
// already there.
TEST_P(LogInserterTest, ALargeBatchIsWrittenInPartsAndStillTellsWhichWereNew) {
  std::vector<LogRow> first, second;
  std::vector<bool> expected;
  for (int i = 0; i < 2500; ++i) {
    LogRow r = SparseRow(absl::StrCat("r", i));
    if (i % 2 == 0) first.push_back(r);
    expected.push_back(i % 2 != 0);
    second.push_back(std::move(r));
  }
  EXPECT_EQ(Insert(first), std::vector<bool>(first.size(), true));
  EXPECT_EQ(Insert(second), expected);
  EXPECT_EQ(Count(), 2500);
}

INSTANTIATE_TEST_SUITE_P(Writers, LogInserterTest, ::testing::ValuesIn(Writers()), WriterName);

}  // namespace
}  // namespace aigw::usage
