// ProviderStore on SQLite and MariaDB: round trips, the counts it lists with
// each provider, and deletion of a provider that keys and models reference.

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/admin/admin_test_env.h"

namespace aigw::admin {
namespace {

using ::aigw::admin::testing::AdminStoreTest;

constexpr char kSecret[] = "sk-proj-AbCdEfGhIjKlMnOpQrStUvWx1234";

using ProviderStoreTest = AdminStoreTest;

TEST_P(ProviderStoreTest, RoundTrip) {
  v1::CreateProviderRequest create;
  create.set_provider_code("my-llm_2");
  create.set_provider_name("My LLM");
  create.set_base_url("https://llm.example.com/v1");
  create.set_api_format("OpenAI");
  create.set_sort_order(70);
  create.set_description("自定义AI供应商");
  create.set_key_policy("lru");
  absl::StatusOr<v1::Provider> made = providers_->Create(create);
  ASSERT_TRUE(made.ok()) << made.status();
  const v1::Provider created = *made;
  EXPECT_GT(created.id(), 0);
  EXPECT_EQ(created.provider_code(), "my-llm_2");
  EXPECT_EQ(created.api_format(), "openai");
  EXPECT_TRUE(created.is_active());
  EXPECT_EQ(created.sort_order(), 70);
  EXPECT_EQ(created.description(), "自定义AI供应商");
  EXPECT_EQ(created.key_policy(), "lru");
  EXPECT_EQ(created.models_count(), 0);
  EXPECT_EQ(created.active_keys_count(), 0);
  EXPECT_EQ(created.created_at().seconds(), absl::ToUnixSeconds(clock_.Now()));

  absl::StatusOr<v1::Provider> by_id = providers_->Get(created.id());
  ASSERT_TRUE(by_id.ok()) << by_id.status();
  EXPECT_EQ(by_id->SerializeAsString(), created.SerializeAsString());
  EXPECT_EQ(ProviderId("my-llm_2"), created.id());

  clock_.Advance(absl::Minutes(3));
  v1::UpdateProviderRequest update;
  update.set_id(created.id());
  update.set_provider_name("Renamed");
  update.set_base_url("http://10.0.0.7:8080");
  update.set_api_format("anthropic");
  update.set_is_active(false);
  update.set_sort_order(5);
  update.set_description("");
  update.set_key_policy("strict");
  absl::StatusOr<v1::Provider> updated = providers_->Update(update);
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(updated->provider_code(), "my-llm_2");
  EXPECT_EQ(updated->provider_name(), "Renamed");
  EXPECT_EQ(updated->base_url(), "http://10.0.0.7:8080");
  EXPECT_EQ(updated->api_format(), "anthropic");
  EXPECT_FALSE(updated->is_active());
  EXPECT_EQ(updated->sort_order(), 5);
  EXPECT_EQ(updated->description(), "");
  EXPECT_EQ(updated->key_policy(), "strict");
  EXPECT_EQ(updated->created_at().seconds(), created.created_at().seconds());
  EXPECT_EQ(updated->updated_at().seconds(), created.updated_at().seconds() + 180);

  // Fields left out of an update keep their values.
  v1::UpdateProviderRequest rename;
  rename.set_id(created.id());
  rename.set_provider_name("Renamed again");
  updated = providers_->Update(rename);
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(updated->provider_name(), "Renamed again");
  EXPECT_EQ(updated->base_url(), "http://10.0.0.7:8080");
  EXPECT_FALSE(updated->is_active());

  absl::StatusOr<std::vector<v1::Provider>> all = providers_->List(/*active_only=*/false);
  absl::StatusOr<std::vector<v1::Provider>> active = providers_->List(/*active_only=*/true);
  ASSERT_TRUE(all.ok() && active.ok());
  ASSERT_EQ(all->size(), 4u);  // the three seeded ones and ours
  EXPECT_EQ(active->size(), 3u);
  // By sort_order: ours (5) first, then openai (10), anthropic, deepseek.
  EXPECT_EQ((*all)[0].provider_code(), "my-llm_2");
  EXPECT_EQ((*all)[1].provider_code(), "openai");

  ASSERT_TRUE(providers_->Delete(created.id(), /*force=*/false).ok());
  EXPECT_EQ(providers_->Get(created.id()).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(providers_->GetByCode("my-llm_2").status().code(), absl::StatusCode::kNotFound);
}

TEST_P(ProviderStoreTest, ListCountsModelsAndUsableKeys) {
  const int64_t openai = ProviderId("openai");
  EXPECT_EQ(providers_->Get(openai)->models_count(), 4);  // seeded
  const v1::ApiKey usable = NewKey(openai, kSecret, 10);
  const v1::ApiKey inactive = NewKey(openai, "sk-inactive-000000000001", 5);
  const v1::ApiKey disabled = NewKey(openai, "sk-disabled-000000000002", 1);
  v1::UpdateKeyRequest u;
  u.set_id(inactive.id());
  u.set_is_active(false);
  ASSERT_TRUE(keys_->Update(u).ok());
  u.Clear();
  u.set_id(disabled.id());
  u.set_status("disabled");
  ASSERT_TRUE(keys_->Update(u).ok());
  EXPECT_EQ(providers_->Get(openai)->active_keys_count(), 1);
  Exec(absl::StrCat("UPDATE t_ai_api_keys SET status = 'invalid' WHERE id = ", usable.id()));
  EXPECT_EQ(providers_->Get(openai)->active_keys_count(), 0);
  // The list carries the same counts.
  absl::StatusOr<std::vector<v1::Provider>> all = providers_->List(false);
  ASSERT_TRUE(all.ok()) << all.status();
  for (const v1::Provider& p : *all) {
    if (p.id() == openai) EXPECT_EQ(p.models_count(), 4);
  }
}

TEST_P(ProviderStoreTest, DeletingAReferencedProviderNeedsForce) {
  const int64_t openai = ProviderId("openai");
  const v1::ApiKey key = NewKey(openai, kSecret);
  absl::Status st = providers_->Delete(openai, /*force=*/false);
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(st.message(), "1 API key(s) and 4 model(s)")) << st;
  EXPECT_EQ(ProviderId("openai"), openai);

  ASSERT_TRUE(providers_->Delete(openai, /*force=*/true).ok());
  EXPECT_EQ(keys_->Get(key.id()).status().code(), absl::StatusCode::kNotFound);
  absl::StatusOr<std::vector<v1::Model>> models = models_->List(0, std::nullopt);
  ASSERT_TRUE(models.ok()) << models.status();
  for (const v1::Model& m : *models) EXPECT_NE(m.provider_id(), openai);
  EXPECT_EQ(models->size(), 6u);  // the anthropic and deepseek seeds
}

TEST_P(ProviderStoreTest, UnknownIdsAndATakenCodeAreRefused) {
  v1::CreateProviderRequest again;
  again.set_provider_code("openai");
  again.set_provider_name("Again");
  again.set_base_url("https://api.openai.com/v1");
  absl::StatusOr<v1::Provider> p = providers_->Create(again);
  EXPECT_EQ(p.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_TRUE(absl::StrContains(p.status().message(), "'openai'")) << p.status();
  EXPECT_EQ(providers_->Get(0).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(providers_->Get(999999).status().code(), absl::StatusCode::kNotFound);
  v1::UpdateProviderRequest update;
  update.set_id(999999);
  update.set_sort_order(1);
  EXPECT_EQ(providers_->Update(update).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(providers_->Delete(999999, true).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(providers_->Delete(0, true).code(), absl::StatusCode::kInvalidArgument);
}

INSTANTIATE_TEST_SUITE_P(Backends, ProviderStoreTest,
                         ::testing::ValuesIn(aigw::testing::TestDatabase::Backends()),
                         aigw::testing::BackendName);

}  // namespace
}  // namespace aigw::admin
