#include "libs/db/migrations.h"

#include <map>
#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "libs/db/dialect.h"
#include "soci/soci.h"
#include "tests/testing/database_test.h"
#include "tests/testing/test_database.h"

namespace aigw::db {
namespace {

using ::aigw::testing::QueryInt;
using ::aigw::testing::TestDatabase;

const char* const kTables[] = {"t_ai_providers", "t_ai_api_keys", "t_ai_models", "t_ai_api_logs",
                               "t_ai_usage_stats"};

// Column names of `table`, lower-cased, in definition order.
std::vector<std::string> Columns(Database& db, const std::string& table) {
  std::vector<std::string> cols;
  absl::Status st = db.Run([&](soci::session& s) {
    if (db.backend() == Backend::kSqlite) {
      soci::rowset<soci::row> rs = (s.prepare << "PRAGMA table_info(" + table + ")");
      for (const soci::row& r : rs) cols.push_back(r.get<std::string>(1));
    } else {
      soci::rowset<std::string> rs =
          (s.prepare << "SELECT column_name FROM information_schema.columns WHERE "
                        "table_schema = DATABASE() AND table_name = :t ORDER BY ordinal_position",
           soci::use(table));
      for (const std::string& c : rs) cols.push_back(c);
    }
    return absl::OkStatus();
  });
  EXPECT_TRUE(st.ok()) << st;
  return cols;
}

class MigrationsTest : public ::testing::TestWithParam<Backend> {};

TEST_P(MigrationsTest, CreatesEveryTableAndRecordsTheVersion) {
  auto t = TestDatabase::Create(GetParam(), /*migrate=*/false);
  ASSERT_TRUE(t.ok()) << t.status();
  Database& db = (*t)->db();
  absl::StatusOr<std::vector<int>> applied = ApplyMigrations(db);
  ASSERT_TRUE(applied.ok()) << applied.status();
  EXPECT_EQ(applied->size(), AllMigrations().size());
  for (const char* table : kTables) {
    EXPECT_FALSE(Columns(db, table).empty()) << table;
  }
  absl::StatusOr<int> version = CurrentSchemaVersion(db);
  ASSERT_TRUE(version.ok());
  EXPECT_EQ(*version, AllMigrations().back().version);
}

TEST_P(MigrationsTest, ApplyingTwiceIsANoOpAndSeedsOnce) {
  auto t = TestDatabase::Create(GetParam(), /*migrate=*/true);
  ASSERT_TRUE(t.ok()) << t.status();
  Database& db = (*t)->db();
  absl::StatusOr<std::vector<int>> again = ApplyMigrations(db);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->empty());
  // A second process (a fresh pool) starting later changes nothing either.
  auto reopened = (*t)->Reopen();
  ASSERT_TRUE(reopened.ok());
  ASSERT_TRUE(ApplyMigrations(**reopened).ok());

  EXPECT_EQ(QueryInt(db, "SELECT COUNT(*) FROM t_ai_providers"), 3);
  EXPECT_EQ(QueryInt(db, "SELECT COUNT(*) FROM t_ai_models"), 10);
  EXPECT_EQ(QueryInt(db, "SELECT COUNT(*) FROM aigw_schema_migrations"),
            static_cast<long long>(AllMigrations().size()));
  // Exactly one default model per provider.
  EXPECT_EQ(QueryInt(db, "SELECT COUNT(*) FROM t_ai_models WHERE is_default = 1"), 3);
  EXPECT_EQ(
      QueryInt(db, "SELECT COUNT(DISTINCT provider_id) FROM t_ai_models WHERE is_default = 1"), 3);
}

TEST_P(MigrationsTest, SeedCatalogueHasProvidersAndExactPrices) {
  auto t = TestDatabase::Create(GetParam());
  ASSERT_TRUE(t.ok()) << t.status();
  Database& db = (*t)->db();
  std::map<std::string, std::string> base_urls;
  std::map<std::string, std::vector<long long>> prices;  // nanos per 1K
  absl::Status st = db.Run([&](soci::session& s) {
    soci::rowset<soci::row> providers =
        (s.prepare << "SELECT provider_code, base_url, api_format FROM t_ai_providers");
    for (const soci::row& r : providers) base_urls[r.get<std::string>(0)] = r.get<std::string>(1);
    const Dialect& d = db.dialect();
    // soci's row::get<T> is strict about the backend's column type; into()
    // converts, so typed reads stay portable across SQLite and MySQL.
    std::string code;
    long long prompt = 0, completion = 0, cached = 0;
    soci::statement stmt =
        (s.prepare << "SELECT model_code, " + d.DecimalToNanos("cost_per_1k_prompt_tokens") +
                          ", " + d.DecimalToNanos("cost_per_1k_completion_tokens") + ", " +
                          d.DecimalToNanos("cost_per_1k_cached_prompt_tokens") +
                          " FROM t_ai_models",
         soci::into(code), soci::into(prompt), soci::into(completion), soci::into(cached));
    stmt.execute();
    while (stmt.fetch()) prices[code] = {prompt, completion, cached};
    return absl::OkStatus();
  });
  ASSERT_TRUE(st.ok()) << st;
  EXPECT_EQ(base_urls["openai"], "https://api.openai.com/v1");
  EXPECT_EQ(base_urls["anthropic"], "https://api.anthropic.com");
  EXPECT_EQ(base_urls["deepseek"], "https://api.deepseek.com");
  // $0.15 / 1M prompt, $0.60 / 1M completion, $0.075 / 1M cached.
  EXPECT_EQ(prices["gpt-4o-mini"], (std::vector<long long>{150000, 600000, 75000}));
  EXPECT_EQ(prices["gpt-4o"], (std::vector<long long>{2500000, 10000000, 1250000}));
  EXPECT_EQ(prices["deepseek-reasoner"], (std::vector<long long>{550000, 2190000, 140000}));
  EXPECT_EQ(prices.count("claude-3-5-sonnet-20241022"), 1u);
}

TEST_P(MigrationsTest, MoneyRoundTripsExactly) {
  auto t = TestDatabase::Create(GetParam());
  ASSERT_TRUE(t.ok()) << t.status();
  Database& db = (*t)->db();
  const std::vector<long long> amounts = {0, 1, 1500, 999999999, 123456789012LL, -42};
  absl::Status st = db.InTransaction([&](soci::session& s) {
    for (size_t i = 0; i < amounts.size(); ++i) {
      s << "INSERT INTO t_ai_api_logs (request_id, attempt, provider_code, status, cost) VALUES "
           "(:r, 1, 'openai', 'success', " + NanosToDecimal(amounts[i]) + ")",
          soci::use(std::to_string(i));
    }
    return absl::OkStatus();
  });
  ASSERT_TRUE(st.ok()) << st;
  for (size_t i = 0; i < amounts.size(); ++i) {
    EXPECT_EQ(QueryInt(db, "SELECT " + db.dialect().DecimalToNanos("cost") +
                            " FROM t_ai_api_logs WHERE request_id = '" + std::to_string(i) + "'"),
              amounts[i]);
  }
}

TEST_P(MigrationsTest, UniqueKeysHold) {
  auto t = TestDatabase::Create(GetParam());
  ASSERT_TRUE(t.ok()) << t.status();
  Database& db = (*t)->db();
  absl::Status dup_provider = db.Run([&](soci::session& s) {
    s << "INSERT INTO t_ai_providers (provider_code, provider_name, base_url) VALUES "
         "('openai', 'again', 'http://x')";
    return absl::OkStatus();
  });
  EXPECT_FALSE(dup_provider.ok());
  absl::Status log_twice = db.Run([&](soci::session& s) {
    for (int i = 0; i < 2; ++i) {
      // A resend carries the same event, created_at included (on MySQL the
      // log is partitioned by month, so created_at is part of the key).
      s << std::string(db.dialect().InsertIgnore()) +
               " INTO t_ai_api_logs (request_id, attempt, provider_code, status, created_at) "
               "VALUES ('req-1', 1, 'openai', 'success', '2026-01-01 00:00:00.000')";
    }
    return absl::OkStatus();
  });
  EXPECT_TRUE(log_twice.ok()) << log_twice;
  EXPECT_EQ(QueryInt(db, "SELECT COUNT(*) FROM t_ai_api_logs WHERE request_id = 'req-1'"), 1);
}

INSTANTIATE_TEST_SUITE_P(Backends, MigrationsTest,
                         ::testing::ValuesIn(aigw::testing::TestDatabase::Backends()),
                         aigw::testing::BackendName);

// The same migrations give the same tables and columns on both backends.
TEST(MigrationsAcrossBackendsTest, SameSchemaOnSqliteAndMySql) {
  if (aigw::testing::TestDatabase::Backends().size() < 2) {
    GTEST_SKIP() << "MariaDB not configured (set AIGW_TEST_MYSQL_URL)";
  }
  auto lite = TestDatabase::Create(Backend::kSqlite);
  auto my = TestDatabase::Create(Backend::kMySql);
  ASSERT_TRUE(lite.ok()) << lite.status();
  ASSERT_TRUE(my.ok()) << my.status();
  for (const char* table : kTables) {
    EXPECT_EQ(Columns((*lite)->db(), table), Columns((*my)->db(), table)) << table;
  }
  EXPECT_EQ(Columns((*lite)->db(), "aigw_schema_migrations"),
            Columns((*my)->db(), "aigw_schema_migrations"));
}

}  // namespace
}  // namespace aigw::db
