#ifndef AIGW_TESTS_TESTING_DATABASE_TEST_H_
#define AIGW_TESTS_TESTING_DATABASE_TEST_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "libs/db/database.h"
#include "tests/testing/test_database.h"

namespace aigw::testing {

// Test SQL as written, on either backend.
//   ExecSql: runs one statement.
//   Exec: the same; a failure fails the current test, naming the statement.
//   QueryInt: the first column of the first row as an integer, 0 for NULL
//     (-1, and the test fails, when the query fails).
//   QueryString: the same as text, "NULL" for NULL ("" and a failure when
//     the query fails).
absl::Status ExecSql(db::Database& db, const std::string& sql);
void Exec(db::Database& db, const std::string& sql);
long long QueryInt(db::Database& db, const std::string& sql);
std::string QueryString(db::Database& db, const std::string& sql);

// A test run on each backend (INSTANTIATE_TEST_SUITE_P over
// TestDatabase::Backends()), each case on a fresh database, migrated (the
// seed catalogue included) unless `migrate` is false. Derived fixtures that
// set up more call DatabaseTest::SetUp() first.
class DatabaseTest : public ::testing::TestWithParam<db::Backend> {
 protected:
  explicit DatabaseTest(bool migrate = true) : migrate_(migrate) {}
  void SetUp() override;

  db::Database& db() { return tdb_->db(); }
  void Exec(const std::string& sql) { aigw::testing::Exec(db(), sql); }
  long long QueryInt(const std::string& sql) { return aigw::testing::QueryInt(db(), sql); }
  std::string QueryString(const std::string& sql) {
    return aigw::testing::QueryString(db(), sql);
  }

  const bool migrate_;
  std::unique_ptr<TestDatabase> tdb_;
};

}  // namespace aigw::testing

#endif  // AIGW_TESTS_TESTING_DATABASE_TEST_H_
