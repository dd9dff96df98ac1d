// Columns described once (libs/db/column.h) and read by that description
// (libs/db/row_reader.h), on both backends.

#include "libs/db/column.h"

#include <string>

#include "gtest/gtest.h"
#include "libs/db/row_reader.h"
#include "soci/soci.h"
#include "tests/testing/test_database.h"

namespace aigw::db {
namespace {

using ::aigw::testing::TestDatabase;

struct Sample {
  std::string name;
  std::string note;
  bool ok = false;
  bool flag = false;
  int32_t small = 0;
  int64_t big = 0;
  int64_t nanos = 0;
  std::string nanos_text;
  absl::Time at;
};
using SampleColumn = Column<Sample>;
constexpr SampleColumn kSampleColumns[] = {
    SampleColumn::Varchar("name", &Sample::name, 16),
    SampleColumn::Text("note", &Sample::note, 100, Nulls::kEmptyIsNull),
    SampleColumn::Word("state", &Sample::ok, "ok", "bad", 8),
    SampleColumn::Bool("flag", &Sample::flag),
    SampleColumn::Int("small", &Sample::small),
    SampleColumn::BigInt("big", &Sample::big),
    SampleColumn::Money("amount", &Sample::nanos, &Sample::nanos_text),
    SampleColumn::Time("at", &Sample::at),
};

TEST(ColumnTest, NamesInOrder) {
  EXPECT_EQ(ColumnNames<Sample>(kSampleColumns), "name, note, state, flag, small, big, amount, at");
}

TEST(ColumnTest, ReadExpressionsTurnNullTextMoneyAndTimeIntoWhatTheReaderTakes) {
  EXPECT_EQ(ReadExpressions<Sample>(kSampleColumns, Dialect(Backend::kSqlite)),
            "name, COALESCE(note,''), state, flag, small, big, "
            "CAST(ROUND((amount) * 1000000000) AS INTEGER), at");
  EXPECT_EQ(ReadExpressions<Sample>(kSampleColumns, Dialect(Backend::kMySql)),
            "name, COALESCE(note,''), state, flag, small, big, "
            "CAST(ROUND((amount) * 1000000000) AS SIGNED), CAST(at AS CHAR)");
  EXPECT_EQ(ReadExpression(kSampleColumns[6], Dialect(Backend::kMySql), "SUM(amount)"),
            "CAST(ROUND((SUM(amount)) * 1000000000) AS SIGNED)");
}

TEST(ColumnTest, SqlTextIsTheRowsReadyMadeTextElseMadeNow) {
  Sample s;
  s.nanos = 1500;
  s.at = absl::FromUnixMillis(1773144000123);
  std::string scratch;
  EXPECT_EQ(SqlText(kSampleColumns[6], s, &scratch), "0.000001500");
  EXPECT_EQ(SqlText(kSampleColumns[7], s, &scratch), "2026-03-10 12:00:00.123");
  s.nanos_text = "9.000000000";
  EXPECT_EQ(SqlText(kSampleColumns[6], s, &scratch), "9.000000000");
}

class RowReaderTest : public ::testing::TestWithParam<Backend> {};

TEST_P(RowReaderTest, ReadsEachTypeBackIntoTheRow) {
  auto t = TestDatabase::Create(GetParam(), /*migrate=*/false);
  ASSERT_TRUE(t.ok()) << t.status();
  Database& db = (*t)->db();
  const bool my = GetParam() == Backend::kMySql;
  std::vector<Sample> got;
  absl::Status st = db.Run([&](soci::session& s) -> absl::Status {
    s << std::string(
             "CREATE TABLE sample (id INT NOT NULL, name VARCHAR(16) NOT NULL, "
             "note TEXT NULL, state VARCHAR(8) NOT NULL, flag ") +
             (my ? "TINYINT(1)" : "INTEGER") +
             " NOT NULL, small INT NOT NULL, big BIGINT NOT NULL, amount " +
             (my ? "DECIMAL(20,9)" : "NUMERIC") + " NOT NULL, at " + (my ? "DATETIME(3)" : "TEXT") +
             " NOT NULL)";
    s << "INSERT INTO sample VALUES (1, 'first', NULL, 'ok', 1, -2147483648, "
         "9000000000000000000, 1.000000002, '2026-03-10 12:00:00.123'), (2, 'second', 'n', "
         "'bad', 0, 7, -1, 0, '1970-01-01 00:00:00.000')";
    Sample row;
    RowReader<Sample> reader(kSampleColumns);
    soci::statement stmt(s);
    stmt.alloc();
    reader.Bind(stmt, &row);
    stmt.prepare("SELECT " + ReadExpressions<Sample>(kSampleColumns, db.dialect()) +
                 " FROM sample ORDER BY id");
    stmt.define_and_bind();
    stmt.execute();
    while (stmt.fetch()) {
      if (absl::Status c = reader.Complete(); !c.ok()) return c;
      got.push_back(row);
    }
    return absl::OkStatus();
  });
  ASSERT_TRUE(st.ok()) << st;
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].name, "first");
  EXPECT_EQ(got[0].note, "");
  EXPECT_TRUE(got[0].ok);
  EXPECT_TRUE(got[0].flag);
  EXPECT_EQ(got[0].small, -2147483648);
  EXPECT_EQ(got[0].big, 9000000000000000000);
  EXPECT_EQ(got[0].nanos, 1000000002);
  EXPECT_EQ(got[0].at, absl::FromUnixMillis(1773144000123));
  EXPECT_EQ(got[1].note, "n");
  EXPECT_FALSE(got[1].ok);
  EXPECT_FALSE(got[1].flag);
  EXPECT_EQ(got[1].nanos, 0);
  EXPECT_EQ(got[1].at, absl::UnixEpoch());
}

TEST_P(RowReaderTest, AnUnreadableTimeIsAnError) {
  if (GetParam() == Backend::kMySql) GTEST_SKIP() << "DATETIME holds only times";
  auto t = TestDatabase::Create(GetParam(), /*migrate=*/false);
  ASSERT_TRUE(t.ok()) << t.status();
  absl::Status st = (*t)->db().Run([&](soci::session& s) -> absl::Status {
    Sample row;
    RowReader<Sample> reader(absl::MakeConstSpan(kSampleColumns).subspan(7));
    soci::statement stmt(s);
    stmt.alloc();
    reader.Bind(stmt, &row);
    stmt.prepare("SELECT 'soon'");
    stmt.define_and_bind();
    stmt.execute(true);
    return reader.Complete();
  });
  EXPECT_EQ(st.code(), absl::StatusCode::kInternal);
  EXPECT_EQ(st.message(), "unreadable time 'soon' in the database");
}

INSTANTIATE_TEST_SUITE_P(Backends, RowReaderTest, ::testing::ValuesIn(TestDatabase::Backends()),
                         ::aigw::testing::BackendName);

}  // namespace
}  // namespace aigw::db
