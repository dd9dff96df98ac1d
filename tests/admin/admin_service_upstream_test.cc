// aigw.v1.AdminService's calls to providers on SQLite and MariaDB, against
// tools/fake-upstream: ValidateKey (what a provider's answer does to a key's
// status, nothing of the key in answers or logs) and SyncModels (which keys
// it calls with and in what order, what it answers when they are refused,
// the host allow-list). The merge of a model list is ModelStore's
// (model_store_test.cc); the request each format makes, ModelLister's
// (model_lister_test.cc).

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "services/admin/admin_db.h"
#include "tests/admin/admin_test_env.h"
#include "tools/fake-upstream/fake_upstream_server.h"

namespace aigw::admin {
namespace {

using ::aigw::admin::testing::AdminServiceTest;
using ::aigw::admin::testing::AdminTestEnv;
using Stub = v1::AdminService::Stub;
using grpc::StatusCode;

constexpr char kSecret[] = "sk-proj-AbCdEfGhIjKlMnOpQrStUvWx1234";
constexpr char kOtherSecret[] = "sk-ant-api03-ZyXwVuTsRqPoNmLk9876";

class AdminUpstreamTest : public AdminServiceTest {
 protected:
  void SetUp() override {
    AdminServiceTest::SetUp();
    fake_upstream::ServerOptions options;
    options.models = {"fake-a", "fake-b", "fake-c"};
    fake_ = std::make_unique<fake_upstream::FakeUpstreamServer>(options);
    ASSERT_TRUE(fake_->Start().ok());
  }
  void TearDown() override {
    // The service's HTTP engine first: it holds keep-alive connections that
    // the fake would otherwise wait out.
    env_.reset();
    fake_->Stop();
  }

  grpc::Status Validate(int64_t key_id, v1::ValidateKeyResponse* out) {
    v1::ValidateKeyRequest req;
    req.set_id(key_id);
    return env_->Call(&Stub::ValidateKey, req, out);
  }
  grpc::Status Sync(int64_t provider_id, v1::SyncModelsResponse* out) {
    v1::SyncModelsRequest req;
    req.set_provider_id(provider_id);
    return env_->Call(&Stub::SyncModels, req, out);
  }
  std::string Status(int64_t key_id, std::string* last_error = nullptr) {
    v1::GetKeyRequest get;
    get.set_id(key_id);
    v1::ApiKey k;
    EXPECT_TRUE(env_->Call(&Stub::GetKey, get, &k).ok());
    if (last_error != nullptr) *last_error = k.last_error();
    return k.status();
  }

  std::unique_ptr<fake_upstream::FakeUpstreamServer> fake_;
};

TEST_P(AdminUpstreamTest, ValidKeyOpenAiFormat) {
  const v1::Provider p = NewProvider("fake-openai", fake_->base_url() + "/v1");
  const v1::ApiKey key = NewKey(p.id(), kSecret);
  v1::ValidateKeyResponse r;
  ASSERT_TRUE(Validate(key.id(), &r).ok());
  EXPECT_TRUE(r.is_valid());
  EXPECT_EQ(r.http_status(), 200);
  EXPECT_TRUE(absl::StrContains(r.message(), "valid")) << r.message();
  std::vector<fake_upstream::RecordedRequest> seen = fake_->requests().Requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].method, "GET");
  EXPECT_EQ(seen[0].path, "/v1/models");
  EXPECT_EQ(seen[0].api_key, kSecret);  // the decrypted secret went to the provider
}

TEST_P(AdminUpstreamTest, TheProviderHostAllowListBoundsBaseUrlsAndCalls) {
  // The fake upstream is 127.0.0.1; "localhost" reaches it too but is not
  // allowed, standing in for any other host.
  env_.reset();
  absl::StatusOr<std::unique_ptr<AdminTestEnv>> env =
      AdminTestEnv::Create(GetParam(), nullptr, "127.0.0.1, api.openai.com");
  ASSERT_TRUE(env.ok()) << env.status();
  env_ = std::move(*env);
  const std::string elsewhere = absl::StrCat("http://localhost:", fake_->port(), "/v1");

  v1::CreateProviderRequest create;
  create.set_provider_code("exfil");
  create.set_provider_name("Exfil");
  create.set_base_url("https://collector.example/v1");
  v1::Provider p;
  grpc::Status st = env_->Call(&Stub::CreateProvider, create, &p);
  EXPECT_EQ(st.error_code(), StatusCode::INVALID_ARGUMENT) << st.error_message();
  EXPECT_TRUE(absl::StrContains(st.error_message(), "base_url")) << st.error_message();
  EXPECT_TRUE(absl::StrContains(st.error_message(), "host collector.example is not in the provider "
                                                    "host allow-list"))
      << st.error_message();
  create.set_base_url(elsewhere);
  EXPECT_EQ(env_->Call(&Stub::CreateProvider, create, &p).error_code(),
            StatusCode::INVALID_ARGUMENT);

  const v1::Provider allowed = NewProvider("fake-openai", fake_->base_url() + "/v1");
  const v1::ApiKey key = NewKey(allowed.id(), kSecret);
  v1::ValidateKeyResponse validated;
  ASSERT_TRUE(Validate(key.id(), &validated).ok());
  EXPECT_TRUE(validated.is_valid());
  ASSERT_EQ(fake_->requests().Requests().size(), 1u);

  v1::UpdateProviderRequest update;
  update.set_id(allowed.id());
  update.set_base_url(elsewhere);
  v1::Provider updated;
  st = env_->Call(&Stub::UpdateProvider, update, &updated);
  EXPECT_EQ(st.error_code(), StatusCode::INVALID_ARGUMENT) << st.error_message();
  EXPECT_EQ(Provider("fake-openai").base_url(), fake_->base_url() + "/v1");

  // Edited in the database by hand, past every check: admin still sends
  // neither the key nor anything else there.
  Exec(absl::StrCat("UPDATE t_ai_providers SET base_url = '", elsewhere, "' WHERE id = ",
                    allowed.id()));
  st = Validate(key.id(), &validated);
  EXPECT_EQ(st.error_code(), StatusCode::FAILED_PRECONDITION) << st.error_message();
  EXPECT_TRUE(absl::StrContains(st.error_message(), "host localhost is not in the provider host "
                                                    "allow-list"))
      << st.error_message();
  v1::SyncModelsResponse synced;
  EXPECT_EQ(Sync(allowed.id(), &synced).error_code(), StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(fake_->requests().Requests().size(), 1u);
  EXPECT_EQ(Status(key.id()), "normal");  // a refusal of ours says nothing of the key
}

TEST_P(AdminUpstreamTest, ValidKeyAnthropicFormat) {
  const v1::Provider p = NewProvider("fake-claude", fake_->base_url(), "anthropic");
  const v1::ApiKey key = NewKey(p.id(), kOtherSecret);
  v1::ValidateKeyResponse r;
  ASSERT_TRUE(Validate(key.id(), &r).ok());
  EXPECT_TRUE(r.is_valid()) << r.message();
  std::vector<fake_upstream::RecordedRequest> seen = fake_->requests().Requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].path, "/v1/models");
  // With the provider's format; its headers: model_lister_test.
  EXPECT_EQ(seen[0].api_key, kOtherSecret);
}

TEST_P(AdminUpstreamTest, RejectedKeyBecomesInvalidAndAValidResultClearsIt) {
  const v1::Provider p = NewProvider("fake-openai", fake_->base_url() + "/v1");
  const v1::ApiKey key = NewKey(p.id(), kSecret);
  const int notified = env_->notifier().count();
  fake_upstream::Rule reject;
  reject.api_key = kSecret;
  reject.status = 401;
  // Providers echo part of the key; this one echoes all of it.
  reject.message = absl::StrCat("Incorrect API key provided: ", kSecret, ".");
  reject.error_code = "invalid_api_key";
  const int64_t rule = fake_->rules().Add(reject);

  v1::ValidateKeyResponse r;
  ASSERT_TRUE(Validate(key.id(), &r).ok());
  EXPECT_FALSE(r.is_valid());
  EXPECT_EQ(r.http_status(), 401);
  EXPECT_TRUE(absl::StrContains(r.message(), "Incorrect API key provided: sk-p...1234"))
      << r.message();
  EXPECT_FALSE(absl::StrContains(r.message(), kSecret));
  std::string last_error;
  EXPECT_EQ(Status(key.id(), &last_error), "invalid");
  EXPECT_TRUE(absl::StrContains(last_error, "Incorrect API key")) << last_error;
  EXPECT_FALSE(absl::StrContains(last_error, kSecret));
  EXPECT_EQ(env_->notifier().count(), notified + 1);

  ASSERT_TRUE(fake_->rules().Remove(rule));
  ASSERT_TRUE(Validate(key.id(), &r).ok());
  EXPECT_TRUE(r.is_valid());
  EXPECT_EQ(Status(key.id(), &last_error), "normal");
  EXPECT_EQ(last_error, "");
  EXPECT_EQ(env_->notifier().count(), notified + 2);
  // A valid key that was already normal changes nothing.
  ASSERT_TRUE(Validate(key.id(), &r).ok());
  EXPECT_EQ(env_->notifier().count(), notified + 2);
  // Nothing the service logged holds the secret.
  EXPECT_FALSE(absl::StrContains(env_->Logs(), kSecret));
  EXPECT_TRUE(absl::StrContains(env_->Logs(), "sk-p...1234"));
}

TEST_P(AdminUpstreamTest, OtherFailuresDoNotTouchTheStatus) {
  const v1::Provider p = NewProvider("fake-openai", fake_->base_url() + "/v1");
  const v1::ApiKey key = NewKey(p.id(), kSecret);
  fake_upstream::Rule overloaded;
  overloaded.status = 503;
  overloaded.times = 1;
  fake_->rules().Add(overloaded);
  v1::ValidateKeyResponse r;
  ASSERT_TRUE(Validate(key.id(), &r).ok());
  EXPECT_FALSE(r.is_valid());
  EXPECT_EQ(r.http_status(), 503);
  EXPECT_EQ(Status(key.id()), "normal");

  // A provider that cannot be reached is not a verdict on the key.
  const v1::Provider gone = NewProvider("gone", "http://127.0.0.1:1/v1");
  const v1::ApiKey orphan = NewKey(gone.id(), kSecret);
  grpc::Status st = Validate(orphan.id(), &r);
  EXPECT_EQ(st.error_code(), StatusCode::UNAVAILABLE) << st.error_message();
  EXPECT_EQ(Status(orphan.id()), "normal");
}

TEST_P(AdminUpstreamTest, SyncMergesWhatTheProviderListsAndSaysWhatChanged) {
  const v1::Provider p = NewProvider("fake-openai", fake_->base_url() + "/v1");
  v1::SyncModelsResponse r;
  grpc::Status st = Sync(p.id(), &r);
  EXPECT_EQ(st.error_code(), StatusCode::FAILED_PRECONDITION) << st.error_message();  // no key
  NewKey(p.id(), kSecret);
  const int notified = env_->notifier().count();

  ASSERT_TRUE(Sync(p.id(), &r).ok());
  EXPECT_EQ(r.count(), 3);
  EXPECT_EQ(r.added(), 3);
  EXPECT_EQ(r.deactivated(), 0);
  std::vector<v1::Model> models = Models(p.id());
  ASSERT_EQ(models.size(), 3u);
  for (const v1::Model& m : models) {
    EXPECT_TRUE(m.is_active());
    if (m.model_code() == "fake-a") {  // the first listed
      EXPECT_TRUE(m.is_default());
    }
  }
  EXPECT_EQ(env_->notifier().count(), notified);  // models are not the keypool's

  fake_->SetModels({"fake-b", "fake-d", "text-embedding-3-small"});
  ASSERT_TRUE(Sync(p.id(), &r).ok());
  EXPECT_EQ(r.count(), 3);
  EXPECT_EQ(r.added(), 2);
  EXPECT_EQ(r.deactivated(), 2);  // fake-a, fake-c
  EXPECT_EQ(r.reactivated(), 0);

  fake_->SetModels({"fake-a", "fake-b", "fake-d", "text-embedding-3-small"});
  ASSERT_TRUE(Sync(p.id(), &r).ok());
  EXPECT_EQ(r.count(), 4);
  EXPECT_EQ(r.added(), 0);
  EXPECT_EQ(r.reactivated(), 1);
  EXPECT_EQ(r.deactivated(), 0);
  EXPECT_TRUE(absl::StrContains(env_->Logs(), "models synced")) << env_->Logs();
}

TEST_P(AdminUpstreamTest, SyncOfAnAnthropicProviderUsesItsDisplayNames) {
  fake_->SetModels({"claude-3-5-haiku-20241022"});
  const v1::Provider p = NewProvider("fake-claude", fake_->base_url(), "anthropic");
  NewKey(p.id(), kOtherSecret);
  v1::SyncModelsResponse r;
  ASSERT_TRUE(Sync(p.id(), &r).ok());
  EXPECT_EQ(r.added(), 1);
  std::vector<v1::Model> models = Models(p.id());
  ASSERT_EQ(models.size(), 1u);
  EXPECT_EQ(models[0].model_code(), "claude-3-5-haiku-20241022");
  EXPECT_FALSE(models[0].model_name().empty());
  EXPECT_TRUE(models[0].is_default());
}

TEST_P(AdminUpstreamTest, SyncFailuresChangeNothing) {
  const v1::Provider p = NewProvider("fake-openai", fake_->base_url() + "/v1");
  NewKey(p.id(), kSecret);
  v1::SyncModelsResponse r;
  ASSERT_TRUE(Sync(p.id(), &r).ok());

  fake_upstream::Rule reject;
  reject.status = 401;
  reject.message = absl::StrCat("Incorrect API key provided: ", kSecret);
  const int64_t rule = fake_->rules().Add(reject);
  grpc::Status st = Sync(p.id(), &r);
  EXPECT_EQ(st.error_code(), StatusCode::FAILED_PRECONDITION);
  EXPECT_TRUE(absl::StrContains(st.error_message(), "401")) << st.error_message();
  EXPECT_FALSE(absl::StrContains(st.error_message(), kSecret)) << st.error_message();
  fake_->rules().Remove(rule);

  fake_->SetModels({});
  st = Sync(p.id(), &r);
  EXPECT_EQ(st.error_code(), StatusCode::FAILED_PRECONDITION) << st.error_message();
  for (const v1::Model& m : Models(p.id())) EXPECT_TRUE(m.is_active()) << m.model_code();

  v1::SyncModelsRequest unknown;
  unknown.set_provider_id(999999);
  EXPECT_EQ(env_->Call(&Stub::SyncModels, unknown, &r).error_code(), StatusCode::NOT_FOUND);
}

TEST_P(AdminUpstreamTest, SyncSkipsACoolingKeyAndMovesPastARefusedOne) {
  const v1::Provider p = NewProvider("fake-openai", fake_->base_url() + "/v1");
  const std::string cooling_secret = "sk-proj-cooling-000000000000001";
  const std::string refused_secret = "sk-proj-refused-000000000000002";
  const std::string healthy_secret = "sk-proj-healthy-000000000000003";
  const v1::ApiKey cooling = NewKey(p.id(), cooling_secret, 30);
  const v1::ApiKey refused = NewKey(p.id(), refused_secret, 20);
  NewKey(p.id(), healthy_secret, 10);
  // The keypool wrote back a 429's cooldown for the best key; the provider
  // would still refuse it.
  Exec(absl::StrCat("UPDATE t_ai_api_keys SET status = 'rate_limited', cooldown_until = '",
                    FormatDbTime(env_->clock().Now() + absl::Minutes(1)), "' WHERE id = ",
                    cooling.id()));
  for (const std::string& secret : {cooling_secret, refused_secret}) {
    fake_upstream::Rule limited;
    limited.api_key = secret;
    limited.status = 429;
    limited.retry_after_seconds = 30;
    fake_->rules().Add(limited);
  }
  v1::SyncModelsResponse r;
  grpc::Status st = Sync(p.id(), &r);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(r.count(), 3);
  // The cooling key was not called; the one refused with a 429 was passed.
  std::vector<std::string> keys;
  for (const auto& req : fake_->requests().Requests()) keys.push_back(req.api_key);
  EXPECT_EQ(keys, (std::vector<std::string>{refused_secret, healthy_secret}));
  // Passing a key changes nothing about it.
  EXPECT_EQ(Status(refused.id()), "normal");
}

TEST_P(AdminUpstreamTest, SyncWithEveryKeyCoolingSaysWhenToComeBackWithoutACall) {
  const v1::Provider p = NewProvider("fake-openai", fake_->base_url() + "/v1");
  const v1::ApiKey a = NewKey(p.id(), "sk-proj-cooling-000000000000001", 2);
  const v1::ApiKey b = NewKey(p.id(), "sk-proj-cooling-000000000000002", 1);
  for (const auto& [key, minutes] : {std::pair{a.id(), 5}, std::pair{b.id(), 2}}) {
    Exec(absl::StrCat("UPDATE t_ai_api_keys SET status = 'rate_limited', cooldown_until = '",
                      FormatDbTime(env_->clock().Now() + absl::Minutes(minutes)),
                      "' WHERE id = ", key));
  }
  v1::SyncModelsResponse r;
  grpc::Status st = Sync(p.id(), &r);
  EXPECT_EQ(st.error_code(), StatusCode::RESOURCE_EXHAUSTED) << st.error_message();
  EXPECT_TRUE(absl::StrContains(st.error_message(), "cooling down")) << st.error_message();
  EXPECT_TRUE(absl::StrContains(
      st.error_message(),
      absl::FormatTime(env_->clock().Now() + absl::Minutes(2), absl::UTCTimeZone())))
      << st.error_message();
  EXPECT_TRUE(fake_->requests().Requests().empty());
  // A cooldown that has ended is no obstacle (the keypool sets the status
  // back on its next write).
  env_->clock().Advance(absl::Minutes(3));
  ASSERT_TRUE(Sync(p.id(), &r).ok());
}

TEST_P(AdminUpstreamTest, A403IsNoVerdictOnTheKeyAndNoEchoOfItLeaves) {
  const v1::Provider p = NewProvider("fake-openai", fake_->base_url() + "/v1");
  const v1::ApiKey key = NewKey(p.id(), kSecret);
  fake_upstream::Rule region;
  region.status = 403;  // unsupported_country_region_territory
  // A partly starred echo: no more than the mask may be left.
  region.message = "Country, region, or territory not supported for sk-proj-AbCdEfGh****1234";
  fake_->rules().Add(region);
  v1::ValidateKeyResponse r;
  ASSERT_TRUE(Validate(key.id(), &r).ok());
  EXPECT_FALSE(r.is_valid());
  EXPECT_EQ(r.http_status(), 403);
  EXPECT_EQ(r.message(), "Country, region, or territory not supported for sk-p...1234");
  EXPECT_EQ(Status(key.id()), "normal");
  v1::SyncModelsResponse synced;
  grpc::Status st = Sync(p.id(), &synced);
  EXPECT_EQ(st.error_code(), StatusCode::PERMISSION_DENIED) << st.error_message();
  EXPECT_FALSE(absl::StrContains(st.error_message(), "AbCdEfGh")) << st.error_message();
  EXPECT_FALSE(absl::StrContains(env_->Logs(), "AbCdEfGh"));
}

INSTANTIATE_TEST_SUITE_P(Backends, AdminUpstreamTest,
                         ::testing::ValuesIn(aigw::testing::TestDatabase::Backends()),
                         aigw::testing::BackendName);

}  // namespace
}  // namespace aigw::admin
