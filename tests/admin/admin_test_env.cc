#include "tests/admin/admin_test_env.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "libs/auth/jwt.h"
#include "soci/soci.h"
#include "spdlog/sinks/ostream_sink.h"
#include "spdlog/sinks/stdout_sinks.h"
#include "spdlog/spdlog.h"

namespace aigw::admin::testing {

AdminTestEnv::AdminTestEnv(std::unique_ptr<aigw::testing::TestDatabase> tdb,
                           crypto::SecretBox box)
    : tdb_(std::move(tdb)),
      box_(std::move(box)),
      clock_(absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now()))) {}

AdminTestEnv::~AdminTestEnv() {
  server_.reset();
  if (http_) http_->Shutdown();
  // The capturing sink writes into logs_, which goes with this object.
  spdlog::set_default_logger(std::make_shared<spdlog::logger>(
      "stderr", std::make_shared<spdlog::sinks::stderr_sink_mt>()));
}

absl::StatusOr<std::unique_ptr<AdminTestEnv>> AdminTestEnv::Create(
    db::Backend backend, KeyPoolNotifier* notifier, absl::string_view provider_host_allowlist) {
  absl::StatusOr<std::unique_ptr<aigw::testing::TestDatabase>> tdb =
      aigw::testing::TestDatabase::Create(backend);
  if (!tdb.ok()) return tdb.status();
  absl::StatusOr<crypto::SecretBox> box = crypto::SecretBox::FromMasterKey(kMasterKey);
  if (!box.ok()) return box.status();
  std::unique_ptr<AdminTestEnv> env(new AdminTestEnv(std::move(*tdb), *box));

  env->logs_ = std::make_shared<std::ostringstream>();
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(*env->logs_);
  auto logger = std::make_shared<spdlog::logger>("admin-test", sink);
  logger->set_level(spdlog::level::trace);
  spdlog::set_default_logger(logger);

  absl::StatusOr<std::unique_ptr<http::HttpEngine>> http = http::HttpEngine::Create({});
  if (!http.ok()) return http.status();
  env->http_ = std::move(*http);
  absl::StatusOr<http::HostAllowlist> hosts = http::HostAllowlist::Parse(provider_host_allowlist);
  if (!hosts.ok()) return hosts.status();
  env->provider_hosts_ = *std::move(hosts);
  auth::ServerAuthOptions auth_options;
  auth_options.secret = kJwtSecret;
  absl::StatusOr<std::unique_ptr<auth::ServerAuth>> auth = auth::ServerAuth::Create(auth_options);
  if (!auth.ok()) return auth.status();
  env->auth_ = std::move(*auth);

  AdminServiceDeps deps;
  deps.db = &env->tdb_->db();
  deps.box = &env->box_;
  deps.http = env->http_.get();
  deps.keypool = notifier != nullptr ? notifier : &env->recording_;
  deps.auth = env->auth_.get();
  deps.clock = &env->clock_;
  deps.upstream_timeout = absl::Seconds(10);
  deps.provider_hosts = &env->provider_hosts_;
  env->service_ = std::make_unique<AdminServiceImpl>(deps);

  env->server_ = std::make_unique<aigw::testing::LocalGrpcServer>(
      std::vector<grpc::Service*>{env->service_.get()}, nullptr, env->auth_->ServerCredentials());
  if (!env->server_->ok()) return absl::InternalError("cannot start the test server");
  env->stub_ = v1::AdminService::NewStub(env->server_->NewChannel());
  return env;
}

std::string AdminTestEnv::Logs() const {
  spdlog::default_logger()->flush();
  return logs_->str();
}

std::string AdminTestEnv::Bearer(absl::string_view role, absl::Duration ttl,
                                 absl::string_view secret) {
  auth::Claims c;
  c.subject = "test-operator";
  c.role = std::string(role);
  const absl::Time now = absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now()));
  c.expires_at = now + ttl;
  // A negative ttl makes an expired token, issued before it expired.
  c.issued_at = std::min(now, c.expires_at - absl::Minutes(1));
  return absl::StrCat("Bearer ", *auth::MintJwt(secret, c));
}

namespace {

// A key named after its priority.
v1::CreateKeyRequest KeyRequest(int64_t provider_id, absl::string_view secret, int priority) {
  v1::CreateKeyRequest req;
  req.set_provider_id(provider_id);
  req.set_key_name(absl::StrCat("key ", priority));
  req.set_api_key(std::string(secret));
  req.set_priority(priority);
  return req;
}

}  // namespace

void AdminServiceTest::SetUp() {
  absl::StatusOr<std::unique_ptr<AdminTestEnv>> env = AdminTestEnv::Create(GetParam());
  ASSERT_TRUE(env.ok()) << env.status();
  env_ = std::move(*env);
}

v1::Provider AdminServiceTest::Provider(absl::string_view code) {
  v1::GetProviderRequest req;
  req.set_provider_code(std::string(code));
  v1::Provider p;
  grpc::Status st = env_->Call(&Stub::GetProvider, req, &p);
  EXPECT_TRUE(st.ok()) << st.error_message();
  return p;
}

v1::Provider AdminServiceTest::NewProvider(absl::string_view code, absl::string_view base_url,
                                           absl::string_view format) {
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

v1::ApiKey AdminServiceTest::NewKey(int64_t provider_id, absl::string_view secret, int priority) {
  v1::ApiKey k;
  grpc::Status st = env_->Call(&Stub::CreateKey, KeyRequest(provider_id, secret, priority), &k);
  EXPECT_TRUE(st.ok()) << st.error_message();
  return k;
}

std::string AdminServiceTest::Stored(int64_t key_id) { return StoredKey(env_->db(), key_id); }

void AdminServiceTest::Exec(const std::string& sql) { aigw::testing::Exec(env_->db(), sql); }

std::vector<v1::Model> AdminServiceTest::Models(int64_t provider_id) {
  v1::ListModelsRequest req;
  req.set_provider_id(provider_id);
  v1::ListModelsResponse resp;
  grpc::Status st = env_->Call(&Stub::ListModels, req, &resp);
  EXPECT_TRUE(st.ok()) << st.error_message();
  return {resp.models().begin(), resp.models().end()};
}

void AdminStoreTest::SetUp() {
  DatabaseTest::SetUp();
  if (HasFatalFailure()) return;
  absl::StatusOr<crypto::SecretBox> box = crypto::SecretBox::FromMasterKey(kMasterKey);
  ASSERT_TRUE(box.ok()) << box.status();
  box_ = std::make_unique<crypto::SecretBox>(*std::move(box));
  providers_ = std::make_unique<ProviderStore>(&db(), &clock_);
  keys_ = std::make_unique<ApiKeyStore>(&db(), box_.get(), &clock_, absl::UTCTimeZone());
  models_ = std::make_unique<ModelStore>(&db(), &clock_);
}

int64_t AdminStoreTest::ProviderId(absl::string_view code) {
  absl::StatusOr<v1::Provider> p = providers_->GetByCode(code);
  EXPECT_TRUE(p.ok()) << p.status();
  return p.ok() ? p->id() : 0;
}

v1::ApiKey AdminStoreTest::NewKey(int64_t provider_id, absl::string_view secret, int priority) {
  absl::StatusOr<v1::ApiKey> k = keys_->Create(KeyRequest(provider_id, secret, priority));
  EXPECT_TRUE(k.ok()) << k.status();
  return k.ok() ? *k : v1::ApiKey();
}

v1::Provider AdminStoreTest::NewProvider(absl::string_view code, absl::string_view base_url) {
  v1::CreateProviderRequest req;
  req.set_provider_code(std::string(code));
  req.set_provider_name(absl::StrCat("Provider ", code));
  req.set_base_url(std::string(base_url));
  absl::StatusOr<v1::Provider> p = providers_->Create(req);
  EXPECT_TRUE(p.ok()) << p.status();
  return p.ok() ? *p : v1::Provider();
}

std::string AdminStoreTest::Stored(int64_t key_id, std::string* hint) {
  return StoredKey(db(), key_id, hint);
}

std::string StoredKey(db::Database& db, int64_t key_id, std::string* hint) {
  std::string stored, h;
  soci::indicator ind = soci::i_null;
  absl::Status st = db.Run([&](soci::session& s) {
    long long id = key_id;
    s << "SELECT api_key, api_key_hint FROM t_ai_api_keys WHERE id = :id", soci::use(id),
        soci::into(stored), soci::into(h, ind);
    return absl::OkStatus();
  });
  EXPECT_TRUE(st.ok()) << st;
  if (hint != nullptr) *hint = ind == soci::i_ok ? h : "";
  return stored;
}

}  // namespace aigw::admin::testing
