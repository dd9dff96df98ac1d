#include "services/keypool/key_store.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/common/clock.h"
#include "services/keypool/key_pool.h"
#include "services/keypool/key_sync.h"
#include "tests/testing/database_test.h"
#include "tests/testing/test_keys.h"

namespace aigw::keypool {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kOtherMasterKey[] =
    "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100";
// 2026-01-01 00:00:00 UTC.
const absl::Time kT0 = absl::FromUnixSeconds(1767225600);

class KeyStoreTest : public testing::DatabaseTest {
 protected:
  // Inserts a key of provider `provider_id` (seeded: 1 openai, 2 anthropic,
  // 3 deepseek) with the api_key column exactly as given.
  void InsertKey(int id, int provider_id, const std::string& stored, int priority = 10,
                 const std::string& extra_cols = "", const std::string& extra_vals = "") {
    Exec(absl::StrCat("INSERT INTO t_ai_api_keys (id, provider_id, key_name, api_key, priority",
                      extra_cols, ") VALUES (", id, ", ", provider_id, ", 'key-", id, "', '",
                      stored, "', ", priority, extra_vals, ")"));
  }

  std::string Sealed(const std::string& plain, const char* master = testing::kTestMasterKey) {
    absl::StatusOr<std::string> s = testing::TestSecretBox(master).Seal(plain);
    EXPECT_TRUE(s.ok());
    return *s;
  }
};

TEST_P(KeyStoreTest, LoadsProvidersAndDecryptsKeys) {
  Exec("UPDATE t_ai_providers SET key_policy = 'lru' WHERE provider_code = 'deepseek'");
  InsertKey(1, 1, Sealed("sk-proj-first-key-000001"), 100,
            ", api_key_hint, rate_limit_rpm, rate_limit_tpm, rate_limit_rpd, status",
            ", 'sk-p...0001', 3500, 90000, 200000, 'rate_limited'");
  crypto::SecretBox box = testing::TestSecretBox();
  KeyStore store(&db(), &box);
  absl::StatusOr<PoolSnapshot> snap = store.Load();
  ASSERT_TRUE(snap.ok()) << snap.status();

  // The seeded catalogue.
  int seen = 0;
  for (const ProviderRow& p : snap->providers) {
    if (p.code == "anthropic") {
      EXPECT_EQ(p.api_format, "anthropic");
      ++seen;
    }
    if (p.code == "openai") {
      EXPECT_EQ(p.base_url, "https://api.openai.com/v1");
      ++seen;
    }
    if (p.code == "deepseek") ++seen;
    EXPECT_EQ(p.policy, p.code == "deepseek" ? KeyPolicy::kLru : KeyPolicy::kStrict) << p.code;
    EXPECT_TRUE(p.is_active);
  }
  EXPECT_EQ(seen, 3);
  ASSERT_EQ(snap->keys.size(), 1u);
  const KeyRow& k = snap->keys[0];
  EXPECT_EQ(k.id, 1);
  EXPECT_EQ(k.provider_id, 1);
  EXPECT_EQ(k.key_name, "key-1");
  EXPECT_EQ(k.secret, "sk-proj-first-key-000001");
  EXPECT_TRUE(k.secret_error.empty());
  EXPECT_EQ(k.masked, "sk-p...0001");
  EXPECT_EQ(k.priority, 100);
  EXPECT_EQ(k.rate_limit_rpm, 3500);
  EXPECT_EQ(k.rate_limit_tpm, 90000);
  EXPECT_EQ(k.rate_limit_rpd, 200000);
  EXPECT_EQ(k.status, "rate_limited");
  EXPECT_TRUE(k.is_active);
  EXPECT_FALSE(k.has_counts_date);
  EXPECT_EQ(k.last_used_at, absl::InfinitePast());
}

TEST_P(KeyStoreTest, PlaintextKeyInsertedStraightIntoTheTableIsEncryptedInPlace) {
  // The original system's second way of adding a key.
  Exec("INSERT INTO t_ai_api_keys (provider_id, key_name, api_key, priority, rate_limit_rpm, "
       "rate_limit_tpm, rate_limit_rpd) VALUES (1, 'OpenAI main', 'sk-proj-abcdefghijkl1234', "
       "100, 3500, 90000, 200000)");
  crypto::SecretBox box = testing::TestSecretBox();
  KeyStore store(&db(), &box);
  absl::StatusOr<PoolSnapshot> snap = store.Load();
  ASSERT_TRUE(snap.ok()) << snap.status();
  ASSERT_EQ(snap->keys.size(), 1u);
  EXPECT_EQ(snap->keys[0].secret, "sk-proj-abcdefghijkl1234");
  EXPECT_EQ(snap->keys[0].masked, "sk-p...1234");

  const std::string stored = QueryString("SELECT api_key FROM t_ai_api_keys");
  EXPECT_THAT(stored, StartsWith("enc:v1:"));
  EXPECT_FALSE(absl::StrContains(stored, "abcdefghijkl"));
  absl::StatusOr<std::string> opened = box.Open(stored);
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(*opened, "sk-proj-abcdefghijkl1234");
  EXPECT_EQ(QueryString("SELECT api_key_hint FROM t_ai_api_keys"), "sk-p...1234");

  // A second load reads the encrypted value and leaves it alone.
  absl::StatusOr<PoolSnapshot> again = store.Load();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->keys[0].secret, "sk-proj-abcdefghijkl1234");
  EXPECT_EQ(QueryString("SELECT api_key FROM t_ai_api_keys"), stored);
}

TEST_P(KeyStoreTest, WrongMasterKeyIsAClearErrorAndWritesNothing) {
  InsertKey(1, 1, Sealed("sk-proj-first-key-000001"));
  InsertKey(2, 1, Sealed("sk-proj-second-key-00002"));
  InsertKey(3, 1, "sk-plaintext-key-0000003");
  crypto::SecretBox wrong = testing::TestSecretBox(kOtherMasterKey);
  KeyStore store(&db(), &wrong);
  absl::StatusOr<PoolSnapshot> snap = store.Load();
  ASSERT_FALSE(snap.ok());
  EXPECT_EQ(snap.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(snap.status().message(), HasSubstr("AIGW_MASTER_KEY"));
  EXPECT_THAT(snap.status().message(), HasSubstr("none of the 2"));
  // The plaintext key was not sealed under the wrong key.
  EXPECT_EQ(QueryString("SELECT api_key FROM t_ai_api_keys WHERE id = 3"),
            "sk-plaintext-key-0000003");
}

TEST_P(KeyStoreTest, AKeyThatDoesNotDecryptIsLoadedUnusable) {
  InsertKey(1, 1, Sealed("sk-proj-first-key-000001"));
  InsertKey(2, 1, Sealed("sk-proj-other-master-002", kOtherMasterKey));
  crypto::SecretBox box = testing::TestSecretBox();
  KeyStore store(&db(), &box);
  absl::StatusOr<PoolSnapshot> snap = store.Load();
  ASSERT_TRUE(snap.ok()) << snap.status();
  ASSERT_EQ(snap->keys.size(), 2u);
  EXPECT_TRUE(snap->keys[0].secret_error.empty());
  EXPECT_FALSE(snap->keys[1].secret_error.empty());
  EXPECT_TRUE(snap->keys[1].secret.empty());

  ManualClock clock(kT0);
  KeyPool pool(&clock, KeyPoolOptions{});
  pool.Apply(*snap);
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<LeaseGrant> g = pool.Lease("openai", 0, {});
    ASSERT_TRUE(g.ok());
    EXPECT_EQ(g->key->id, 1);
  }
  absl::StatusOr<std::vector<KeyStateView>> states = pool.ListKeyStates("openai");
  ASSERT_TRUE(states.ok());
  EXPECT_EQ((*states)[1].status, "invalid");
}

// A keypool process over the test database: pool + store + sync.
struct Process {
  Process(db::Database* db, Clock* clock, const crypto::SecretBox& b, KeyPoolOptions options = {})
      : box(b), pool(clock, options), store(db, &box), sync(&pool, &store, nullptr, {}) {}
  crypto::SecretBox box;
  KeyPool pool;
  KeyStore store;
  KeySync sync;
};

TEST_P(KeyStoreTest, RestartKeepsTheDaysCounts) {
  InsertKey(1, 1, Sealed("sk-proj-first-key-000001"), 10, ", rate_limit_rpd", ", 5");
  ManualClock clock(kT0 + absl::Hours(9));
  {
    Process p(&db(), &clock, testing::TestSecretBox());
    ASSERT_TRUE(p.sync.Reload().ok());
    for (int64_t tokens : {100, 200, 300}) {
      absl::StatusOr<LeaseGrant> g = p.pool.Lease("openai", tokens, {});
      ASSERT_TRUE(g.ok()) << g.status();
      clock.Advance(absl::Seconds(1));
    }
    ASSERT_TRUE(p.sync.Flush().ok());
  }
  EXPECT_EQ(QueryInt("SELECT requests_count_today FROM t_ai_api_keys WHERE id = 1"), 3);
  EXPECT_EQ(QueryInt("SELECT tokens_count_today FROM t_ai_api_keys WHERE id = 1"), 600);
  EXPECT_THAT(QueryString("SELECT counts_date FROM t_ai_api_keys WHERE id = 1"),
              StartsWith("2026-01-01"));
  EXPECT_THAT(QueryString("SELECT last_used_at FROM t_ai_api_keys WHERE id = 1"),
              StartsWith("2026-01-01 09:00:02"));

  // A new process on a new connection pool: the day's counts are back, so
  // RPD 5 leaves exactly two more leases.
  absl::StatusOr<std::unique_ptr<db::Database>> reopened = tdb_->Reopen();
  ASSERT_TRUE(reopened.ok());
  Process p(reopened->get(), &clock, testing::TestSecretBox());
  ASSERT_TRUE(p.sync.Reload().ok());
  absl::StatusOr<std::vector<KeyStateView>> states = p.pool.ListKeyStates("openai");
  ASSERT_TRUE(states.ok());
  EXPECT_EQ((*states)[0].requests_today, 3);
  EXPECT_EQ((*states)[0].tokens_today, 600);
  EXPECT_EQ((*states)[0].last_used_at, kT0 + absl::Hours(9) + absl::Seconds(2));
  EXPECT_TRUE(p.pool.Lease("openai", 0, {}).ok());
  EXPECT_TRUE(p.pool.Lease("openai", 0, {}).ok());
  EXPECT_EQ(p.pool.Lease("openai", 0, {}).status().code(), absl::StatusCode::kResourceExhausted);
  ASSERT_TRUE(p.sync.Flush().ok());
  EXPECT_EQ(QueryInt("SELECT requests_count_today FROM t_ai_api_keys WHERE id = 1"), 5);

  // The next day starts from zero.
  clock.Set(kT0 + absl::Hours(24));
  Process next_day(reopened->get(), &clock, testing::TestSecretBox());
  ASSERT_TRUE(next_day.sync.Reload().ok());
  states = next_day.pool.ListKeyStates("openai");
  EXPECT_EQ((*states)[0].requests_today, 0);
  EXPECT_TRUE(next_day.pool.Lease("openai", 0, {}).ok());
  ASSERT_TRUE(next_day.sync.Flush().ok());
  EXPECT_EQ(QueryInt("SELECT requests_count_today FROM t_ai_api_keys WHERE id = 1"), 1);
  EXPECT_THAT(QueryString("SELECT counts_date FROM t_ai_api_keys WHERE id = 1"),
              StartsWith("2026-01-02"));
}

TEST_P(KeyStoreTest, InvalidStatusIsWrittenBackAndAnAdminUpdateBringsTheKeyBack) {
  InsertKey(1, 1, Sealed("sk-proj-first-key-000001"));
  ManualClock clock(kT0);
  Process p(&db(), &clock, testing::TestSecretBox());
  ASSERT_TRUE(p.sync.Reload().ok());
  absl::StatusOr<LeaseGrant> g = p.pool.Lease("openai", 0, {});
  ASSERT_TRUE(g.ok());
  UsageReport r;
  r.lease_id = g->lease_id;
  r.outcome = aigw::v1::AUTH_FAILED;
  r.http_status = 401;
  r.error_message = "Incorrect API key provided";
  ASSERT_TRUE(p.pool.Report(r).ok());
  ASSERT_TRUE(p.sync.Flush().ok());
  EXPECT_EQ(QueryString("SELECT status FROM t_ai_api_keys WHERE id = 1"), "invalid");
  EXPECT_EQ(QueryString("SELECT last_error FROM t_ai_api_keys WHERE id = 1"),
            "Incorrect API key provided");
  EXPECT_NE(QueryString("SELECT last_error_at FROM t_ai_api_keys WHERE id = 1"), "NULL");

  // A poll re-reads "invalid": still out.
  ASSERT_TRUE(p.sync.Reload().ok());
  EXPECT_EQ(p.pool.Lease("openai", 0, {}).status().code(), absl::StatusCode::kResourceExhausted);
  // The admin re-validates it.
  Exec("UPDATE t_ai_api_keys SET status = 'normal' WHERE id = 1");
  ASSERT_TRUE(p.sync.Reload().ok());
  EXPECT_TRUE(p.pool.Lease("openai", 0, {}).ok());
}

TEST_P(KeyStoreTest, CooldownSurvivesARestart) {
  InsertKey(1, 1, Sealed("sk-proj-first-key-000001"));
  ManualClock clock(kT0);
  {
    Process p(&db(), &clock, testing::TestSecretBox());
    ASSERT_TRUE(p.sync.Reload().ok());
    absl::StatusOr<LeaseGrant> g = p.pool.Lease("openai", 0, {});
    ASSERT_TRUE(g.ok());
    UsageReport r;
    r.lease_id = g->lease_id;
    r.outcome = aigw::v1::RATE_LIMITED;
    r.retry_after_ms = 120'000;
    ASSERT_TRUE(p.pool.Report(r).ok());
    ASSERT_TRUE(p.sync.Flush().ok());
  }
  EXPECT_EQ(QueryString("SELECT status FROM t_ai_api_keys WHERE id = 1"), "rate_limited");
  clock.Advance(absl::Seconds(60));
  Process p(&db(), &clock, testing::TestSecretBox());
  ASSERT_TRUE(p.sync.Reload().ok());
  EXPECT_EQ(p.pool.Lease("openai", 0, {}).status().code(), absl::StatusCode::kResourceExhausted);
  clock.Advance(absl::Seconds(60));
  EXPECT_TRUE(p.pool.Lease("openai", 0, {}).ok());
  // The end of the cooldown is written back.
  ASSERT_TRUE(p.sync.Flush().ok());
  EXPECT_EQ(QueryString("SELECT status FROM t_ai_api_keys WHERE id = 1"), "normal");
  EXPECT_EQ(QueryString("SELECT cooldown_until FROM t_ai_api_keys WHERE id = 1"), "NULL");
}

TEST_P(KeyStoreTest, ReloadPicksUpChangesMadeStraightInTheDatabase) {
  InsertKey(1, 1, Sealed("sk-proj-first-key-000001"), 10);
  ManualClock clock(kT0);
  Process p(&db(), &clock, testing::TestSecretBox());
  ASSERT_EQ(*p.sync.Reload(), 1);
  ASSERT_EQ(p.pool.Lease("openai", 0, {})->key->id, 1);

  // A new, higher-priority key inserted in plaintext.
  InsertKey(2, 1, "sk-proj-inserted-by-hand-02", 50);
  ASSERT_EQ(*p.sync.Reload(), 2);
  EXPECT_EQ(p.pool.Lease("openai", 0, {})->key->id, 2);
  EXPECT_THAT(QueryString("SELECT api_key FROM t_ai_api_keys WHERE id = 2"),
              StartsWith("enc:v1:"));

  // Disabled by hand, then deleted.
  Exec("UPDATE t_ai_api_keys SET is_active = 0 WHERE id = 2");
  ASSERT_TRUE(p.sync.Reload().ok());
  EXPECT_EQ(p.pool.Lease("openai", 0, {})->key->id, 1);
  Exec("UPDATE t_ai_api_keys SET status = 'disabled' WHERE id = 1");
  ASSERT_TRUE(p.sync.Reload().ok());
  EXPECT_EQ(p.pool.Lease("openai", 0, {}).status().code(), absl::StatusCode::kResourceExhausted);
  Exec("DELETE FROM t_ai_api_keys WHERE id = 1");
  ASSERT_EQ(*p.sync.Reload(), 1);

  // A new provider and its policy.
  Exec("INSERT INTO t_ai_providers (provider_code, provider_name, base_url, api_format, "
       "key_policy) VALUES ('acme', 'Acme', 'https://acme.example/v1', 'openai', 'lru')");
  const long long acme = QueryInt("SELECT id FROM t_ai_providers WHERE provider_code = 'acme'");
  InsertKey(3, static_cast<int>(acme), Sealed("sk-acme-key-000000003"), 1,
            ", rate_limit_rpm", ", 1");
  ASSERT_EQ(*p.sync.Reload(), 2);
  absl::StatusOr<LeaseGrant> first = p.pool.Lease("acme", 0, {});
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->provider->base_url, "https://acme.example/v1");
  absl::StatusOr<LeaseGrant> second = p.pool.Lease("acme", 0, {});
  ASSERT_TRUE(second.ok());  // lru policy: past its RPM, handed out anyway
  EXPECT_TRUE(second->over_limit);
  // An inactive provider is refused.
  Exec("UPDATE t_ai_providers SET is_active = 0 WHERE provider_code = 'acme'");
  ASSERT_TRUE(p.sync.Reload().ok());
  EXPECT_EQ(p.pool.Lease("acme", 0, {}).status().code(), absl::StatusCode::kNotFound);
}

TEST_P(KeyStoreTest, BackgroundThreadAnswersReloadsAndFlushesOnStop) {
  InsertKey(1, 1, Sealed("sk-proj-first-key-000001"));
  ManualClock clock(kT0);
  Process p(&db(), &clock, testing::TestSecretBox());
  p.sync.Start();
  InsertKey(2, 1, Sealed("sk-proj-second-key-00002"));
  absl::Notification done;
  absl::StatusOr<int> loaded;
  p.sync.ReloadAsync([&](absl::StatusOr<int> n) {
    loaded = n;
    done.Notify();
  });
  done.WaitForNotification();
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(*loaded, 2);
  ASSERT_TRUE(p.pool.Lease("openai", 42, {}).ok());
  p.sync.Stop();
  EXPECT_EQ(QueryInt("SELECT SUM(requests_count_today) FROM t_ai_api_keys"), 1);
  EXPECT_EQ(QueryInt("SELECT SUM(tokens_count_today) FROM t_ai_api_keys"), 42);
}

INSTANTIATE_TEST_SUITE_P(Backends, KeyStoreTest,
                         ::testing::ValuesIn(testing::TestDatabase::Backends()),
                         testing::BackendName);

}  // namespace
}  // namespace aigw::keypool
