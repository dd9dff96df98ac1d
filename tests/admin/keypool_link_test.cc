// Admin and keypool together: a key created through admin is leasable at
// once (admin's Reload, on the operator's token, over a real channel), and
// a keypool that is down does not fail the change.

#include <memory>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "libs/auth/server_auth.h"
#include "services/keypool/keypool_runtime.h"
#include "tests/admin/admin_test_env.h"
#include "tests/testing/local_grpc_server.h"

namespace aigw::admin {
namespace {

using ::aigw::admin::testing::AdminTestEnv;
using Stub = v1::AdminService::Stub;

constexpr char kSecret[] = "sk-proj-AbCdEfGhIjKlMnOpQrStUvWx1234";

// Lets the environment be built before the keypool it notifies exists.
class ForwardingNotifier : public KeyPoolNotifier {
 public:
  void KeysChanged(absl::string_view why, absl::string_view authorization) override {
    last_authorization = std::string(authorization);
    if (target != nullptr) target->KeysChanged(why, authorization);
  }
  KeyPoolNotifier* target = nullptr;
  std::string last_authorization;
};

class KeyPoolLinkTest : public ::testing::TestWithParam<db::Backend> {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<AdminTestEnv>> env = AdminTestEnv::Create(GetParam(), &forward_);
    ASSERT_TRUE(env.ok()) << env.status();
    env_ = std::move(*env);
    auth::ServerAuthOptions options;
    options.secret = testing::kJwtSecret;
    auth_ = *auth::ServerAuth::Create(options);
  }
  void TearDown() override {
    server_.reset();
    if (runtime_) runtime_->Stop();
  }

  void StartKeyPool() {
    keypool::KeyPoolConfig config;
    config.sync.poll_interval = absl::ZeroDuration();  // only Reload brings changes in
    absl::StatusOr<std::unique_ptr<keypool::KeyPoolRuntime>> rt =
        keypool::KeyPoolRuntime::Start(&env_->db(), env_->box(), nullptr, config);
    ASSERT_TRUE(rt.ok()) << rt.status();
    runtime_ = std::move(*rt);
    service_ = runtime_->NewService();
    server_ = std::make_unique<aigw::testing::LocalGrpcServer>(
        std::vector<grpc::Service*>{service_.get()}, nullptr, auth_->ServerCredentials());
    ASSERT_TRUE(server_->ok());
    channel_ = server_->NewChannel();
    notifier_ = std::make_unique<GrpcKeyPoolNotifier>(channel_, absl::Seconds(5));
    forward_.target = notifier_.get();
  }

  grpc::Status Lease(absl::string_view provider, v1::LeaseKeyResponse* out) {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", AdminTestEnv::Bearer("service"));
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    v1::LeaseKeyRequest req;
    req.set_provider_code(std::string(provider));
    req.set_estimated_tokens(10);
    return v1::KeyPool::NewStub(channel_)->LeaseKey(&ctx, req, out);
  }

  ForwardingNotifier forward_;
  std::unique_ptr<AdminTestEnv> env_;
  std::unique_ptr<auth::ServerAuth> auth_;
  std::unique_ptr<keypool::KeyPoolRuntime> runtime_;
  std::unique_ptr<keypool::KeyPoolService> service_;
  std::unique_ptr<aigw::testing::LocalGrpcServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<GrpcKeyPoolNotifier> notifier_;
};

TEST_P(KeyPoolLinkTest, AKeyCreatedThroughAdminIsLeasableAtOnce) {
  StartKeyPool();
  v1::CreateProviderRequest provider;
  provider.set_provider_code("fresh");
  provider.set_provider_name("Fresh");
  provider.set_base_url("https://fresh.example/v1");
  v1::Provider p;
  ASSERT_TRUE(env_->Call(&Stub::CreateProvider, provider, &p).ok());
  v1::LeaseKeyResponse lease;
  EXPECT_FALSE(Lease("fresh", &lease).ok());  // no key yet

  v1::CreateKeyRequest key;
  key.set_provider_id(p.id());
  key.set_key_name("first");
  key.set_api_key(kSecret);
  v1::ApiKey k;
  const std::string operator_token = AdminTestEnv::Bearer("admin");
  ASSERT_TRUE(env_->Call(&Stub::CreateKey, key, &k, operator_token).ok());
  // The admin service has no key to mint an admin token: the Reload went
  // out on the operator's own token.
  EXPECT_EQ(forward_.last_authorization, operator_token);
  grpc::Status st = Lease("fresh", &lease);
  ASSERT_TRUE(st.ok()) << st.error_message() << "\n" << env_->Logs();
  EXPECT_EQ(lease.key_id(), k.id());
  EXPECT_EQ(lease.api_key(), kSecret);  // decrypted by the keypool, from admin's ciphertext
  EXPECT_EQ(lease.base_url(), "https://fresh.example/v1");
  EXPECT_EQ(lease.api_format(), "openai");
  EXPECT_TRUE(absl::StrContains(env_->Logs(), "keypool reloaded")) << env_->Logs();

  // Deactivating it through admin takes it out of the pool at once too.
  v1::UpdateKeyRequest off;
  off.set_id(k.id());
  off.set_is_active(false);
  ASSERT_TRUE(env_->Call(&Stub::UpdateKey, off, &k).ok());
  EXPECT_FALSE(Lease("fresh", &lease).ok());
}

TEST_P(KeyPoolLinkTest, AKeypoolThatIsDownDoesNotFailTheChange) {
  auto channel = grpc::CreateChannel("127.0.0.1:1", grpc::InsecureChannelCredentials());
  GrpcKeyPoolNotifier down(channel, absl::Seconds(2));
  forward_.target = &down;
  v1::CreateKeyRequest key;
  key.set_provider_id(1);
  key.set_key_name("k");
  key.set_api_key(kSecret);
  v1::ApiKey k;
  grpc::Status st = env_->Call(&Stub::CreateKey, key, &k);
  EXPECT_TRUE(st.ok()) << st.error_message();
  EXPECT_TRUE(absl::StrContains(env_->Logs(), "keypool reload failed")) << env_->Logs();
  EXPECT_FALSE(absl::StrContains(env_->Logs(), kSecret));
}

INSTANTIATE_TEST_SUITE_P(Backends, KeyPoolLinkTest,
                         ::testing::ValuesIn(aigw::testing::TestDatabase::Backends()),
                         aigw::testing::BackendName);

}  // namespace
}  // namespace aigw::admin
