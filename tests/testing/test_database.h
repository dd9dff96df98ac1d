#ifndef AIGW_TESTS_TESTING_TEST_DATABASE_H_
#define AIGW_TESTS_TESTING_TEST_DATABASE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "libs/db/database.h"

namespace aigw::testing {

// A fresh database for one test on one backend, deleted afterwards.
//   SQLite: a file in a new temporary directory.
//   MySQL/MariaDB: a new database named aigw_t_<random> on the server of
//   AIGW_TEST_MYSQL_URL (mysql://user:password@host:port/anything), whose
//   user may CREATE and DROP databases.
class TestDatabase {
 public:
  // SQLite always; MySQL when AIGW_TEST_MYSQL_URL is set. With
  // AIGW_TEST_REQUIRE_MYSQL=1 (scripts/test sets it) a missing URL is an
  // error, so CI cannot silently skip the MariaDB half.
  static std::vector<db::Backend> Backends();

  // Creates the database, opens a pool on it and, when `migrate`, applies
  // every migration (schema plus seed catalogue).
  static absl::StatusOr<std::unique_ptr<TestDatabase>> Create(db::Backend backend,
                                                              bool migrate = true);
  ~TestDatabase();

  db::Database& db() { return *db_; }
  // The URL a service binary takes as --db_url.
  const std::string& url() const { return url_; }
  // Opens another, independent pool on the same database (a "restart").
  absl::StatusOr<std::unique_ptr<db::Database>> Reopen(int pool_size = 4) const;

 private:
  TestDatabase() = default;
  db::Backend backend_;
  std::string url_;
  std::string cleanup_;  // temp dir (SQLite) or database name (MySQL)
  std::string admin_url_;
  std::unique_ptr<db::Database> db_;
};

// For INSTANTIATE_TEST_SUITE_P: "Sqlite" / "MySql".
// (Test names, and gtest's printing of the parameter.)
std::string BackendName(const ::testing::TestParamInfo<db::Backend>& info);

}  // namespace aigw::testing

namespace aigw::db {
inline void PrintTo(Backend b, std::ostream* os) {
  *os << (b == Backend::kSqlite ? "sqlite" : "mysql");
}
}  // namespace aigw::db

#endif  // AIGW_TESTS_TESTING_TEST_DATABASE_H_
