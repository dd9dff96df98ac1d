#include "libs/db/database_url.h"

#include <cstdlib>

#include "gtest/gtest.h"

namespace aigw::db {
namespace {

TEST(DatabaseUrlTest, SqliteRelativeAndAbsolutePaths) {
  absl::StatusOr<DatabaseUrl> rel = DatabaseUrl::Parse("sqlite3://var/aigw.db");
  ASSERT_TRUE(rel.ok()) << rel.status();
  EXPECT_EQ(rel->backend, Backend::kSqlite);
  EXPECT_EQ(rel->sqlite_path, "var/aigw.db");
  absl::StatusOr<DatabaseUrl> abs = DatabaseUrl::Parse("sqlite3:///tmp/x/aigw.db");
  ASSERT_TRUE(abs.ok());
  EXPECT_EQ(abs->sqlite_path, "/tmp/x/aigw.db");
}

TEST(DatabaseUrlTest, MySqlUrlBecomesSociConnectStringAndHidesPassword) {
  absl::StatusOr<DatabaseUrl> u = DatabaseUrl::Parse("mysql://aigw:s%40cret@db.local:3307/music");
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->backend, Backend::kMySql);
  EXPECT_EQ(u->connect_string,
            "host=db.local port=3307 db=music user=aigw password=s@cret charset=utf8mb4 "
            "connect_timeout=5");
  EXPECT_EQ(u->display, "mysql://aigw:***@db.local:3307/music");
}

TEST(DatabaseUrlTest, MySqlDefaultsPortAndAcceptsSociForm) {
  absl::StatusOr<DatabaseUrl> u = DatabaseUrl::Parse("mysql://root@127.0.0.1/aigw");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->connect_string,
            "host=127.0.0.1 port=3306 db=aigw user=root charset=utf8mb4 connect_timeout=5");
  absl::StatusOr<DatabaseUrl> soci =
      DatabaseUrl::Parse("mysql://host=127.0.0.1 port=3306 db=aigw user=a password=pw");
  ASSERT_TRUE(soci.ok());
  EXPECT_EQ(soci->connect_string, "host=127.0.0.1 port=3306 db=aigw user=a password=pw");
  EXPECT_EQ(soci->display.find("pw"), std::string::npos);
}

// Found by fuzz/database_url_fuzzer: a quoted password with a space showed
// its tail ("password=*** w\'x'"), as FromLegacyEnv writes one.
TEST(DatabaseUrlTest, SociFormHidesAQuotedPasswordWhole) {
  absl::StatusOr<DatabaseUrl> u =
      DatabaseUrl::Parse("mysql://host=h db=aigw password='se cret\\'x' user=a");
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->connect_string, "host=h db=aigw password='se cret\\'x' user=a");
  EXPECT_EQ(u->display, "mysql://host=h db=aigw password=*** user=a");
}

// Found by fuzz/database_url_fuzzer: a URL holding '=' (in a base64
// password, or a "?charset=" query) was taken for soci's key=value form:
// shown whole, password included, and refused or unusable.
TEST(DatabaseUrlTest, UrlFormMayHoldEqualsSigns) {
  absl::StatusOr<DatabaseUrl> u = DatabaseUrl::Parse("mysql://aigw:c2VjcmV0=@db.local/music");
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->connect_string,
            "host=db.local port=3306 db=music user=aigw password=c2VjcmV0= charset=utf8mb4 "
            "connect_timeout=5");
  EXPECT_EQ(u->display, "mysql://aigw:***@db.local:3306/music");
  u = DatabaseUrl::Parse("mariadb://aigw:secret@127.0.0.1:3306/aigw?charset=utf8mb4");
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->connect_string,
            "host=127.0.0.1 port=3306 db=aigw user=aigw password=secret charset=utf8mb4 "
            "connect_timeout=5");
  EXPECT_EQ(u->display, "mysql://aigw:***@127.0.0.1:3306/aigw");
}

// Found by fuzz/database_url_fuzzer: errors quoted the URL, password and all,
// into the log.
TEST(DatabaseUrlTest, ErrorsNeverShowThePassword) {
  for (const char* bad : {"mysql://aigw:hunter22@db.local/", "mysql://aigw:hunter22@db.local:0/x",
                          "mariadb://aigw:hunter22@:3306/x", "postgres://aigw:hunter22@db/x"}) {
    absl::StatusOr<DatabaseUrl> u = DatabaseUrl::Parse(bad);
    ASSERT_FALSE(u.ok()) << bad;
    EXPECT_EQ(u.status().message().find("hunter22"), absl::string_view::npos) << u.status();
    EXPECT_NE(u.status().message().find("aigw:***@"), absl::string_view::npos) << u.status();
  }
}

TEST(DatabaseUrlTest, RejectsWhatItCannotUseWithAClearMessage) {
  for (const char* bad : {"postgres://x/y", "var/aigw.db", "sqlite3://", "mysql://host:3306",
                          "mysql://h:99999/db", "mysql://host=1.2.3.4 user=x"}) {
    absl::StatusOr<DatabaseUrl> u = DatabaseUrl::Parse(bad);
    EXPECT_FALSE(u.ok()) << bad;
    EXPECT_EQ(u.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(u.status().message().find('\n'), absl::string_view::npos);
  }
}

TEST(DatabaseUrlTest, LegacyEnvironmentOfTheOriginalSystem) {
  unsetenv("DB_HOST");
  EXPECT_EQ(DatabaseUrl::FromLegacyEnv(), "");
  setenv("DB_HOST", "mysql.internal", 1);
  setenv("DB_PORT", "3310", 1);
  setenv("DB_USERNAME", "music", 1);
  setenv("DB_PASSWORD", "p w'd", 1);
  setenv("DB_DATABASE", "music_platform", 1);
  const std::string url = DatabaseUrl::FromLegacyEnv();
  absl::StatusOr<DatabaseUrl> u = DatabaseUrl::Parse(url);
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->connect_string,
            "host=mysql.internal port=3310 db=music_platform user=music password='p w\\'d' "
            "charset=utf8mb4 connect_timeout=5");
  EXPECT_EQ(u->display.find("w\\'d"), std::string::npos) << u->display;
  for (const char* v : {"DB_HOST", "DB_PORT", "DB_USERNAME", "DB_PASSWORD", "DB_DATABASE"}) {
    unsetenv(v);
  }
}

}  // namespace
}  // namespace aigw::db
