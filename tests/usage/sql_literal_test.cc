// SQL literals as each backend reads them back.

#include "services/usage/sql_literal.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "soci/soci.h"
#include "tests/testing/test_database.h"

namespace aigw::usage {
namespace {

using ::aigw::testing::TestDatabase;

TEST(SqlQuoterTest, DoublesQuotesAndBackslashesAsTheBackendNeeds) {
  const SqlQuoter mysql(true), standard(false);
  EXPECT_EQ(mysql.Quote("it's a \\ test"), "'it''s a \\\\ test'");
  EXPECT_EQ(standard.Quote("it's a \\ test"), "'it''s a \\ test'");
  EXPECT_EQ(standard.Quote(std::string("a\0b", 3)), "'ab'");
  std::string out;
  standard.AppendOrNull("", &out);
  EXPECT_EQ(out, "NULL");
}

// Every column type once, to see each written as a literal.
struct Sample {
  std::string text;
  std::string optional;
  bool flag = false;
  int32_t small = 0;
  int64_t big = 0;
  int64_t nanos = 0;
  absl::Time at;
};
using SampleColumn = db::Column<Sample>;
constexpr SampleColumn kSampleColumns[] = {
    SampleColumn::Varchar("text", &Sample::text, 10),
    SampleColumn::Text("optional", &Sample::optional, 100, db::Nulls::kEmptyIsNull),
    SampleColumn::Word("word", &Sample::flag, "yes", "no", 3),
    SampleColumn::Bool("flag", &Sample::flag),
    SampleColumn::Int("small", &Sample::small),
    SampleColumn::BigInt("big", &Sample::big),
    SampleColumn::Money("money", &Sample::nanos),
    SampleColumn::Time("at", &Sample::at),
};

TEST(AppendRowLiteralTest, WritesEachTypeAsTheDatabaseTakesIt) {
  Sample s{"o'k", "", true, -7, int64_t{1} << 40, -2500000001, absl::FromUnixMillis(1773144000123)};
  std::string out;
  AppendRowLiteral<Sample>(kSampleColumns, s, SqlQuoter(false), &out);
  EXPECT_EQ(out, "('o''k',NULL,'yes',1,-7,1099511627776,-2.500000001,'2026-03-10 12:00:00.123')");
  s.optional = "x";
  s.flag = false;
  out.clear();
  AppendRowLiteral<Sample>(kSampleColumns, s, SqlQuoter(false), &out);
  EXPECT_EQ(out, "('o''k','x','no',0,-7,1099511627776,-2.500000001,'2026-03-10 12:00:00.123')");
}

class SqlQuoterDbTest : public ::testing::TestWithParam<db::Backend> {};

// What the quoter makes of any text, the database reads back as that text
// (without NUL bytes), so no text can end or extend a statement.
TEST_P(SqlQuoterDbTest, TheDatabaseReadsEveryQuotedTextBackAsItWas) {
  auto t = TestDatabase::Create(GetParam(), /*migrate=*/false);
  ASSERT_TRUE(t.ok()) << t.status();
  absl::StatusOr<SqlQuoter> quoter = SqlQuoter::ForDatabase((*t)->db());
  ASSERT_TRUE(quoter.ok()) << quoter.status();
  for (const std::string& text :
       {std::string("it's"), std::string("back\\slash\\"), std::string("\\'; SELECT 1; --"),
        std::string("a\0b", 3), std::string(":name ? %s"), std::string("日本語 🚀")}) {
    std::string back;
    absl::Status st = (*t)->db().Run([&](soci::session& s) {
      s << absl::StrCat("SELECT ", quoter->Quote(text)), soci::into(back);
      return absl::OkStatus();
    });
    ASSERT_TRUE(st.ok()) << st;
    std::string expected = text;
    std::erase(expected, '\0');
    EXPECT_EQ(back, expected);
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, SqlQuoterDbTest, ::testing::ValuesIn(TestDatabase::Backends()),
                         ::aigw::testing::BackendName);

}  // namespace
}  // namespace aigw::usage
