#include "services/keypool/env_key_import.h"

#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "libs/crypto/stored_api_key.h"
#include "soci/soci.h"
#include "tests/testing/database_test.h"
#include "tests/testing/scoped_env.h"
#include "tests/testing/test_keys.h"

namespace aigw::keypool {
namespace {

constexpr char kOpenAiKey[] = "sk-proj-imported-0123456789abcdef";
constexpr char kDeepSeekKey[] = "sk-deepseek-imported-abcdef012345";

class EnvKeyImportTest : public testing::DatabaseTest {
 protected:
  void SetUp() override {
    DatabaseTest::SetUp();
    box_ = std::make_unique<crypto::SecretBox>(testing::TestSecretBox());
  }

  long long KeysOf(const std::string& provider) {
    long long n = -1;
    absl::Status st = db().Run([&](soci::session& s) {
      s << "SELECT COUNT(*) FROM t_ai_api_keys k JOIN t_ai_providers p ON p.id = k.provider_id "
           "WHERE p.provider_code = :c",
          soci::use(provider), soci::into(n);
      return absl::OkStatus();
    });
    EXPECT_TRUE(st.ok()) << st;
    return n;
  }

  struct StoredRow {
    std::string name, api_key, hint;
    int priority = 0;
  };
  StoredRow OnlyKeyOf(const std::string& provider) {
    StoredRow row;
    absl::Status st = db().Run([&](soci::session& s) {
      s << "SELECT k.key_name, k.api_key, COALESCE(k.api_key_hint, ''), k.priority "
           "FROM t_ai_api_keys k "
           "JOIN t_ai_providers p ON p.id = k.provider_id WHERE p.provider_code = :c",
          soci::use(provider), soci::into(row.name), soci::into(row.api_key),
          soci::into(row.hint), soci::into(row.priority);
      return absl::OkStatus();
    });
    EXPECT_TRUE(st.ok()) << st;
    return row;
  }

  std::unique_ptr<crypto::SecretBox> box_;
  testing::ScopedEnv openai_{"OPENAI_API_KEY", std::nullopt};
  testing::ScopedEnv anthropic_{"ANTHROPIC_API_KEY", std::nullopt};
  testing::ScopedEnv deepseek_{"DEEPSEEK_API_KEY", std::nullopt};
};

TEST_P(EnvKeyImportTest, NothingInTheEnvironmentAddsNothing) {
  absl::StatusOr<int> added = ImportProviderKeysFromEnv(db(), *box_);
  ASSERT_TRUE(added.ok()) << added.status();
  EXPECT_EQ(*added, 0);
  EXPECT_EQ(KeysOf("openai"), 0);
}

TEST_P(EnvKeyImportTest, EachSetVariableBecomesASealedKeyOfItsProvider) {
  testing::ScopedEnv openai("OPENAI_API_KEY", kOpenAiKey);
  testing::ScopedEnv deepseek("DEEPSEEK_API_KEY", kDeepSeekKey);
  absl::StatusOr<int> added = ImportProviderKeysFromEnv(db(), *box_);
  ASSERT_TRUE(added.ok()) << added.status();
  EXPECT_EQ(*added, 2);
  EXPECT_EQ(KeysOf("anthropic"), 0);
  const StoredRow row = OnlyKeyOf("openai");
  EXPECT_EQ(row.name, "OPENAI_API_KEY (imported)");
  EXPECT_EQ(row.priority, 100);
  EXPECT_EQ(row.hint, crypto::MaskApiKey(kOpenAiKey));
  EXPECT_TRUE(crypto::SecretBox::IsEncrypted(row.api_key)) << "stored in plaintext";
  absl::StatusOr<std::string> opened = crypto::OpenStoredApiKey(*box_, row.api_key);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(*opened, kOpenAiKey);
  opened = crypto::OpenStoredApiKey(*box_, OnlyKeyOf("deepseek").api_key);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(*opened, kDeepSeekKey);
}

TEST_P(EnvKeyImportTest, AProviderThatHasAKeyAlreadyGetsNoneAndASecondStartAddsNothing) {
  Exec("INSERT INTO t_ai_api_keys (provider_id, key_name, api_key) "
       "SELECT id, 'operator''s', 'sk-operator-key-000000000000' FROM t_ai_providers "
       "WHERE provider_code = 'openai'");
  testing::ScopedEnv openai("OPENAI_API_KEY", kOpenAiKey);
  testing::ScopedEnv deepseek("DEEPSEEK_API_KEY", kDeepSeekKey);
  absl::StatusOr<int> added = ImportProviderKeysFromEnv(db(), *box_);
  ASSERT_TRUE(added.ok()) << added.status();
  EXPECT_EQ(*added, 1);
  EXPECT_EQ(OnlyKeyOf("openai").name, "operator's");
  added = ImportProviderKeysFromEnv(db(), *box_);
  ASSERT_TRUE(added.ok()) << added.status();
  EXPECT_EQ(*added, 0);
  EXPECT_EQ(KeysOf("deepseek"), 1);
}

TEST_P(EnvKeyImportTest, AProviderMissingFromTheCatalogueIsSkipped) {
  Exec("DELETE FROM t_ai_models WHERE provider_id IN "
       "(SELECT id FROM t_ai_providers WHERE provider_code = 'anthropic')");
  Exec("DELETE FROM t_ai_providers WHERE provider_code = 'anthropic'");
  testing::ScopedEnv anthropic("ANTHROPIC_API_KEY", "sk-ant-imported-0123456789abcdef");
  absl::StatusOr<int> added = ImportProviderKeysFromEnv(db(), *box_);
  ASSERT_TRUE(added.ok()) << added.status();
  EXPECT_EQ(*added, 0);
}

INSTANTIATE_TEST_SUITE_P(Backends, EnvKeyImportTest,
                         ::testing::ValuesIn(testing::TestDatabase::Backends()),
                         testing::BackendName);

}  // namespace
}  // namespace aigw::keypool
