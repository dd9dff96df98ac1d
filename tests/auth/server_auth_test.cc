// The token check on a real gRPC server: refused calls never reach a
// handler, for sync, callback and streaming services alike.

#include "libs/auth/server_auth.h"

#include <atomic>
#include <future>
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "aigw/v1/admin.grpc.pb.h"
#include "aigw/v1/chat.grpc.pb.h"
#include "aigw/v1/keypool.grpc.pb.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "gtest/gtest.h"
#include "libs/auth/jwt.h"
#include "prometheus/registry.h"
#include "testing/health_client.grpc.pb.h"
#include "tests/testing/local_grpc_server.h"
#include "tests/testing/test_keys.h"

namespace aigw::auth {
namespace {

constexpr char kSecret[] = "test-secret-0123456789abcdef0123456789";

// Remembers who reached it.
struct Seen {
  std::atomic<int> calls{0};
  absl::Mutex mu;
  std::string subject;
  void Record(const ServerAuth* auth, const grpc::ServerContextBase& ctx) {
    calls.fetch_add(1);
    absl::MutexLock lock(&mu);
    subject = auth->CallerSubject(ctx);
  }
};

// A sync service.
class SyncAdmin final : public v1::AdminService::Service {
 public:
  SyncAdmin(const ServerAuth* auth, Seen* seen) : auth_(auth), seen_(seen) {}
  grpc::Status ListProviders(grpc::ServerContext* ctx, const v1::ListProvidersRequest*,
                             v1::ListProvidersResponse*) override {
    seen_->Record(auth_, *ctx);
    return grpc::Status::OK;
  }

 private:
  const ServerAuth* auth_;
  Seen* seen_;
};

// A callback service.
class CallbackKeyPool final : public v1::KeyPool::CallbackService {
 public:
  CallbackKeyPool(const ServerAuth* auth, Seen* seen) : auth_(auth), seen_(seen) {}
  grpc::ServerUnaryReactor* LeaseKey(grpc::CallbackServerContext* ctx, const v1::LeaseKeyRequest*,
                                     v1::LeaseKeyResponse* response) override {
    seen_->Record(auth_, *ctx);
    response->set_api_key("sk-secret");
    auto* r = ctx->DefaultReactor();
    r->Finish(grpc::Status::OK);
    return r;
  }
  grpc::ServerUnaryReactor* Reload(grpc::CallbackServerContext* ctx, const v1::ReloadRequest*,
                                   v1::ReloadResponse*) override {
    seen_->Record(auth_, *ctx);
    auto* r = ctx->DefaultReactor();
    r->Finish(grpc::Status::OK);
    return r;
  }

 private:
  const ServerAuth* auth_;
  Seen* seen_;
};

// A callback server-streaming method.
class StreamingChat final : public v1::ChatService::CallbackService {
 public:
  StreamingChat(const ServerAuth* auth, Seen* seen) : auth_(auth), seen_(seen) {}
  grpc::ServerWriteReactor<v1::ChatCompletionChunk>* StreamChatCompletion(
      grpc::CallbackServerContext* ctx, const v1::ChatCompletionRequest*) override {
    seen_->Record(auth_, *ctx);
    class Writer : public grpc::ServerWriteReactor<v1::ChatCompletionChunk> {
     public:
      Writer() {
        chunk_.set_delta_content("hi");
        StartWrite(&chunk_);
      }
      void OnWriteDone(bool) override { Finish(grpc::Status::OK); }
      void OnDone() override { delete this; }

     private:
      v1::ChatCompletionChunk chunk_;
    };
    return new Writer();
  }

 private:
  const ServerAuth* auth_;
  Seen* seen_;
};

class ServerAuthTest : public ::testing::Test {
 protected:
  void Start(bool disabled) {
    ServerAuthOptions options;
    options.secret = kSecret;
    options.disabled = disabled;
    StartWith(std::move(options));
  }
  void StartWith(ServerAuthOptions options) {
    options.clock = &clock_;
    options.metrics = &registry_;
    absl::StatusOr<std::unique_ptr<ServerAuth>> auth = ServerAuth::Create(std::move(options));
    ASSERT_TRUE(auth.ok()) << auth.status();
    auth_ = *std::move(auth);
    sync_ = std::make_unique<SyncAdmin>(auth_.get(), &seen_);
    callback_ = std::make_unique<CallbackKeyPool>(auth_.get(), &seen_);
    stream_ = std::make_unique<StreamingChat>(auth_.get(), &seen_);
    grpc::EnableDefaultHealthCheckService(true);
    server_ = std::make_unique<aigw::testing::LocalGrpcServer>(
        std::vector<grpc::Service*>{sync_.get(), callback_.get(), stream_.get()}, nullptr,
        auth_->ServerCredentials());
    ASSERT_TRUE(server_->ok());
    channel_ = server_->NewChannel();
  }
  void TearDown() override { server_.reset(); }

  std::string Bearer(absl::string_view role, absl::Duration ttl = absl::Hours(1),
                     absl::string_view secret = kSecret) {
    return BearerBy(*JwtKey::Hs256(secret), role, ttl);
  }
  std::string BearerBy(const JwtKey& key, absl::string_view role,
                       absl::Duration ttl = absl::Hours(1)) {
    Claims c;
    c.subject = absl::StrCat("who-", role);
    c.role = std::string(role);
    c.issued_at = clock_.Now();
    c.expires_at = clock_.Now() + ttl;
    return absl::StrCat("Bearer ", *MintJwt(key, c));
  }

  static void Authorize(grpc::ClientContext* ctx, const std::string& header) {
    if (!header.empty()) ctx->AddMetadata("authorization", header);
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  }

  grpc::Status CallSync(const std::string& header) {
    grpc::ClientContext ctx;
    Authorize(&ctx, header);
    v1::ListProvidersResponse r;
    return v1::AdminService::NewStub(channel_)->ListProviders(&ctx, {}, &r);
  }
  grpc::Status CallLease(const std::string& header, std::string* api_key = nullptr) {
    grpc::ClientContext ctx;
    Authorize(&ctx, header);
    v1::LeaseKeyResponse r;
    grpc::Status st = v1::KeyPool::NewStub(channel_)->LeaseKey(&ctx, {}, &r);
    if (api_key != nullptr) *api_key = r.api_key();
    return st;
  }
  grpc::Status CallReload(const std::string& header) {
    grpc::ClientContext ctx;
    Authorize(&ctx, header);
    v1::ReloadResponse r;
    return v1::KeyPool::NewStub(channel_)->Reload(&ctx, {}, &r);
  }
  grpc::Status CallStream(const std::string& header, int* chunks) {
    grpc::ClientContext ctx;
    Authorize(&ctx, header);
    auto reader = v1::ChatService::NewStub(channel_)->StreamChatCompletion(&ctx, {});
    v1::ChatCompletionChunk chunk;
    *chunks = 0;
    while (reader->Read(&chunk)) ++*chunks;
    return reader->Finish();
  }
  grpc::Status CallGeneric(const std::string& method, const std::string& header) {
    grpc::GenericStub stub(channel_);
    grpc::ClientContext ctx;
    Authorize(&ctx, header);
    grpc::Slice empty;
    grpc::ByteBuffer request(&empty, 1), response;
    std::promise<grpc::Status> done;
    stub.UnaryCall(&ctx, method, grpc::StubOptions(), &request, &response,
                   [&](grpc::Status st) { done.set_value(st); });
    return done.get_future().get();
  }
  double Refusals(const std::string& reason) {
    for (const auto& family : registry_.Collect()) {
      if (family.name != "aigw_auth_refusals_total") continue;
      for (const auto& m : family.metric) {
        for (const auto& l : m.label) {
          if (l.name == "reason" && l.value == reason) return m.counter.value;
        }
      }
    }
    return -1;
  }

  ManualClock clock_{absl::Now()};
  prometheus::Registry registry_;
  Seen seen_;
  std::unique_ptr<ServerAuth> auth_;
  std::unique_ptr<SyncAdmin> sync_;
  std::unique_ptr<CallbackKeyPool> callback_;
  std::unique_ptr<StreamingChat> stream_;
  std::unique_ptr<aigw::testing::LocalGrpcServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
};

TEST_F(ServerAuthTest, NoTokenIsRefusedBeforeAnyHandler) {
  Start(false);
  int chunks = -1;
  for (grpc::Status st : {CallSync(""), CallLease(""), CallReload(""), CallStream("", &chunks)}) {
    EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAUTHENTICATED) << st.error_message();
    EXPECT_TRUE(absl::StrContains(st.error_message(), "Bearer")) << st.error_message();
  }
  EXPECT_EQ(chunks, 0);
  EXPECT_EQ(seen_.calls.load(), 0);
  EXPECT_EQ(Refusals("missing_token"), 4);
}

TEST_F(ServerAuthTest, OtherSchemesAndGarbageAreRefused) {
  Start(false);
  for (const std::string& header :
       {std::string("Basic YWxpY2U6cGFzcw=="), std::string("Bearer"), std::string("Bearer "),
        std::string("Bearer not.a.jwt"), Bearer("admin").substr(7)}) {
    grpc::Status st = CallSync(header);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAUTHENTICATED) << header;
  }
  EXPECT_EQ(seen_.calls.load(), 0);
}

TEST_F(ServerAuthTest, BadSignatureIsRefused) {
  Start(false);
  const std::string forged = Bearer("admin", absl::Hours(1), "another-secret-0123456789abcdef0123");
  for (grpc::Status st : {CallSync(forged), CallReload(forged)}) {
    EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAUTHENTICATED);
    EXPECT_TRUE(absl::StrContains(st.error_message(), "bad signature")) << st.error_message();
  }
  EXPECT_EQ(seen_.calls.load(), 0);
  EXPECT_EQ(Refusals("invalid_token"), 2);
}

TEST_F(ServerAuthTest, ExpiredTokenIsRefusedEvenAfterItWasAccepted) {
  Start(false);
  const std::string token = Bearer("admin", absl::Minutes(5));
  ASSERT_TRUE(CallSync(token).ok());
  EXPECT_EQ(seen_.calls.load(), 1);
  clock_.Advance(absl::Minutes(5));
  grpc::Status st = CallSync(token);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_TRUE(absl::StrContains(st.error_message(), "expired")) << st.error_message();
  EXPECT_EQ(seen_.calls.load(), 1);
  EXPECT_EQ(Refusals("expired"), 1);
}

TEST_F(ServerAuthTest, WrongRoleIsPermissionDenied) {
  Start(false);
  std::string key;
  for (grpc::Status st : {CallSync(Bearer("service")), CallReload(Bearer("service")),
                          CallSync(Bearer("user")), CallLease(Bearer("admin"), &key)}) {
    EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED) << st.error_message();
  }
  EXPECT_EQ(key, "");  // an admin token never sees a decrypted key
  EXPECT_EQ(seen_.calls.load(), 0);
  EXPECT_EQ(Refusals("wrong_role"), 4);
}

TEST_F(ServerAuthTest, RightRoleReachesTheHandlerWhichKnowsTheCaller) {
  Start(false);
  ASSERT_TRUE(CallSync(Bearer("admin")).ok());
  EXPECT_EQ(seen_.subject, "who-admin");
  ASSERT_TRUE(CallReload(Bearer("admin")).ok());
  std::string key;
  ASSERT_TRUE(CallLease(Bearer("service"), &key).ok());
  EXPECT_EQ(key, "sk-secret");
  EXPECT_EQ(seen_.subject, "who-service");
  int chunks = 0;
  ASSERT_TRUE(CallStream(Bearer("user"), &chunks).ok());
  EXPECT_EQ(chunks, 1);
  EXPECT_EQ(seen_.subject, "who-user");
  EXPECT_EQ(seen_.calls.load(), 4);
}

TEST_F(ServerAuthTest, HealthNeedsNoTokenButUnknownMethodsDo) {
  Start(false);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  grpc::health::v1::HealthCheckResponse health;
  ASSERT_TRUE(grpc::health::v1::Health::NewStub(channel_)->Check(&ctx, {}, &health).ok());
  EXPECT_EQ(health.status(), grpc::health::v1::HealthCheckResponse::SERVING);

  EXPECT_EQ(CallGeneric("/aigw.v1.AdminService/NoSuchMethod", "").error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(CallGeneric("/aigw.v1.AdminService/NoSuchMethod", Bearer("admin")).error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
}

TEST_F(ServerAuthTest, DevModeLetsEverythingThrough) {
  Start(true);
  int chunks = 0;
  EXPECT_TRUE(CallSync("").ok());
  EXPECT_TRUE(CallLease("").ok());
  EXPECT_TRUE(CallStream("", &chunks).ok());
  EXPECT_EQ(seen_.calls.load(), 3);
  EXPECT_EQ(seen_.subject, "");
  // A token sent anyway still names the caller.
  EXPECT_TRUE(CallSync(Bearer("admin")).ok());
  EXPECT_EQ(seen_.subject, "who-admin");
}

TEST(ServerAuthCreateTest, NeedsASecretUnlessDisabled) {
  EXPECT_FALSE(ServerAuth::Create({}).ok());
  ServerAuthOptions dev;
  dev.disabled = true;
  absl::StatusOr<std::unique_ptr<ServerAuth>> auth = ServerAuth::Create(dev);
  ASSERT_TRUE(auth.ok());
  EXPECT_FALSE((*auth)->enabled());
  EXPECT_TRUE((*auth)->Authorize("/aigw.v1.AdminService/CreateKey", "").ok());
  EXPECT_EQ((*auth)->NewTokenSource("admin", "x")->AuthorizationHeader(), "");
}

// Production keys: the operators' and the gateway's RS256 public keys, no
// shared secret.
class ServerAuthRs256Test : public ServerAuthTest {
 protected:
  static void SetUpTestSuite() {
    ops_ = new aigw::testing::RsaKeyPem(aigw::testing::GenerateRsaKey());
    gateway_ = new aigw::testing::RsaKeyPem(aigw::testing::GenerateRsaKey());
  }
  static void TearDownTestSuite() {
    delete ops_;
    delete gateway_;
  }
  static ServerAuthOptions ProductionOptions() {
    ServerAuthOptions options;
    options.public_keys = *JwtKey::Rs256PublicKeys(ops_->public_pem, KeyScope::kOperator);
    options.public_keys.push_back(
        (*JwtKey::Rs256PublicKeys(gateway_->public_pem, KeyScope::kService))[0]);
    return options;
  }
  static JwtKey Operator() { return *JwtKey::Rs256PrivateKey(ops_->private_pem); }
  static JwtKey Gateway() { return *JwtKey::Rs256PrivateKey(gateway_->private_pem); }

  static aigw::testing::RsaKeyPem* ops_;
  static aigw::testing::RsaKeyPem* gateway_;
};
aigw::testing::RsaKeyPem* ServerAuthRs256Test::ops_ = nullptr;
aigw::testing::RsaKeyPem* ServerAuthRs256Test::gateway_ = nullptr;

TEST_F(ServerAuthRs256Test, OperatorAndServiceKeysOpenTheirOwnMethods) {
  StartWith(ProductionOptions());
  ASSERT_TRUE(CallSync(BearerBy(Operator(), "admin")).ok());
  EXPECT_EQ(seen_.subject, "who-admin");
  ASSERT_TRUE(CallReload(BearerBy(Operator(), "admin")).ok());
  int chunks = 0;
  ASSERT_TRUE(CallStream(BearerBy(Operator(), "user"), &chunks).ok());
  std::string key;
  ASSERT_TRUE(CallLease(BearerBy(Gateway(), "service"), &key).ok());
  EXPECT_EQ(key, "sk-secret");
  EXPECT_EQ(seen_.calls.load(), 4);
}

TEST_F(ServerAuthRs256Test, TheGatewaysKeyOpensNothingButTheInternalCalls) {
  StartWith(ProductionOptions());
  // Its service token: wrong role for management and for chat.
  const std::string service = BearerBy(Gateway(), "service");
  int chunks = -1;
  for (grpc::Status st : {CallSync(service), CallReload(service), CallStream(service, &chunks)}) {
    EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED) << st.error_message();
  }
  // An admin (or caller) token made with it: not a valid token at all.
  for (const std::string& forged : {BearerBy(Gateway(), "admin"), BearerBy(Gateway(), "user")}) {
    for (grpc::Status st : {CallSync(forged), CallReload(forged), CallStream(forged, &chunks)}) {
      EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAUTHENTICATED) << st.error_message();
      EXPECT_TRUE(absl::StrContains(st.error_message(), "a service key signs only role service"))
          << st.error_message();
    }
  }
  // HS256 over anything the gateway holds (its key files) is no token here.
  for (const std::string* text : {&gateway_->private_pem, &gateway_->public_pem, &ops_->public_pem}) {
    grpc::Status st = CallSync(Bearer("admin", absl::Hours(1), *text));
    EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAUTHENTICATED);
    EXPECT_TRUE(absl::StrContains(st.error_message(), "no accepted HS256 key")) << st.error_message();
  }
  // And an operator key cannot stand in for a service.
  EXPECT_EQ(CallLease(BearerBy(Operator(), "service")).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(seen_.calls.load(), 0);
}

TEST_F(ServerAuthRs256Test, AServiceSignsItsCallsWithItsOwnKey) {
  ServerAuthOptions gateway = ProductionOptions();
  gateway.service_key = Gateway();
  absl::StatusOr<std::unique_ptr<ServerAuth>> gateway_auth = ServerAuth::Create(gateway);
  ASSERT_TRUE(gateway_auth.ok()) << gateway_auth.status();
  const std::string header =
      (*gateway_auth)->NewTokenSource(kRoleService, "aigw-gateway")->AuthorizationHeader();
  ASSERT_TRUE(absl::StartsWith(header, "Bearer ")) << header;

  StartWith(ProductionOptions());
  ASSERT_TRUE(CallLease(header).ok());
  EXPECT_EQ(seen_.subject, "aigw-gateway");
  EXPECT_EQ(CallSync(header).error_code(), grpc::StatusCode::PERMISSION_DENIED);
}

TEST(ServerAuthCreateTest, KeysNeedOneScopeEachAndAServiceKeyMustBePrivate) {
  const aigw::testing::RsaKeyPem pem = aigw::testing::GenerateRsaKey();
  ServerAuthOptions both;
  both.public_keys = *JwtKey::Rs256PublicKeys(pem.public_pem, KeyScope::kOperator);
  both.public_keys.push_back((*JwtKey::Rs256PublicKeys(pem.public_pem, KeyScope::kService))[0]);
  EXPECT_EQ(ServerAuth::Create(both).status().code(), absl::StatusCode::kInvalidArgument);

  ServerAuthOptions public_as_signer;
  public_as_signer.secret = kSecret;
  public_as_signer.service_key =
      (*JwtKey::Rs256PublicKeys(pem.public_pem, KeyScope::kService))[0];
  EXPECT_EQ(ServerAuth::Create(public_as_signer).status().code(),
            absl::StatusCode::kInvalidArgument);

  ServerAuthOptions only_public;
  only_public.public_keys = *JwtKey::Rs256PublicKeys(pem.public_pem, KeyScope::kOperator);
  absl::StatusOr<std::unique_ptr<ServerAuth>> auth = ServerAuth::Create(only_public);
  ASSERT_TRUE(auth.ok()) << auth.status();
  // No service key and no secret: nothing to sign its own calls with.
  EXPECT_EQ((*auth)->NewTokenSource(kRoleService, "x")->AuthorizationHeader(), "");
}

TEST(BearerTokenTest, ParsesTheSchemeCaseInsensitively) {
  EXPECT_EQ(*BearerToken("Bearer abc"), "abc");
  EXPECT_EQ(*BearerToken("bearer  abc "), "abc");
  EXPECT_EQ(*BearerToken("BEARER abc"), "abc");
  EXPECT_FALSE(BearerToken("").ok());
  EXPECT_FALSE(BearerToken("Bearerabc").ok());
  EXPECT_FALSE(BearerToken("Token abc").ok());
  EXPECT_FALSE(BearerToken("Bearer    ").ok());
}

TEST(LoopbackTest, OnlyThisHostCounts) {
  for (const char* a : {"127.0.0.1:50051", "127.1.2.3:1", "localhost:50051", "[::1]:50051",
                        "unix:/tmp/aigw.sock", "LOCALHOST:9"}) {
    EXPECT_TRUE(IsLoopbackAddress(a)) << a;
  }
  for (const char* a : {"0.0.0.0:50051", "[::]:50051", "10.0.0.5:50051", ":50051",
                        "example.com:50051", "128.0.0.1:1", "127.0.0.1.evil.com:1",
                        "[::1:50051"}) {
    EXPECT_FALSE(IsLoopbackAddress(a)) << a;
  }
}

}  // namespace
}  // namespace aigw::auth
