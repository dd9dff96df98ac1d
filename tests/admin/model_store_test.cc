// ModelStore on SQLite and MariaDB: exact prices, the one default model per
// provider, partial updates, and the merge of a provider's model list
// (ApplySync).

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "soci/soci.h"
#include "tests/admin/admin_test_env.h"

namespace aigw::admin {
namespace {

using ::aigw::admin::testing::AdminStoreTest;

class ModelStoreTest : public AdminStoreTest {
 protected:
  std::vector<v1::Model> Models(int64_t provider_id,
                                std::optional<bool> is_active = std::nullopt) {
    absl::StatusOr<std::vector<v1::Model>> models = models_->List(provider_id, is_active);
    EXPECT_TRUE(models.ok()) << models.status();
    return models.ok() ? *models : std::vector<v1::Model>();
  }
  int Defaults(int64_t provider_id) {
    int defaults = 0;
    for (const v1::Model& m : Models(provider_id)) defaults += m.is_default();
    return defaults;
  }
  v1::Model NewModel(int64_t provider_id, absl::string_view code, bool is_default = false) {
    v1::Model m;
    m.set_provider_id(provider_id);
    m.set_model_code(std::string(code));
    m.set_model_name(absl::StrCat("Model ", code));
    m.set_is_default(is_default);
    absl::StatusOr<v1::Model> made = models_->Create(m);
    EXPECT_TRUE(made.ok()) << made.status();
    return made.ok() ? *made : v1::Model();
  }
  v1::Model ByCode(int64_t provider_id, absl::string_view code) {
    for (const v1::Model& m : Models(provider_id)) {
      if (m.model_code() == code) return m;
    }
    ADD_FAILURE() << "no model " << code;
    return v1::Model();
  }
  static std::vector<providers::ModelInfo> Listed(const std::vector<std::string>& ids) {
    std::vector<providers::ModelInfo> out;
    for (const std::string& id : ids) out.push_back(providers::ModelInfo{id, ""});
    return out;
  }
};

TEST_P(ModelStoreTest, RoundTripWithExactPricesAndOneDefault) {
  const int64_t openai = ProviderId("openai");
  int64_t old_default = 0;
  for (const v1::Model& m : Models(openai)) {
    if (m.is_default()) old_default = m.id();
  }
  ASSERT_NE(old_default, 0);

  v1::Model m;
  m.set_provider_code("openai");
  m.set_model_code("gpt-4.1");
  m.set_model_name("GPT-4.1");
  m.set_max_input_tokens(1047576);
  m.set_max_output_tokens(32768);
  m.set_supports_function_call(true);
  m.set_cost_per_1k_prompt_tokens(0.002);
  m.set_cost_per_1k_completion_tokens(0.008);
  m.set_cost_per_1k_cached_prompt_tokens(0.000075);
  m.set_cost_per_1k_cache_creation_tokens(0.000000001);
  absl::StatusOr<v1::Model> made = models_->Create(m);
  ASSERT_TRUE(made.ok()) << made.status();
  const v1::Model created = *made;
  EXPECT_EQ(created.provider_id(), openai);
  EXPECT_EQ(created.provider_code(), "openai");
  EXPECT_EQ(created.model_type(), "chat");
  EXPECT_EQ(created.max_input_tokens(), 1047576);
  EXPECT_EQ(created.max_output_tokens(), 32768);
  EXPECT_TRUE(created.is_active());
  EXPECT_TRUE(created.supports_streaming());
  EXPECT_TRUE(created.supports_function_call());
  EXPECT_FALSE(created.supports_vision());
  EXPECT_FALSE(created.is_default());
  EXPECT_EQ(created.cost_per_1k_prompt_tokens(), 0.002);
  EXPECT_EQ(created.cost_per_1k_completion_tokens(), 0.008);
  EXPECT_EQ(created.cost_per_1k_cached_prompt_tokens(), 0.000075);
  EXPECT_EQ(created.cost_per_1k_cache_creation_tokens(), 0.000000001);
  long long nanos = 0;
  ASSERT_TRUE(db().Run([&](soci::session& s) {
    s << absl::StrCat("SELECT ", db().dialect().DecimalToNanos("cost_per_1k_cached_prompt_tokens"),
                      " FROM t_ai_models WHERE id = ", created.id()),
        soci::into(nanos);
    return absl::OkStatus();
  }).ok());
  EXPECT_EQ(nanos, 75000);

  absl::StatusOr<v1::Model> got = models_->Get(created.id());
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->SerializeAsString(), created.SerializeAsString());

  // Making it the default takes the flag from the old one.
  v1::UpdateModelRequest update;
  update.set_id(created.id());
  update.set_is_default(true);
  update.set_cost_per_1k_prompt_tokens(0.0025);
  update.set_supports_vision(true);
  update.set_model_type("chat");
  absl::StatusOr<v1::Model> updated = models_->Update(update);
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_TRUE(updated->is_default());
  EXPECT_EQ(updated->cost_per_1k_prompt_tokens(), 0.0025);
  EXPECT_EQ(updated->cost_per_1k_completion_tokens(), 0.008);  // untouched
  EXPECT_EQ(updated->cost_per_1k_cached_prompt_tokens(), 0.000075);
  EXPECT_TRUE(updated->supports_vision());
  EXPECT_EQ(Defaults(openai), 1);
  EXPECT_FALSE(models_->Get(old_default)->is_default());

  // The default cannot just stop being one.
  v1::UpdateModelRequest clear;
  clear.set_id(created.id());
  clear.set_is_default(false);
  updated = models_->Update(clear);
  EXPECT_EQ(updated.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(updated.status().message(), "make another model the default"))
      << updated.status();

  // Deleting the default hands the flag on.
  ASSERT_TRUE(models_->Delete(created.id()).ok());
  EXPECT_EQ(models_->Get(created.id()).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Defaults(openai), 1);
  EXPECT_EQ(models_->Delete(created.id()).code(), absl::StatusCode::kNotFound);
}

TEST_P(ModelStoreTest, AProvidersFirstModelIsItsDefault) {
  const v1::Provider p = NewProvider("empty", "https://x.example/v1");
  const v1::Model first = NewModel(p.id(), "m1");
  EXPECT_TRUE(first.is_default());
  const v1::Model second = NewModel(p.id(), "m2");
  EXPECT_FALSE(second.is_default());
  EXPECT_EQ(providers_->Get(p.id())->models_count(), 2);
  // Created as the default, a model takes the flag at once.
  const v1::Model third = NewModel(p.id(), "m3", /*is_default=*/true);
  EXPECT_TRUE(third.is_default());
  EXPECT_FALSE(models_->Get(first.id())->is_default());
  EXPECT_EQ(Defaults(p.id()), 1);
}

TEST_P(ModelStoreTest, DeletingTheDefaultHandsItToTheOldestActiveModel) {
  const v1::Provider p = NewProvider("three", "https://x.example/v1");
  const v1::Model first = NewModel(p.id(), "m1");
  const v1::Model inactive = NewModel(p.id(), "m2");
  const v1::Model active = NewModel(p.id(), "m3");
  v1::UpdateModelRequest off;
  off.set_id(inactive.id());
  off.set_is_active(false);
  ASSERT_TRUE(models_->Update(off).ok());
  ASSERT_TRUE(models_->Delete(first.id()).ok());
  EXPECT_FALSE(models_->Get(inactive.id())->is_default());
  EXPECT_TRUE(models_->Get(active.id())->is_default());
  // Deleting a model that is not the default moves nothing.
  ASSERT_TRUE(models_->Delete(inactive.id()).ok());
  EXPECT_TRUE(models_->Get(active.id())->is_default());
}

TEST_P(ModelStoreTest, AnUpdateChangesWhatItNamesAndTurnsFlagsOff) {
  const v1::Provider p = NewProvider("flags", "https://x.example/v1");
  v1::Model m;
  m.set_provider_id(p.id());
  m.set_model_code("m1");
  m.set_model_name("M1");
  m.set_max_input_tokens(1000);
  m.set_max_output_tokens(100);
  m.set_supports_function_call(true);
  m.set_cost_per_1k_completion_tokens(0.5);
  absl::StatusOr<v1::Model> created = models_->Create(m);
  ASSERT_TRUE(created.ok()) << created.status();

  clock_.Advance(absl::Seconds(30));
  v1::UpdateModelRequest update;
  update.set_id(created->id());
  update.set_supports_streaming(false);
  update.set_is_active(false);
  update.set_supports_function_call(false);
  update.set_model_type("embedding");
  update.set_max_output_tokens(200);
  update.set_model_name("  Renamed  ");
  absl::StatusOr<v1::Model> updated = models_->Update(update);
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_FALSE(updated->supports_streaming());
  EXPECT_FALSE(updated->is_active());
  EXPECT_FALSE(updated->supports_function_call());
  EXPECT_EQ(updated->model_type(), "embedding");
  EXPECT_EQ(updated->max_output_tokens(), 200);
  EXPECT_EQ(updated->model_name(), "Renamed");
  // What it does not name stays.
  EXPECT_EQ(updated->model_code(), "m1");
  EXPECT_EQ(updated->max_input_tokens(), 1000);
  EXPECT_EQ(updated->cost_per_1k_completion_tokens(), 0.5);
  EXPECT_TRUE(updated->is_default());
  EXPECT_EQ(updated->updated_at().seconds(), created->updated_at().seconds() + 30);
  EXPECT_EQ(Models(p.id(), /*is_active=*/true).size(), 0u);
  EXPECT_EQ(Models(p.id(), /*is_active=*/false).size(), 1u);
}

TEST_P(ModelStoreTest, SyncAddsRetiresAndReactivatesKeepingHandSetValues) {
  const v1::Provider p = NewProvider("fake-openai", "https://x.example/v1");
  absl::StatusOr<v1::SyncModelsResponse> r =
      models_->ApplySync(p.id(), Listed({"fake-a", "fake-b", "fake-c"}));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->count(), 3);
  EXPECT_EQ(r->added(), 3);
  EXPECT_EQ(r->deactivated(), 0);
  std::vector<v1::Model> models = Models(p.id());
  ASSERT_EQ(models.size(), 3u);
  for (const v1::Model& m : models) {
    EXPECT_TRUE(m.is_active());
    EXPECT_EQ(m.model_name(), m.model_code());
    EXPECT_EQ(m.model_type(), "chat");
    EXPECT_EQ(m.cost_per_1k_prompt_tokens(), 0);
    EXPECT_TRUE(m.supports_streaming());
  }
  EXPECT_TRUE(ByCode(p.id(), "fake-a").is_default());  // the first listed
  EXPECT_EQ(Defaults(p.id()), 1);

  // An operator prices fake-b and names it.
  v1::UpdateModelRequest hand;
  hand.set_id(ByCode(p.id(), "fake-b").id());
  hand.set_model_name("Fake B (priced)");
  hand.set_cost_per_1k_prompt_tokens(0.0123);
  hand.set_cost_per_1k_completion_tokens(0.0456);
  hand.set_supports_vision(true);
  hand.set_max_input_tokens(128000);
  ASSERT_TRUE(models_->Update(hand).ok());

  r = models_->ApplySync(p.id(), Listed({"fake-b", "fake-d", "text-embedding-3-small"}));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->count(), 3);
  EXPECT_EQ(r->added(), 2);
  EXPECT_EQ(r->deactivated(), 2);  // fake-a, fake-c
  EXPECT_EQ(r->reactivated(), 0);
  EXPECT_FALSE(ByCode(p.id(), "fake-a").is_active());
  EXPECT_FALSE(ByCode(p.id(), "fake-c").is_active());
  EXPECT_TRUE(ByCode(p.id(), "fake-a").is_default());  // flags are the operator's
  EXPECT_TRUE(ByCode(p.id(), "fake-d").is_active());
  EXPECT_EQ(ByCode(p.id(), "text-embedding-3-small").model_type(), "embedding");
  const v1::Model b = ByCode(p.id(), "fake-b");
  EXPECT_TRUE(b.is_active());
  EXPECT_EQ(b.model_name(), "Fake B (priced)");
  EXPECT_EQ(b.cost_per_1k_prompt_tokens(), 0.0123);
  EXPECT_EQ(b.cost_per_1k_completion_tokens(), 0.0456);
  EXPECT_TRUE(b.supports_vision());
  EXPECT_EQ(b.max_input_tokens(), 128000);

  r = models_->ApplySync(p.id(), Listed({"fake-a", "fake-b", "fake-d", "text-embedding-3-small"}));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->count(), 4);
  EXPECT_EQ(r->added(), 0);
  EXPECT_EQ(r->reactivated(), 1);
  EXPECT_EQ(r->deactivated(), 0);
  EXPECT_EQ(Models(p.id(), /*is_active=*/true).size(), 4u);
  const std::vector<v1::Model> inactive = Models(p.id(), /*is_active=*/false);
  ASSERT_EQ(inactive.size(), 1u);
  EXPECT_EQ(inactive[0].model_code(), "fake-c");
}

TEST_P(ModelStoreTest, SyncNamesModelsAndTakesEachUsableIdOnce) {
  const v1::Provider p = NewProvider("fake-claude", "https://x.example");
  const std::string long_name(200, 'n');
  absl::StatusOr<v1::SyncModelsResponse> r = models_->ApplySync(
      p.id(), {{"claude-3-5-haiku-20241022", "Claude Haiku 3.5"},
               {"claude-3-5-haiku-20241022", "listed twice"},
               {"has space", ""},
               {"", ""},
               {"claude-long", long_name}});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->count(), 2);
  EXPECT_EQ(r->added(), 2);
  std::vector<v1::Model> models = Models(p.id());
  ASSERT_EQ(models.size(), 2u);
  EXPECT_EQ(ByCode(p.id(), "claude-3-5-haiku-20241022").model_name(), "Claude Haiku 3.5");
  EXPECT_TRUE(ByCode(p.id(), "claude-3-5-haiku-20241022").is_default());
  EXPECT_EQ(ByCode(p.id(), "claude-long").model_name(), long_name.substr(0, 128));
}

TEST_P(ModelStoreTest, SyncedModelsStartWithTheirFamilysToolsAndImages) {
  // Before, every synced model had neither, so the gateway refused tools and
  // images to a freshly synced gpt-4.1.
  const v1::Provider p = NewProvider("fake-openai", "https://x.example/v1");
  ASSERT_TRUE(models_->ApplySync(p.id(), Listed({"gpt-4.1-2025-04-14", "gpt-3.5-turbo-0125",
                                                 "text-embedding-3-small", "my-finetune"}))
                  .ok());
  EXPECT_TRUE(ByCode(p.id(), "gpt-4.1-2025-04-14").supports_function_call());
  EXPECT_TRUE(ByCode(p.id(), "gpt-4.1-2025-04-14").supports_vision());
  EXPECT_TRUE(ByCode(p.id(), "gpt-3.5-turbo-0125").supports_function_call());
  EXPECT_FALSE(ByCode(p.id(), "gpt-3.5-turbo-0125").supports_vision());
  EXPECT_FALSE(ByCode(p.id(), "text-embedding-3-small").supports_function_call());
  EXPECT_FALSE(ByCode(p.id(), "my-finetune").supports_vision());

  // What an admin sets stays through the next sync.
  v1::UpdateModelRequest hand;
  hand.set_id(ByCode(p.id(), "my-finetune").id());
  hand.set_supports_function_call(true);
  ASSERT_TRUE(models_->Update(hand).ok());
  hand.set_id(ByCode(p.id(), "gpt-4.1-2025-04-14").id());
  hand.set_supports_function_call(false);
  ASSERT_TRUE(models_->Update(hand).ok());
  ASSERT_TRUE(models_->ApplySync(p.id(), Listed({"gpt-4.1-2025-04-14", "my-finetune"})).ok());
  EXPECT_TRUE(ByCode(p.id(), "my-finetune").supports_function_call());
  EXPECT_FALSE(ByCode(p.id(), "gpt-4.1-2025-04-14").supports_function_call());
}

TEST_P(ModelStoreTest, AnEmptyListChangesNothing) {
  const int64_t openai = ProviderId("openai");
  const size_t before = Models(openai, /*is_active=*/true).size();
  absl::StatusOr<v1::SyncModelsResponse> r = models_->ApplySync(openai, {});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(r.status().message(), "nothing was changed")) << r.status();
  // Nor does a list of nothing usable.
  r = models_->ApplySync(openai, Listed({"has space", ""}));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Models(openai, /*is_active=*/true).size(), before);
  EXPECT_EQ(models_->ApplySync(999999, Listed({"m"})).status().code(),
            absl::StatusCode::kNotFound);
}

INSTANTIATE_TEST_SUITE_P(Backends, ModelStoreTest,
                         ::testing::ValuesIn(aigw::testing::TestDatabase::Backends()),
                         aigw::testing::BackendName);

}  // namespace
}  // namespace aigw::admin
