// aigw.v1.AdminService on SQLite and MariaDB, over an in-process server: what
// the service itself does. Bad input refused with the right gRPC code, keys
// masked in every answer and log line, a keypool Reload after each key or
// provider change, admin tokens, and the calls to providers (ValidateKey,
// SyncModels) against tools/fake-upstream. What the stores do with the rows
// is tested on them directly: provider_store_test.cc, api_key_store_test.cc,
// model_store_test.cc.

#include <cmath>
#include <limits>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "gtest/gtest.h"
#include "services/admin/admin_db.h"
#include "soci/soci.h"
#include "tests/admin/admin_test_env.h"
#include "tools/fake-upstream/fake_upstream_server.h"

namespace aigw::admin {
namespace {

using ::aigw::admin::testing::AdminTestEnv;
using Stub = v1::AdminService::Stub;
using grpc::StatusCode;

constexpr char kSecret[] = "sk-proj-AbCdEfGhIjKlMnOpQrStUvWx1234";
constexpr char kOtherSecret[] = "sk-ant-api03-ZyXwVuTsRqPoNmLk9876";

class AdminServiceTest : public ::testing::TestWithParam<db::Backend> {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<AdminTestEnv>> env = AdminTestEnv::Create(GetParam());
    ASSERT_TRUE(env.ok()) << env.status();
    env_ = std::move(*env);
  }

  v1::Provider Provider(absl::string_view code) {
    v1::GetProviderRequest req;
    req.set_provider_code(std::string(code));
    v1::Provider p;
    grpc::Status st = env_->Call(&Stub::GetProvider, req, &p);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return p;
  }

  v1::Provider NewProvider(absl::string_view code, absl::string_view base_url,
                           absl::string_view format = "openai") {
    v1::CreateProviderRequest req;
    req.set_provider_code(std::string(code));
    req.set_provider_name(absl::StrCat("Provider ", code));
    req.set_base_url(std::string(base_url));
    req.set_api_format(std::string(format));
    v1::Provider p;
    grpc::Status st = env_->Call(&Stub::CreateProvider, req, &p);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return p;
  }

  v1::ApiKey NewKey(int64_t provider_id, absl::string_view secret, int priority = 0) {
    v1::CreateKeyRequest req;
    req.set_provider_id(provider_id);
    req.set_key_name(absl::StrCat("key ", priority));
    req.set_api_key(std::string(secret));
    req.set_priority(priority);
    v1::ApiKey k;
    grpc::Status st = env_->Call(&Stub::CreateKey, req, &k);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return k;
  }

  // The api_key column as stored.
  std::string Stored(int64_t key_id) { return testing::StoredKey(env_->db(), key_id); }

  void Exec(const std::string& sql) {
    absl::Status st = testing::ExecSql(env_->db(), sql);
    ASSERT_TRUE(st.ok()) << st << " " << sql;
  }

  std::vector<v1::Model> Models(int64_t provider_id) {
    v1::ListModelsRequest req;
    req.set_provider_id(provider_id);
    v1::ListModelsResponse resp;
    grpc::Status st = env_->Call(&Stub::ListModels, req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return {resp.models().begin(), resp.models().end()};
  }

  std::unique_ptr<AdminTestEnv> env_;
};

// ---- providers ----
// What ProviderStore does with a provider is in provider_store_test.cc; here,
// that the RPCs carry it and every change reloads the keypool.

TEST_P(AdminServiceTest, ProviderChangesAnswerOnTheWireAndReloadTheKeypool) {
  v1::CreateProviderRequest create;
  create.set_provider_code("my-llm_2");
  create.set_provider_name("My LLM");
  create.set_base_url("https://llm.example.com/v1");
  create.set_api_format("OpenAI");
  create.set_sort_order(5);
  v1::Provider created;
  ASSERT_TRUE(env_->Call(&Stub::CreateProvider, create, &created).ok());
  EXPECT_GT(created.id(), 0);
  EXPECT_EQ(created.api_format(), "openai");
  EXPECT_EQ(created.created_at().seconds(), absl::ToUnixSeconds(env_->clock().Now()));
  EXPECT_EQ(env_->notifier().count(), 1);

  v1::GetProviderRequest get;
  get.set_id(created.id());
  v1::Provider by_id;
  ASSERT_TRUE(env_->Call(&Stub::GetProvider, get, &by_id).ok());
  EXPECT_EQ(by_id.SerializeAsString(), created.SerializeAsString());
  EXPECT_EQ(Provider("my-llm_2").id(), created.id());

  v1::UpdateProviderRequest update;
  update.set_id(created.id());
  update.set_provider_name("Renamed");
  update.set_is_active(false);
  v1::Provider updated;
  ASSERT_TRUE(env_->Call(&Stub::UpdateProvider, update, &updated).ok());
  EXPECT_EQ(updated.provider_name(), "Renamed");
  EXPECT_FALSE(updated.is_active());
  v1::UpdateProviderRequest rename;
  rename.set_id(created.id());
  rename.set_provider_name("Renamed again");
  ASSERT_TRUE(env_->Call(&Stub::UpdateProvider, rename, &updated).ok());
  EXPECT_EQ(updated.base_url(), "https://llm.example.com/v1");

  v1::ListProvidersResponse all, active;
  ASSERT_TRUE(env_->Call(&Stub::ListProviders, v1::ListProvidersRequest(), &all).ok());
  v1::ListProvidersRequest active_only;
  active_only.set_active_only(true);
  ASSERT_TRUE(env_->Call(&Stub::ListProviders, active_only, &active).ok());
  ASSERT_EQ(all.providers_size(), 4);  // the three seeded ones and ours
  EXPECT_EQ(active.providers_size(), 3);
  EXPECT_EQ(all.providers(0).provider_code(), "my-llm_2");

  v1::DeleteProviderRequest del;
  del.set_id(created.id());
  v1::DeleteProviderResponse deleted;
  ASSERT_TRUE(env_->Call(&Stub::DeleteProvider, del, &deleted).ok());
  EXPECT_EQ(env_->Call(&Stub::GetProvider, get, &by_id).error_code(), StatusCode::NOT_FOUND);
  EXPECT_EQ(env_->notifier().count(), 4);  // create, 2 updates, delete
}

TEST_P(AdminServiceTest, ProviderBadInputIsRefusedWithTheRightCode) {
  auto create = [&](absl::string_view code, absl::string_view name, absl::string_view url,
                    absl::string_view format = "") {
    v1::CreateProviderRequest req;
    req.set_provider_code(std::string(code));
    req.set_provider_name(std::string(name));
    req.set_base_url(std::string(url));
    req.set_api_format(std::string(format));
    v1::Provider p;
    return env_->Call(&Stub::CreateProvider, req, &p);
  };
  EXPECT_EQ(create("openai", "Again", "https://api.openai.com/v1").error_code(),
            StatusCode::ALREADY_EXISTS);
  for (const char* bad_code : {"", "Open AI", "OpenAI", "-lead", "a/b", "é"}) {
    EXPECT_EQ(create(bad_code, "X", "https://x.example").error_code(),
              StatusCode::INVALID_ARGUMENT)
        << bad_code;
  }
  for (const char* bad_url : {"", "ftp://x.example", "not a url", "http://", "https://",
                              "x.example/v1", "https://x.example/v1?key=1",
                              "https://user:pw@x.example", "https://x.example/#frag",
                              "https://x.example:99999"}) {
    grpc::Status st = create("new-one", "X", bad_url);
    EXPECT_EQ(st.error_code(), StatusCode::INVALID_ARGUMENT) << bad_url;
    EXPECT_TRUE(absl::StrContains(st.error_message(), "base_url")) << st.error_message();
  }
  EXPECT_EQ(create("new-one", "", "https://x.example").error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(create("new-one", "   ", "https://x.example").error_code(),
            StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(create("new-one", "X", "https://x.example", "gemini").error_code(),
            StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(create("new-one", "X", "https://x.example").ok());
  EXPECT_EQ(env_->notifier().count(), 1);  // refused calls change nothing

  v1::UpdateProviderRequest update;
  update.set_id(999999);
  update.set_provider_name("X");
  v1::Provider p;
  EXPECT_EQ(env_->Call(&Stub::UpdateProvider, update, &p).error_code(), StatusCode::NOT_FOUND);
  update.set_id(Provider("openai").id());
  update.set_base_url("mailto:x@example.com");
  EXPECT_EQ(env_->Call(&Stub::UpdateProvider, update, &p).error_code(),
            StatusCode::INVALID_ARGUMENT);
  update.clear_base_url();
  update.set_provider_name("");
  EXPECT_EQ(env_->Call(&Stub::UpdateProvider, update, &p).error_code(),
            StatusCode::INVALID_ARGUMENT);
  v1::GetProviderRequest get;
  get.set_id(999999);
  EXPECT_EQ(env_->Call(&Stub::GetProvider, get, &p).error_code(), StatusCode::NOT_FOUND);
  get.set_id(0);
  EXPECT_EQ(env_->Call(&Stub::GetProvider, get, &p).error_code(), StatusCode::INVALID_ARGUMENT);
  get.set_provider_code("nope");
  EXPECT_EQ(env_->Call(&Stub::GetProvider, get, &p).error_code(), StatusCode::NOT_FOUND);
  v1::DeleteProviderRequest del;
  del.set_id(999999);
  v1::DeleteProviderResponse d;
  EXPECT_EQ(env_->Call(&Stub::DeleteProvider, del, &d).error_code(), StatusCode::NOT_FOUND);
}

TEST_P(AdminServiceTest, DeletingAReferencedProviderNeedsForce) {
  const v1::Provider openai = Provider("openai");
  NewKey(openai.id(), kSecret);
  const int notified = env_->notifier().count();
  v1::DeleteProviderRequest del;
  del.set_id(openai.id());
  v1::DeleteProviderResponse d;
  grpc::Status st = env_->Call(&Stub::DeleteProvider, del, &d);
  EXPECT_EQ(st.error_code(), StatusCode::FAILED_PRECONDITION);
  EXPECT_TRUE(absl::StrContains(st.error_message(), "delete with force")) << st.error_message();
  EXPECT_EQ(env_->notifier().count(), notified);
  del.set_force(true);
  ASSERT_TRUE(env_->Call(&Stub::DeleteProvider, del, &d).ok());
  EXPECT_EQ(env_->notifier().count(), notified + 1);
}

// ---- keys ----
// Sealing, masking and the counters are ApiKeyStore's (api_key_store_test.cc);
// here, that nothing but the mask leaves the service, in answers and logs.

TEST_P(AdminServiceTest, KeysAreMaskedOnTheWireAndEveryChangeReloadsTheKeypool) {
  const int64_t openai = Provider("openai").id();
  v1::CreateKeyRequest create;
  create.set_provider_id(openai);
  create.set_key_name("OpenAI主Key");
  create.set_api_key(kSecret);
  create.set_priority(100);
  v1::ApiKey created;
  ASSERT_TRUE(env_->Call(&Stub::CreateKey, create, &created).ok());
  EXPECT_EQ(created.api_key(), "sk-p...1234");
  EXPECT_EQ(created.key_name(), "OpenAI主Key");
  EXPECT_FALSE(absl::StrContains(created.SerializeAsString(), kSecret));
  EXPECT_TRUE(absl::StartsWith(Stored(created.id()), "enc:v1:"));

  v1::GetKeyRequest get;
  get.set_id(created.id());
  v1::ApiKey got;
  ASSERT_TRUE(env_->Call(&Stub::GetKey, get, &got).ok());
  EXPECT_EQ(got.SerializeAsString(), created.SerializeAsString());
  v1::ListKeysRequest list;
  list.set_provider_id(openai);
  v1::ListKeysResponse listed;
  ASSERT_TRUE(env_->Call(&Stub::ListKeys, list, &listed).ok());
  ASSERT_EQ(listed.keys_size(), 1);
  EXPECT_EQ(listed.keys(0).api_key(), "sk-p...1234");

  v1::UpdateKeyRequest update;
  update.set_id(created.id());
  update.set_priority(90);
  v1::ApiKey updated;
  ASSERT_TRUE(env_->Call(&Stub::UpdateKey, update, &updated).ok());
  EXPECT_EQ(updated.priority(), 90);
  EXPECT_EQ(updated.api_key(), "sk-p...1234");
  v1::UpdateKeyRequest rotate;
  rotate.set_id(created.id());
  rotate.set_api_key(kOtherSecret);
  ASSERT_TRUE(env_->Call(&Stub::UpdateKey, rotate, &updated).ok());
  EXPECT_EQ(updated.api_key(), "sk-a...9876");
  EXPECT_EQ(*env_->box().Open(Stored(created.id())), kOtherSecret);

  v1::DeleteKeyRequest del;
  del.set_id(created.id());
  v1::DeleteKeyResponse d;
  ASSERT_TRUE(env_->Call(&Stub::DeleteKey, del, &d).ok());
  EXPECT_EQ(env_->Call(&Stub::GetKey, get, &got).error_code(), StatusCode::NOT_FOUND);
  EXPECT_EQ(env_->Call(&Stub::DeleteKey, del, &d).error_code(), StatusCode::NOT_FOUND);
  EXPECT_EQ(env_->notifier().count(), 4);  // create, update, rotate, delete
  // The audit log names each key by its mask only.
  EXPECT_TRUE(absl::StrContains(env_->Logs(), "key=\"sk-p...1234\"")) << env_->Logs();
  EXPECT_TRUE(absl::StrContains(env_->Logs(), "key=\"sk-a...9876\"")) << env_->Logs();
  EXPECT_FALSE(absl::StrContains(env_->Logs(), kSecret));
  EXPECT_FALSE(absl::StrContains(env_->Logs(), kOtherSecret));
}

TEST_P(AdminServiceTest, KeyBadInputIsRefusedWithTheRightCode) {
  const int64_t openai = Provider("openai").id();
  NewKey(openai, kSecret);
  auto create = [&](int64_t provider, absl::string_view name, absl::string_view secret,
                    int64_t rpm = 0, int64_t tpm = 0, int64_t rpd = 0) {
    v1::CreateKeyRequest req;
    req.set_provider_id(provider);
    req.set_key_name(std::string(name));
    req.set_api_key(std::string(secret));
    req.set_rate_limit_rpm(rpm);
    req.set_rate_limit_tpm(tpm);
    req.set_rate_limit_rpd(rpd);
    v1::ApiKey k;
    return env_->Call(&Stub::CreateKey, req, &k);
  };
  EXPECT_EQ(create(openai, "k", kSecret).error_code(), StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(create(999999, "k", "sk-new-0000000000000").error_code(), StatusCode::NOT_FOUND);
  EXPECT_EQ(create(0, "k", "sk-new-0000000000000").error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(create(openai, "", "sk-new-0000000000000").error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(create(openai, "k", "").error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(create(openai, "k", "sk new 000").error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(create(openai, "k", "sk-new-0000000000000", -1).error_code(),
            StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(create(openai, "k", "sk-new-0000000000000", 0, -5).error_code(),
            StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(create(openai, "k", "sk-new-0000000000000", 0, 0, -1).error_code(),
            StatusCode::INVALID_ARGUMENT);
  // The same secret for another provider is fine.
  EXPECT_TRUE(create(Provider("deepseek").id(), "k", kSecret).ok());

  v1::UpdateKeyRequest u;
  v1::ApiKey k;
  u.set_id(999999);
  u.set_priority(1);
  EXPECT_EQ(env_->Call(&Stub::UpdateKey, u, &k).error_code(), StatusCode::NOT_FOUND);
  u.set_id(1);
  u.set_status("invalid");
  EXPECT_EQ(env_->Call(&Stub::UpdateKey, u, &k).error_code(), StatusCode::INVALID_ARGUMENT);
  u.clear_status();
  u.set_rate_limit_rpd(-3);
  EXPECT_EQ(env_->Call(&Stub::UpdateKey, u, &k).error_code(), StatusCode::INVALID_ARGUMENT);
  v1::ListKeysRequest list;
  list.set_provider_id(999999);
  v1::ListKeysResponse keys;
  EXPECT_EQ(env_->Call(&Stub::ListKeys, list, &keys).error_code(), StatusCode::NOT_FOUND);
  v1::ValidateKeyRequest validate;
  validate.set_id(999999);
  v1::ValidateKeyResponse vr;
  EXPECT_EQ(env_->Call(&Stub::ValidateKey, validate, &vr).error_code(), StatusCode::NOT_FOUND);
}

TEST_P(AdminServiceTest, PlaintextRowsInsertedByHandAreListedMasked) {
  const int64_t openai = Provider("openai").id();
  Exec(absl::StrCat("INSERT INTO t_ai_api_keys (provider_id, key_name, api_key, priority) "
                    "VALUES (", openai, ", 'by hand', '", kSecret, "', 100)"));
  v1::ListKeysRequest list;
  list.set_provider_id(openai);
  v1::ListKeysResponse keys;
  ASSERT_TRUE(env_->Call(&Stub::ListKeys, list, &keys).ok());
  ASSERT_EQ(keys.keys_size(), 1);
  EXPECT_EQ(keys.keys(0).api_key(), "sk-p...1234");
  EXPECT_FALSE(absl::StrContains(keys.SerializeAsString(), kSecret));
  v1::ListKeysResponse everything;
  ASSERT_TRUE(env_->Call(&Stub::ListKeys, v1::ListKeysRequest(), &everything).ok());
  EXPECT_FALSE(absl::StrContains(everything.SerializeAsString(), kSecret));
}

// ---- calls to providers ----

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

// ---- models ----
// Prices, defaults and the sync merge are ModelStore's (model_store_test.cc);
// here, that the RPCs carry them.

TEST_P(AdminServiceTest, ModelChangesAnswerOnTheWire) {
  const v1::Provider openai = Provider("openai");
  v1::CreateModelRequest create;
  v1::Model* m = create.mutable_model();
  m->set_provider_code("openai");
  m->set_model_code("gpt-4.1");
  m->set_model_name("GPT-4.1");
  m->set_cost_per_1k_prompt_tokens(0.002);
  m->set_cost_per_1k_cached_prompt_tokens(0.000075);
  v1::Model created;
  ASSERT_TRUE(env_->Call(&Stub::CreateModel, create, &created).ok());
  EXPECT_EQ(created.provider_id(), openai.id());
  EXPECT_EQ(created.cost_per_1k_prompt_tokens(), 0.002);
  EXPECT_EQ(created.cost_per_1k_cached_prompt_tokens(), 0.000075);
  EXPECT_TRUE(created.is_active());
  EXPECT_TRUE(created.supports_streaming());

  v1::GetModelRequest get;
  get.set_id(created.id());
  v1::Model got;
  ASSERT_TRUE(env_->Call(&Stub::GetModel, get, &got).ok());
  EXPECT_EQ(got.SerializeAsString(), created.SerializeAsString());

  v1::UpdateModelRequest update;
  update.set_id(created.id());
  update.set_is_default(true);
  update.set_is_active(false);
  v1::Model updated;
  ASSERT_TRUE(env_->Call(&Stub::UpdateModel, update, &updated).ok());
  EXPECT_TRUE(updated.is_default());
  EXPECT_FALSE(updated.is_active());
  int defaults = 0;
  for (const v1::Model& x : Models(openai.id())) defaults += x.is_default();
  EXPECT_EQ(defaults, 1);
  // ListModels filters by is_active only when the request sets it.
  v1::ListModelsRequest list;
  list.set_provider_id(openai.id());
  v1::ListModelsResponse listed;
  ASSERT_TRUE(env_->Call(&Stub::ListModels, list, &listed).ok());
  EXPECT_EQ(listed.models_size(), 5);
  list.set_is_active(false);
  ASSERT_TRUE(env_->Call(&Stub::ListModels, list, &listed).ok());
  ASSERT_EQ(listed.models_size(), 1);
  EXPECT_EQ(listed.models(0).id(), created.id());
  list.set_is_active(true);
  ASSERT_TRUE(env_->Call(&Stub::ListModels, list, &listed).ok());
  EXPECT_EQ(listed.models_size(), 4);

  // The default cannot just stop being one.
  v1::UpdateModelRequest clear;
  clear.set_id(created.id());
  clear.set_is_default(false);
  EXPECT_EQ(env_->Call(&Stub::UpdateModel, clear, &updated).error_code(),
            StatusCode::FAILED_PRECONDITION);

  v1::DeleteModelRequest del;
  del.set_id(created.id());
  v1::DeleteModelResponse d;
  ASSERT_TRUE(env_->Call(&Stub::DeleteModel, del, &d).ok());
  EXPECT_EQ(env_->Call(&Stub::GetModel, get, &got).error_code(), StatusCode::NOT_FOUND);
  EXPECT_EQ(env_->Call(&Stub::DeleteModel, del, &d).error_code(), StatusCode::NOT_FOUND);
  EXPECT_EQ(env_->notifier().count(), 0);  // models are not the keypool's
}

TEST_P(AdminServiceTest, ModelBadInputIsRefusedWithTheRightCode) {
  const int64_t openai = Provider("openai").id();
  auto create = [&](const std::function<void(v1::Model*)>& edit) {
    v1::CreateModelRequest req;
    v1::Model* m = req.mutable_model();
    m->set_provider_id(openai);
    m->set_model_code("new-model");
    m->set_model_name("New");
    edit(m);
    v1::Model out;
    return env_->Call(&Stub::CreateModel, req, &out).error_code();
  };
  EXPECT_EQ(create([](v1::Model* m) { m->set_model_code("gpt-4o"); }), StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(create([](v1::Model* m) { m->set_provider_id(999999); }), StatusCode::NOT_FOUND);
  EXPECT_EQ(create([](v1::Model* m) {
              m->set_provider_id(0);
              m->set_provider_code("nope");
            }),
            StatusCode::NOT_FOUND);
  EXPECT_EQ(create([](v1::Model* m) { m->set_provider_id(0); }), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(create([](v1::Model* m) { m->set_model_code(""); }), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(create([](v1::Model* m) { m->set_model_code("has space"); }),
            StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(create([](v1::Model* m) { m->set_model_name(""); }), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(create([](v1::Model* m) { m->set_model_type("Chat Model"); }),
            StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(create([](v1::Model* m) { m->set_max_input_tokens(-1); }),
            StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(create([](v1::Model* m) { m->set_max_output_tokens(-1); }),
            StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(create([](v1::Model* m) { m->set_cost_per_1k_prompt_tokens(-0.001); }),
            StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(create([](v1::Model* m) { m->set_cost_per_1k_completion_tokens(NAN); }),
            StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(create([](v1::Model* m) {
              m->set_cost_per_1k_cached_prompt_tokens(std::numeric_limits<double>::infinity());
            }),
            StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(create([](v1::Model* m) { m->set_cost_per_1k_cache_creation_tokens(1e7); }),
            StatusCode::INVALID_ARGUMENT);

  v1::UpdateModelRequest u;
  v1::Model out;
  u.set_id(999999);
  u.set_model_name("x");
  EXPECT_EQ(env_->Call(&Stub::UpdateModel, u, &out).error_code(), StatusCode::NOT_FOUND);
  u.set_id(Models(openai)[0].id());
  u.set_model_name("");
  EXPECT_EQ(env_->Call(&Stub::UpdateModel, u, &out).error_code(), StatusCode::INVALID_ARGUMENT);
  u.clear_model_name();
  u.set_cost_per_1k_completion_tokens(-1);
  EXPECT_EQ(env_->Call(&Stub::UpdateModel, u, &out).error_code(), StatusCode::INVALID_ARGUMENT);
  v1::ListModelsRequest list;
  list.set_provider_id(999999);
  v1::ListModelsResponse models;
  EXPECT_EQ(env_->Call(&Stub::ListModels, list, &models).error_code(), StatusCode::NOT_FOUND);
}

// ---- authentication ----

TEST_P(AdminServiceTest, EveryCallNeedsAnAdminToken) {
  v1::ListProvidersResponse r;
  const v1::ListProvidersRequest req;
  EXPECT_EQ(env_->Call(&Stub::ListProviders, req, &r, "").error_code(),
            StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(env_->Call(&Stub::ListProviders, req, &r,
                       AdminTestEnv::Bearer("admin", absl::Hours(1),
                                            "wrong-secret-0123456789abcdef0123456"))
                .error_code(),
            StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(env_->Call(&Stub::ListProviders, req, &r,
                       AdminTestEnv::Bearer("admin", absl::Seconds(-30)))
                .error_code(),
            StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(
      env_->Call(&Stub::ListProviders, req, &r, AdminTestEnv::Bearer("service")).error_code(),
      StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(env_->Call(&Stub::ListProviders, req, &r, AdminTestEnv::Bearer("user")).error_code(),
            StatusCode::PERMISSION_DENIED);
  // A refused change does not happen.
  v1::CreateProviderRequest create;
  create.set_provider_code("sneaky");
  create.set_provider_name("Sneaky");
  create.set_base_url("https://x.example");
  v1::Provider p;
  EXPECT_EQ(env_->Call(&Stub::CreateProvider, create, &p, AdminTestEnv::Bearer("service"))
                .error_code(),
            StatusCode::PERMISSION_DENIED);
  v1::GetProviderRequest get;
  get.set_provider_code("sneaky");
  EXPECT_EQ(env_->Call(&Stub::GetProvider, get, &p).error_code(), StatusCode::NOT_FOUND);
  EXPECT_TRUE(env_->Call(&Stub::ListProviders, req, &r).ok());
  // The audit log names the operator.
  ASSERT_TRUE(env_->Call(&Stub::CreateProvider, create, &p).ok());
  EXPECT_TRUE(absl::StrContains(env_->Logs(), "by=\"test-operator\"")) << env_->Logs();
}

INSTANTIATE_TEST_SUITE_P(Backends, AdminServiceTest,
                         ::testing::ValuesIn(aigw::testing::TestDatabase::Backends()),
                         aigw::testing::BackendName);
INSTANTIATE_TEST_SUITE_P(Backends, AdminUpstreamTest,
                         ::testing::ValuesIn(aigw::testing::TestDatabase::Backends()),
                         aigw::testing::BackendName);

}  // namespace
}  // namespace aigw::admin

