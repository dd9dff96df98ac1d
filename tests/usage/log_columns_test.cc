// The description of t_ai_api_logs (kLogColumns) against the table the
// migrations make on both backends, and the literal row it writes.

#include "services/usage/log_columns.h"

#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "tests/testing/table_columns.h"
#include "tests/testing/test_database.h"

namespace aigw::usage {
namespace {

using ::aigw::testing::ExpectedColumns;
using ::aigw::testing::ReadTableColumns;
using ::aigw::testing::TableColumn;
using ::aigw::testing::TestDatabase;

class LogColumnsTest : public ::testing::TestWithParam<db::Backend> {};

TEST_P(LogColumnsTest, DescribeEveryColumnOfTheMigratedTableButIdInOrder) {
  auto t = TestDatabase::Create(GetParam());
  ASSERT_TRUE(t.ok()) << t.status();
  std::vector<TableColumn> table = ReadTableColumns((*t)->db(), "t_ai_api_logs");
  ASSERT_FALSE(table.empty());
  EXPECT_EQ(table.front().name, "id");
  table.erase(table.begin());
  EXPECT_EQ(ExpectedColumns<LogRow>(kLogColumns, GetParam()), table);
}

INSTANTIATE_TEST_SUITE_P(Backends, LogColumnsTest, ::testing::ValuesIn(TestDatabase::Backends()),
                         ::aigw::testing::BackendName);

TEST(LogColumnsTest, InsertColumnsNameTheDescriptionInOrder) {
  const std::vector<std::string> names = absl::StrSplit(LogInsertColumns(), ", ");
  ASSERT_EQ(names.size(), kLogColumnCount);
  for (size_t i = 0; i < kLogColumnCount; ++i) EXPECT_EQ(names[i], kLogColumns[i].name);
}

TEST(LogColumnsTest, EachColumnPointsAtTheFieldOfItsType) {
  for (const LogColumn& c : kLogColumns) {
    const int fields = (c.text != nullptr) + (c.int32 != nullptr) + (c.int64 != nullptr) +
                       (c.flag != nullptr) + (c.time != nullptr);
    EXPECT_EQ(fields, 1) << c.name;
    if (c.is_text() || c.type == db::ColumnType::kWord) {
      EXPECT_GT(c.max_chars, 0u) << c.name;
    }
  }
}

LogRow FullRow() {
  LogRow r;
  r.request_id = "req-1";
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
  r.error_message = "boom";
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
  r.created_at = absl::FromUnixMillis(1773144000123);  // 2026-03-10 12:00:00.123 UTC
  r.tool_calls = 2;
  r.images = 3;
  return r;
}

TEST(AppendLogValuesTest, WritesEveryColumnAsAnSqlLiteral) {
  std::string out;
  AppendLogValues(FullRow(), SqlQuoter(true), &out);
  EXPECT_EQ(out,
            "('req-1',2,3,'openai',7,'gpt-4o','it''s','10.0.0.1','a\\\\b','error','HTTP_500',"
            "'boom',500,100,50,150,10,5,20,0.000001500,2147483647,40,1,0,"
            "'2026-03-10 12:00:00.123',2,3)");
}

TEST(AppendLogValuesTest, EmptyOptionalTextIsNullAndReadyMadeTextsAreUsed) {
  LogRow r;
  r.request_id = "r";
  r.provider_code = "p";
  r.success = true;
  r.is_final = true;
  r.cost_text = "1.000000000";
  r.created_at_text = "2026-01-02 03:04:05.006";
  std::string out;
  AppendLogValues(r, SqlQuoter(false), &out);
  EXPECT_EQ(out,
            "('r',1,0,'p',0,'',NULL,NULL,NULL,'success',NULL,NULL,0,0,0,0,0,0,0,1.000000000,0,0,"
            "0,1,'2026-01-02 03:04:05.006',0,0)");
}

}  // namespace
}  // namespace aigw::usage
