#include "libs/db/dialect.h"

#include <cstdint>
#include <limits>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "libs/db/database.h"
#include "tests/testing/database_test.h"

namespace aigw::db {
namespace {

TEST(NanosToDecimalTest, NineDecimalsAndTheSign) {
  EXPECT_EQ(NanosToDecimal(0), "0.000000000");
  EXPECT_EQ(NanosToDecimal(1500), "0.000001500");
  EXPECT_EQ(NanosToDecimal(2'500'000'001), "2.500000001");
  EXPECT_EQ(NanosToDecimal(-1), "-0.000000001");
  EXPECT_EQ(NanosToDecimal(std::numeric_limits<int64_t>::max()), "9223372036.854775807");
  EXPECT_EQ(NanosToDecimal(std::numeric_limits<int64_t>::min()), "-9223372036.854775808");
}

// The dialect's SQL, run on each backend against a table of its own.
class DialectTest : public testing::DatabaseTest {
 protected:
  DialectTest() : DatabaseTest(/*migrate=*/false) {}

  void SetUp() override {
    DatabaseTest::SetUp();
    if (HasFatalFailure()) return;
    Exec("CREATE TABLE t_dialect (k VARCHAR(16) NOT NULL PRIMARY KEY, n BIGINT NOT NULL, "
         "price DECIMAL(20,9) NOT NULL)");
  }

  const Dialect& d() { return db().dialect(); }
};

TEST_P(DialectTest, InsertIgnoreKeepsTheRowThatWasThere) {
  EXPECT_EQ(d().backend(), GetParam());
  EXPECT_EQ(d().is_mysql(), GetParam() == Backend::kMySql);
  Exec("INSERT INTO t_dialect (k, n, price) VALUES ('a', 1, 0)");
  Exec(absl::StrCat(d().InsertIgnore(), " INTO t_dialect (k, n, price) VALUES ('a', 2, 0)"));
  EXPECT_EQ(QueryInt("SELECT n FROM t_dialect WHERE k = 'a'"), 1);
}

TEST_P(DialectTest, AnUpsertTakesTheValueItTriedToInsert) {
  const std::string upsert =
      absl::StrCat("INSERT INTO t_dialect (k, n, price) VALUES ('a', 5, 0)",
                   d().UpsertClause("k"), "n = n + ", d().Excluded("n"));
  Exec(upsert);
  Exec(upsert);
  EXPECT_EQ(QueryInt("SELECT n FROM t_dialect WHERE k = 'a'"), 10);
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM t_dialect"), 1);
}

TEST_P(DialectTest, DecimalsComeBackAsExactNanos) {
  // Prices per 1k tokens and costs: SQLite holds them as doubles, exact to
  // the nano at these sizes.
  for (int64_t nanos : {int64_t{0}, int64_t{1}, int64_t{150}, int64_t{2'500'000'001},
                        int64_t{-1'500}, int64_t{123'456'789'012}}) {
    Exec("DELETE FROM t_dialect");
    Exec(absl::StrCat("INSERT INTO t_dialect (k, n, price) VALUES ('a', 0, ",
                      NanosToDecimal(nanos), ")"));
    EXPECT_EQ(QueryInt(absl::StrCat("SELECT ", d().DecimalToNanos("price"), " FROM t_dialect")),
              nanos)
        << NanosToDecimal(nanos);
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, DialectTest,
                         ::testing::ValuesIn(testing::TestDatabase::Backends()),
                         testing::BackendName);

}  // namespace
}  // namespace aigw::db
