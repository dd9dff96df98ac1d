// The gateway's catalogue: what it loads from t_ai_providers and t_ai_models
// on SQLite and MariaDB, how it finds providers, models and defaults, and the
// cache that refreshes it and keeps the last good one when a load fails.

#include "services/gateway/catalogue.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/testing/database_test.h"

namespace aigw::gateway {
namespace {

ModelEntry Model(absl::string_view code, bool active = true, bool is_default = false) {
  ModelEntry m;
  m.code = std::string(code);
  m.is_active = active;
  m.is_default = is_default;
  return m;
}

ProviderEntry Provider(absl::string_view code, std::vector<ModelEntry> models,
                       bool active = true) {
  ProviderEntry p;
  p.code = std::string(code);
  p.is_active = active;
  p.models = std::move(models);
  return p;
}

TEST(ProviderEntryTest, FindsOnlyActiveModels) {
  const ProviderEntry p = Provider("p", {Model("a"), Model("retired", /*active=*/false)});
  ASSERT_NE(p.FindModel("a"), nullptr);
  EXPECT_EQ(p.FindModel("a")->code, "a");
  EXPECT_EQ(p.FindModel("retired"), nullptr);
  EXPECT_EQ(p.FindModel("unknown"), nullptr);
  EXPECT_EQ(p.ModelCodes(), "a");
}

TEST(ProviderEntryTest, TheDefaultIsTheMarkedActiveModelElseTheFirstActive) {
  const ProviderEntry marked = Provider("p", {Model("a"), Model("b", true, /*is_default=*/true)});
  EXPECT_EQ(marked.DefaultModel()->code, "b");
  // A default that was deactivated gives way to the first active model.
  const ProviderEntry retired =
      Provider("p", {Model("old", /*active=*/false, /*is_default=*/true), Model("x"), Model("y")});
  EXPECT_EQ(retired.DefaultModel()->code, "x");
  const ProviderEntry none = Provider("p", {Model("old", /*active=*/false)});
  EXPECT_EQ(none.DefaultModel(), nullptr);
  EXPECT_EQ(none.ModelCodes(), "none");
  EXPECT_EQ(Provider("p", {}).DefaultModel(), nullptr);
}

TEST(CatalogueTest, FindsAnyProviderButNamesOnlyActiveOnes) {
  std::shared_ptr<const Catalogue> c = Catalogue::FromProviders(
      {Provider("openai", {Model("gpt-4o")}), Provider("off", {Model("m")}, /*active=*/false),
       Provider("deepseek", {Model("deepseek-chat")})});
  ASSERT_NE(c->FindProvider("off"), nullptr);  // the caller says it is disabled
  EXPECT_FALSE(c->FindProvider("off")->is_active);
  EXPECT_EQ(c->FindProvider("deepseek")->models[0].code, "deepseek-chat");
  EXPECT_EQ(c->FindProvider("nope"), nullptr);
  EXPECT_EQ(c->ProviderCodes(), "openai, deepseek");
  EXPECT_EQ(Catalogue::FromProviders({Provider("off", {}, false)})->ProviderCodes(), "none");
}

class CatalogueLoadTest : public aigw::testing::DatabaseTest {};

TEST_P(CatalogueLoadTest, LoadsTheSeededProvidersInOrderWithTheirModels) {
  absl::StatusOr<std::shared_ptr<const Catalogue>> c = Catalogue::Load(db());
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ((*c)->ProviderCodes(), "openai, anthropic, deepseek");  // by sort_order
  const ProviderEntry* openai = (*c)->FindProvider("openai");
  ASSERT_NE(openai, nullptr);
  EXPECT_GT(openai->id, 0);
  EXPECT_EQ(openai->api_format, "openai");
  EXPECT_EQ((*c)->FindProvider("anthropic")->api_format, "anthropic");
  EXPECT_EQ(openai->models.size(), 4u);
  ASSERT_NE(openai->DefaultModel(), nullptr);
  EXPECT_TRUE(openai->DefaultModel()->is_default);
}

TEST_P(CatalogueLoadTest, PricesLimitsAndFlagsAreReadExactly) {
  Exec("INSERT INTO t_ai_providers (provider_code, provider_name, base_url, api_format, "
       "is_active, sort_order) VALUES ('mine', 'Mine', 'https://x.example/v1', 'openai', 0, 1)");
  Exec("INSERT INTO t_ai_models (provider_id, model_code, model_name, max_input_tokens, "
       "max_output_tokens, supports_streaming, supports_function_call, supports_vision, "
       "is_active, is_default, cost_per_1k_prompt_tokens, cost_per_1k_completion_tokens, "
       "cost_per_1k_cached_prompt_tokens, cost_per_1k_cache_creation_tokens) "
       "SELECT id, 'm1', 'M1', 128000, 4096, 0, 1, 0, 1, 1, 0.002, 0.008, 0.000075, 0.000000001 "
       "FROM t_ai_providers WHERE provider_code = 'mine'");
  Exec("INSERT INTO t_ai_models (provider_id, model_code, model_name, is_active) "
       "SELECT id, 'm2', 'M2', 0 FROM t_ai_providers WHERE provider_code = 'mine'");
  absl::StatusOr<std::shared_ptr<const Catalogue>> c = Catalogue::Load(db());
  ASSERT_TRUE(c.ok()) << c.status();
  const ProviderEntry* mine = (*c)->FindProvider("mine");
  ASSERT_NE(mine, nullptr);
  EXPECT_FALSE(mine->is_active);
  EXPECT_EQ(mine->base_url, "https://x.example/v1");
  EXPECT_EQ((*c)->ProviderCodes(), "openai, anthropic, deepseek");  // not the inactive one
  ASSERT_EQ(mine->models.size(), 2u);
  const ModelEntry& m1 = mine->models[0];
  EXPECT_EQ(m1.code, "m1");
  EXPECT_EQ(m1.name, "M1");
  EXPECT_EQ(m1.max_input_tokens, 128000);
  EXPECT_EQ(m1.max_output_tokens, 4096);
  EXPECT_FALSE(m1.supports_streaming);
  EXPECT_TRUE(m1.supports_function_call);
  EXPECT_FALSE(m1.supports_vision);
  EXPECT_TRUE(m1.is_default);
  EXPECT_EQ(m1.prices.prompt_per_1k_nanos, 2000000);
  EXPECT_EQ(m1.prices.completion_per_1k_nanos, 8000000);
  EXPECT_EQ(m1.prices.cached_prompt_per_1k_nanos, 75000);
  EXPECT_EQ(m1.prices.cache_creation_per_1k_nanos, 1);
  EXPECT_FALSE(mine->models[1].is_active);
  // The table's defaults: neither tools nor images.
  EXPECT_FALSE(mine->models[1].supports_function_call);
  EXPECT_FALSE(mine->models[1].supports_vision);
  EXPECT_EQ(mine->FindModel("m2"), nullptr);
  // The seed catalogue's flags: GPT-4o calls tools and sees images, DeepSeek
  // Reasoner does neither.
  const ModelEntry* gpt4o = (*c)->FindProvider("openai")->FindModel("gpt-4o");
  ASSERT_NE(gpt4o, nullptr);
  EXPECT_TRUE(gpt4o->supports_function_call);
  EXPECT_TRUE(gpt4o->supports_vision);
  const ModelEntry* reasoner = (*c)->FindProvider("deepseek")->FindModel("deepseek-reasoner");
  ASSERT_NE(reasoner, nullptr);
  EXPECT_FALSE(reasoner->supports_function_call);
  EXPECT_FALSE(reasoner->supports_vision);
}

TEST_P(CatalogueLoadTest, TheCacheRefreshesAndKeepsTheLastGoodCatalogue) {
  CatalogueCache cache(&db(), absl::Hours(1));
  ASSERT_TRUE(cache.Start().ok());
  std::shared_ptr<const Catalogue> first = cache.Get();
  ASSERT_NE(first, nullptr);
  EXPECT_NE(first->FindProvider("openai")->FindModel("gpt-4o"), nullptr);

  // An admin change reaches the next refresh; the snapshot in use stays as
  // it was.
  Exec("UPDATE t_ai_models SET is_active = 0 WHERE model_code = 'gpt-4o'");
  Exec("UPDATE t_ai_providers SET is_active = 0 WHERE provider_code = 'deepseek'");
  ASSERT_TRUE(cache.Refresh().ok());
  std::shared_ptr<const Catalogue> second = cache.Get();
  EXPECT_EQ(second->FindProvider("openai")->FindModel("gpt-4o"), nullptr);
  EXPECT_FALSE(second->FindProvider("deepseek")->is_active);
  EXPECT_NE(first->FindProvider("openai")->FindModel("gpt-4o"), nullptr);

  // A load that fails leaves the last good catalogue in place.
  Exec("DROP TABLE t_ai_models");
  EXPECT_FALSE(cache.Refresh().ok());
  EXPECT_EQ(cache.Get(), second);
  cache.Stop();
}

TEST_P(CatalogueLoadTest, TheFirstLoadMustSucceed) {
  Exec("DROP TABLE t_ai_models");
  CatalogueCache cache(&db(), absl::Hours(1));
  EXPECT_FALSE(cache.Start().ok());
  EXPECT_EQ(cache.Get(), nullptr);
}

INSTANTIATE_TEST_SUITE_P(Backends, CatalogueLoadTest,
                         ::testing::ValuesIn(aigw::testing::TestDatabase::Backends()),
                         aigw::testing::BackendName);

}  // namespace
}  // namespace aigw::gateway
