// The real binaries with production keys (RS256, no shared secret): the
// operators' key opens management, the gateway's own service key opens only
// the internal calls, and nothing the gateway holds can make an admin token.

#include <signal.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "aigw/v1/admin.grpc.pb.h"
#include "aigw/v1/chat.grpc.pb.h"
#include "aigw/v1/keypool.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "libs/auth/jwt.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/test_database.h"
#include "tests/testing/test_keys.h"

namespace aigw {
namespace {

using ::aigw::testing::Subprocess;
using ::aigw::testing::TestDatabase;

constexpr char kMasterKey[] = "5f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

template <typename Fn>
grpc::Status Call(const std::string& target, const std::string& token, Fn fn) {
  auto channel = grpc::CreateChannel(target, grpc::InsecureChannelCredentials());
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  if (!token.empty()) ctx.AddMetadata("authorization", absl::StrCat("Bearer ", token));
  return fn(channel, &ctx);
}

grpc::Status ListProviders(const std::string& target, const std::string& token) {
  return Call(target, token, [](auto channel, grpc::ClientContext* ctx) {
    v1::ListProvidersResponse r;
    return v1::AdminService::NewStub(channel)->ListProviders(ctx, {}, &r);
  });
}
grpc::Status Reload(const std::string& target, const std::string& token) {
  return Call(target, token, [](auto channel, grpc::ClientContext* ctx) {
    v1::ReloadResponse r;
    return v1::KeyPool::NewStub(channel)->Reload(ctx, {}, &r);
  });
}
grpc::Status ListKeyStates(const std::string& target, const std::string& token) {
  return Call(target, token, [](auto channel, grpc::ClientContext* ctx) {
    v1::ListKeyStatesResponse r;
    return v1::KeyPool::NewStub(channel)->ListKeyStates(ctx, {}, &r);
  });
}
grpc::Status LeaseKey(const std::string& target, const std::string& token) {
  return Call(target, token, [](auto channel, grpc::ClientContext* ctx) {
    v1::LeaseKeyRequest req;
    req.set_provider_code("deepseek");
    req.set_estimated_tokens(10);
    v1::LeaseKeyResponse r;
    return v1::KeyPool::NewStub(channel)->LeaseKey(ctx, req, &r);
  });
}
grpc::Status Chat(const std::string& target, const std::string& token) {
  return Call(target, token, [](auto channel, grpc::ClientContext* ctx) {
    v1::ChatCompletionRequest req;
    req.set_provider_code("deepseek");
    auto* m = req.add_messages();
    m->set_role("user");
    m->set_content("hi");
    v1::ChatCompletion r;
    return v1::ChatService::NewStub(channel)->CreateChatCompletion(ctx, req, &r);
  });
}

// One cluster for the whole suite: starting three binaries is the slow part.
class AsymmetricTokensTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/aigw_rs256_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    const aigw::testing::RsaKeyPem ops = aigw::testing::GenerateRsaKey();
    const aigw::testing::RsaKeyPem gateway = aigw::testing::GenerateRsaKey();
    // Operators keep ops.key; every service gets ops.pub; only the gateway
    // gets gateway.key; keypool and usage get gateway.pub.
    for (const auto& [name, text] :
         {std::pair{"ops.key", ops.private_pem}, std::pair{"ops.pub", ops.public_pem},
          std::pair{"gateway.key", gateway.private_pem},
          std::pair{"gateway.pub", gateway.public_pem}}) {
      ASSERT_TRUE(aigw::testing::WriteTextFile(Path(name), text)) << name;
    }
    auto db = TestDatabase::Create(db::Backend::kSqlite, /*migrate=*/true);
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);

    keypool_ = Start(AIGW_KEYPOOL_BIN, &keypool_target_,
                     {"--service_public_keys_file=" + Path("gateway.pub")});
    admin_ = Start(AIGW_ADMIN_BIN, &admin_target_,
                   {"--service_public_keys_file=" + Path("gateway.pub"),
                    "--keypool_addr=" + keypool_target_});
    gateway_ = Start(AIGW_GATEWAY_BIN, &gateway_target_,
                     {"--service_key_file=" + Path("gateway.key"),
                      "--keypool_addr=" + keypool_target_,
                      absl::StrCat("--usage_addr=127.0.0.1:", testing::PickFreePort()),
                      "--spool_dir=" + dir_});
  }
  static void TearDownTestSuite() {
    for (auto* p : {&gateway_, &admin_, &keypool_}) {
      if (*p != nullptr) {
        (*p)->Signal(SIGTERM);
        (void)(*p)->Wait(absl::Seconds(30));
      }
    }
    db_.reset();
    std::filesystem::remove_all(dir_);
  }
  void SetUp() override {
    ASSERT_NE(keypool_, nullptr);
    ASSERT_NE(admin_, nullptr);
    ASSERT_NE(gateway_, nullptr);
  }

  static std::string Path(absl::string_view name) { return absl::StrCat(dir_, "/", name); }

  static std::unique_ptr<Subprocess> Start(const std::string& binary, std::string* target,
                                    std::vector<std::string> extra) {
    *target = absl::StrCat("127.0.0.1:", testing::PickFreePort());
    std::vector<std::string> argv = {binary, "--grpc_addr=" + *target,
                                     "--metrics_addr=127.0.0.1:0", "--db_url=" + db_->url(),
                                     "--jwt_public_keys_file=" + Path("ops.pub")};
    argv.insert(argv.end(), extra.begin(), extra.end());
    // No shared secret anywhere.
    auto proc = Subprocess::Start(
        argv, {{"AIGW_MASTER_KEY", kMasterKey}, {"AIGW_JWT_SECRET", ""},
               {"AIGW_JWT_SECRET_FILE", ""}});
    EXPECT_TRUE(proc.ok()) << proc.status();
    if (!proc.ok()) return nullptr;
    absl::Status serving = testing::WaitForServing(*target, absl::Seconds(30));
    EXPECT_TRUE(serving.ok()) << serving << "\n" << binary << ":\n" << (*proc)->Stderr();
    return *std::move(proc);
  }

  // aigw-token signing with `key_file`.
  static std::string Token(const std::string& key_file, const std::string& role) {
    auto proc = Subprocess::Start({AIGW_TOKEN_BIN, "--jwt_private_key_file=" + key_file,
                                   "--role=" + role, "--subject=someone", "--ttl=1h"},
                                  {{"AIGW_JWT_SECRET", ""}});
    EXPECT_TRUE(proc.ok());
    if (!proc.ok()) return "";
    absl::StatusOr<int> code = (*proc)->Wait(absl::Seconds(30));
    EXPECT_TRUE(code.ok() && *code == 0) << (*proc)->Stderr();
    return std::string(absl::StripAsciiWhitespace((*proc)->Stdout()));
  }

  static std::string dir_;
  static std::unique_ptr<TestDatabase> db_;
  static std::string keypool_target_, admin_target_, gateway_target_;
  static std::unique_ptr<Subprocess> keypool_, admin_, gateway_;
};
std::string AsymmetricTokensTest::dir_;
std::unique_ptr<TestDatabase> AsymmetricTokensTest::db_;
std::string AsymmetricTokensTest::keypool_target_;
std::string AsymmetricTokensTest::admin_target_;
std::string AsymmetricTokensTest::gateway_target_;
std::unique_ptr<Subprocess> AsymmetricTokensTest::keypool_;
std::unique_ptr<Subprocess> AsymmetricTokensTest::admin_;
std::unique_ptr<Subprocess> AsymmetricTokensTest::gateway_;

TEST_F(AsymmetricTokensTest, OperatorsTokensOpenManagement) {
  const std::string admin = Token(Path("ops.key"), "admin");
  grpc::Status st = ListProviders(admin_target_, admin);
  EXPECT_TRUE(st.ok()) << st.error_message();
  st = ListKeyStates(keypool_target_, admin);
  EXPECT_TRUE(st.ok()) << st.error_message();
  // A key created through admin reaches the keypool at once: admin passes
  // the operator's token on to Reload (it holds no key of its own).
  auto channel = grpc::CreateChannel(admin_target_, grpc::InsecureChannelCredentials());
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", "Bearer " + admin);
  v1::GetProviderRequest get;
  get.set_provider_code("openai");  // deepseek stays keyless for the other tests
  v1::Provider openai;
  {
    grpc::ClientContext c;
    c.AddMetadata("authorization", "Bearer " + admin);
    ASSERT_TRUE(v1::AdminService::NewStub(channel)->GetProvider(&c, get, &openai).ok());
  }
  v1::CreateKeyRequest key;
  key.set_provider_id(openai.id());
  key.set_key_name("k");
  key.set_api_key("sk-test-0000000000000000000001");
  v1::ApiKey created;
  st = v1::AdminService::NewStub(channel)->CreateKey(&ctx, key, &created);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_TRUE(absl::StrContains(admin_->Stderr(), "keypool reloaded")) << admin_->Stderr();
}

TEST_F(AsymmetricTokensTest, TheGatewaysServiceCredentialIsRefusedOnManagement) {
  const std::string service = Token(Path("gateway.key"), "service");
  for (grpc::Status st : {ListProviders(admin_target_, service), Reload(keypool_target_, service),
                          ListKeyStates(keypool_target_, service)}) {
    EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED) << st.error_message();
  }
  // The gateway itself does not even hold the service keys' public halves.
  grpc::Status chat = Chat(gateway_target_, service);
  EXPECT_EQ(chat.error_code(), grpc::StatusCode::UNAUTHENTICATED) << chat.error_message();
  // It opens what the gateway needs: LeaseKey answers (no key is stored).
  grpc::Status lease = LeaseKey(keypool_target_, service);
  EXPECT_EQ(lease.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << lease.error_message();
}

TEST_F(AsymmetricTokensTest, NothingTheGatewayHoldsMakesAnAdminToken) {
  // Its private key signs an admin token: not a token at all.
  const std::string forged = Token(Path("gateway.key"), "admin");
  for (grpc::Status st : {ListProviders(admin_target_, forged), Reload(keypool_target_, forged)}) {
    EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAUTHENTICATED) << st.error_message();
    EXPECT_TRUE(absl::StrContains(st.error_message(), "a service key signs only role service"))
        << st.error_message();
  }
  // HS256 keyed with any file it holds (alg confusion): no HS256 key is
  // accepted anywhere.
  auth::Claims claims;
  claims.subject = "intruder";
  claims.role = "admin";
  claims.expires_at = absl::Now() + absl::Hours(1);
  for (const char* file : {"gateway.key", "ops.pub"}) {
    const std::string text = ReadFile(Path(file));
    for (const std::string& secret :
         {text, std::string(absl::StripAsciiWhitespace(text))}) {
      const std::string token = *auth::MintJwt(secret, claims);
      for (grpc::Status st : {ListProviders(admin_target_, token), Reload(keypool_target_, token)}) {
        EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAUTHENTICATED) << file;
        EXPECT_TRUE(absl::StrContains(st.error_message(), "no accepted HS256 key"))
            << st.error_message();
      }
    }
  }
}

TEST_F(AsymmetricTokensTest, TheGatewayCallsItsPeersWithItsOwnKey) {
  // A caller's token from the operators; the gateway leases with its
  // service token, which the keypool takes: no key stored is the answer,
  // not "keypool unavailable".
  grpc::Status st = Chat(gateway_target_, Token(Path("ops.key"), "app"));
  EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << st.error_message();
  EXPECT_TRUE(absl::StrContains(st.error_message(), "No available API keys for provider deepseek"))
      << st.error_message();
  EXPECT_TRUE(absl::StrContains(gateway_->Stderr(), "signs_with=\"RS256 kid=")) << gateway_->Stderr();
}

}  // namespace
}  // namespace aigw
