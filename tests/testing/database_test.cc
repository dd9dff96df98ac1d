#include "tests/testing/database_test.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "soci/soci.h"

namespace aigw::testing {

absl::Status ExecSql(db::Database& db, const std::string& sql) {
  return db.Run([&](soci::session& s) {
    s << sql;
    return absl::OkStatus();
  });
}

void Exec(db::Database& db, const std::string& sql) {
  absl::Status st = ExecSql(db, sql);
  EXPECT_TRUE(st.ok()) << st << " in " << sql;
}

long long QueryInt(db::Database& db, const std::string& sql) {
  long long out = -1;
  absl::Status st = db.Run([&](soci::session& s) {
    soci::indicator ind = soci::i_ok;
    s << sql, soci::into(out, ind);
    if (ind != soci::i_ok) out = 0;
    return absl::OkStatus();
  });
  EXPECT_TRUE(st.ok()) << st << " in " << sql;
  return st.ok() ? out : -1;
}

std::string QueryString(db::Database& db, const std::string& sql) {
  std::string out;
  soci::indicator ind = soci::i_null;
  absl::Status st = db.Run([&](soci::session& s) {
    s << sql, soci::into(out, ind);
    return absl::OkStatus();
  });
  EXPECT_TRUE(st.ok()) << st << " in " << sql;
  if (!st.ok()) return "";
  return ind == soci::i_ok ? out : "NULL";
}

void DatabaseTest::SetUp() {
  absl::StatusOr<std::unique_ptr<TestDatabase>> t = TestDatabase::Create(GetParam(), migrate_);
  ASSERT_TRUE(t.ok()) << t.status();
  tdb_ = std::move(*t);
}

}  // namespace aigw::testing
