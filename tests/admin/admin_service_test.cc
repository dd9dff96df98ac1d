// aigw.v1.AdminService on SQLite and MariaDB, over an in-process server: what
// the service itself adds to its stores. Bad input refused with the right
// gRPC code, keys masked in every answer and log line, a keypool Reload
// after each key or provider change, admin tokens. What the stores do with
// the rows is tested on them directly (provider_store_test.cc,
// api_key_store_test.cc, model_store_test.cc); ValidateKey and SyncModels in
// admin_service_upstream_test.cc.

#include <cmath>
#include <functional>
#include <limits>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/admin/admin_test_env.h"

namespace aigw::admin {
namespace {

using ::aigw::admin::testing::AdminServiceTest;
using ::aigw::admin::testing::AdminTestEnv;
using Stub = v1::AdminService::Stub;
using grpc::StatusCode;

constexpr char kSecret[] = "sk-proj-AbCdEfGhIjKlMnOpQrStUvWx1234";
constexpr char kOtherSecret[] = "sk-ant-api03-ZyXwVuTsRqPoNmLk9876";

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

}  // namespace
}  // namespace aigw::admin

