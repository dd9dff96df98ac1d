#include "tests/testing/test_database.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <random>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "libs/common/env_flags.h"
#include "libs/db/migrations.h"
#include "soci/soci.h"

namespace aigw::testing {
namespace {

std::string RandomSuffix() {
  static std::mt19937_64 rng(std::random_device{}() ^ static_cast<uint64_t>(getpid()));
  return absl::StrCat(getpid(), "_", rng() % 1000000000ULL);
}

// mysql://user:pass@host:port/db -> the same URL naming database `name`.
std::string WithDatabase(const std::string& url, const std::string& name) {
  size_t slash = url.rfind('/');
  return absl::StrCat(url.substr(0, slash + 1), name);
}

}  // namespace

std::vector<db::Backend> TestDatabase::Backends() {
  std::vector<db::Backend> out = {db::Backend::kSqlite};
  if (!GetEnvOr("AIGW_TEST_MYSQL_URL", "").empty() ||
      GetEnvOr("AIGW_TEST_REQUIRE_MYSQL", "") == "1") {
    out.push_back(db::Backend::kMySql);
  }
  return out;
}

absl::StatusOr<std::unique_ptr<TestDatabase>> TestDatabase::Create(db::Backend backend,
                                                                   bool migrate) {
  std::unique_ptr<TestDatabase> t(new TestDatabase());
  t->backend_ = backend;
  if (backend == db::Backend::kSqlite) {
    std::filesystem::path dir =
        std::filesystem::temp_directory_path() / absl::StrCat("aigw_test_", RandomSuffix());
    std::filesystem::create_directories(dir);
    t->cleanup_ = dir.string();
    t->url_ = absl::StrCat("sqlite3://", (dir / "aigw.db").string());
  } else {
    const std::string base = GetEnvOr("AIGW_TEST_MYSQL_URL", "");
    if (base.empty()) {
      return absl::FailedPreconditionError(
          "AIGW_TEST_REQUIRE_MYSQL=1 but AIGW_TEST_MYSQL_URL is not set");
    }
    t->admin_url_ = base;
    t->cleanup_ = absl::StrCat("aigw_t_", RandomSuffix());
    absl::StatusOr<db::DatabaseUrl> admin = db::DatabaseUrl::Parse(base);
    if (!admin.ok()) return admin.status();
    absl::StatusOr<std::unique_ptr<db::Database>> admin_db = db::Database::Open(*admin, 1);
    if (!admin_db.ok()) return admin_db.status();
    absl::Status st = (*admin_db)->Run([&](soci::session& s) {
      s << absl::StrCat("CREATE DATABASE ", t->cleanup_, " CHARACTER SET utf8mb4");
      return absl::OkStatus();
    });
    if (!st.ok()) return st;
    t->url_ = WithDatabase(base, t->cleanup_);
  }
  absl::StatusOr<std::unique_ptr<db::Database>> opened = t->Reopen();
  if (!opened.ok()) return opened.status();
  t->db_ = std::move(*opened);
  if (migrate) {
    absl::StatusOr<std::vector<int>> applied = db::ApplyMigrations(*t->db_);
    if (!applied.ok()) return applied.status();
  }
  return t;
}

absl::StatusOr<std::unique_ptr<db::Database>> TestDatabase::Reopen(int pool_size) const {
  absl::StatusOr<db::DatabaseUrl> url = db::DatabaseUrl::Parse(url_);
  if (!url.ok()) return url.status();
  return db::Database::Open(*url, pool_size);
}

TestDatabase::~TestDatabase() {
  db_.reset();
  if (backend_ == db::Backend::kSqlite) {
    std::error_code ec;
    std::filesystem::remove_all(cleanup_, ec);
    return;
  }
  absl::StatusOr<db::DatabaseUrl> admin = db::DatabaseUrl::Parse(admin_url_);
  if (!admin.ok()) return;
  absl::StatusOr<std::unique_ptr<db::Database>> admin_db = db::Database::Open(*admin, 1);
  if (!admin_db.ok()) return;
  (void)(*admin_db)->Run([&](soci::session& s) {
    s << absl::StrCat("DROP DATABASE IF EXISTS ", cleanup_);
    return absl::OkStatus();
  });
}

std::string BackendName(const ::testing::TestParamInfo<db::Backend>& info) {
  return info.param == db::Backend::kSqlite ? "Sqlite" : "MySql";
}

}  // namespace aigw::testing
