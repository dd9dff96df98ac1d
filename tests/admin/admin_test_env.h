#ifndef AIGW_TESTS_ADMIN_ADMIN_TEST_ENV_H_
#define AIGW_TESTS_ADMIN_ADMIN_TEST_ENV_H_

#include <atomic>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "aigw/v1/admin.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "libs/auth/server_auth.h"
#include "libs/common/clock.h"
#include "libs/crypto/secret_box.h"
#include "libs/http/host_allowlist.h"
#include "libs/http/http_engine.h"
#include "gtest/gtest.h"
#include "services/admin/admin_service.h"
#include "services/admin/api_key_store.h"
#include "services/admin/keypool_notifier.h"
#include "services/admin/model_store.h"
#include "services/admin/provider_store.h"
#include "tests/testing/database_test.h"
#include "tests/testing/local_grpc_server.h"
#include "tests/testing/test_database.h"

namespace aigw::admin::testing {

inline constexpr char kMasterKey[] =
    "5f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";
inline constexpr char kJwtSecret[] = "admin-test-secret-0123456789abcdef0123";

// Counts the Reload requests the service would send.
class RecordingNotifier : public KeyPoolNotifier {
 public:
  void KeysChanged(absl::string_view why, absl::string_view) override {
    absl::MutexLock lock(&mu_);
    reasons_.emplace_back(why);
  }
  int count() const {
    absl::MutexLock lock(&mu_);
    return static_cast<int>(reasons_.size());
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<std::string> reasons_;
};

// aigw.v1.AdminService over a fresh migrated database (seed catalogue
// included), on an in-process server with real token checks, an HTTP engine
// for the provider calls, and every log line captured.
class AdminTestEnv {
 public:
  // `notifier` null: a RecordingNotifier. `provider_host_allowlist`: as
  // --provider_host_allowlist.
  static absl::StatusOr<std::unique_ptr<AdminTestEnv>> Create(
      db::Backend backend, KeyPoolNotifier* notifier = nullptr,
      absl::string_view provider_host_allowlist = "");
  ~AdminTestEnv();

  db::Database& db() { return tdb_->db(); }
  const crypto::SecretBox& box() const { return box_; }
  ManualClock& clock() { return clock_; }
  RecordingNotifier& notifier() { return recording_; }
  v1::AdminService::Stub& stub() { return *stub_; }
  // Everything logged since the environment was made.
  std::string Logs() const;

  // "Bearer <jwt>" signed with kJwtSecret.
  static std::string Bearer(absl::string_view role, absl::Duration ttl = absl::Hours(1),
                            absl::string_view secret = kJwtSecret);

  // A call with an admin token (or `authorization`, "" for none).
  template <typename Req, typename Resp>
  grpc::Status Call(grpc::Status (v1::AdminService::Stub::*method)(grpc::ClientContext*,
                                                                   const Req&, Resp*),
                    const Req& request, Resp* response,
                    const std::string& authorization = Bearer("admin")) {
    grpc::ClientContext ctx;
    if (!authorization.empty()) ctx.AddMetadata("authorization", authorization);
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    return (stub_.get()->*method)(&ctx, request, response);
  }

 private:
  AdminTestEnv(std::unique_ptr<aigw::testing::TestDatabase> tdb, crypto::SecretBox box);

  std::unique_ptr<aigw::testing::TestDatabase> tdb_;
  crypto::SecretBox box_;
  ManualClock clock_;
  RecordingNotifier recording_;
  std::shared_ptr<std::ostringstream> logs_;
  std::unique_ptr<http::HttpEngine> http_;
  http::HostAllowlist provider_hosts_;
  std::unique_ptr<auth::ServerAuth> auth_;
  std::unique_ptr<AdminServiceImpl> service_;
  std::unique_ptr<aigw::testing::LocalGrpcServer> server_;
  std::unique_ptr<v1::AdminService::Stub> stub_;
};

// aigw.v1.AdminService tests: a fresh AdminTestEnv on the backend, and the
// calls most tests start with.
class AdminServiceTest : public ::testing::TestWithParam<db::Backend> {
 protected:
  using Stub = v1::AdminService::Stub;

  void SetUp() override;

  // A provider by code, through GetProvider.
  v1::Provider Provider(absl::string_view code);
  // Through CreateProvider; each fails the test when refused.
  v1::Provider NewProvider(absl::string_view code, absl::string_view base_url,
                           absl::string_view format = "openai");
  v1::ApiKey NewKey(int64_t provider_id, absl::string_view secret, int priority = 0);
  // The api_key column as stored.
  std::string Stored(int64_t key_id);
  // Runs test SQL as written.
  void Exec(const std::string& sql);
  // The provider's models, through ListModels.
  std::vector<v1::Model> Models(int64_t provider_id);

  std::unique_ptr<AdminTestEnv> env_;
};

// The api_key column of key `key_id` as stored; `hint` (optional) gets
// api_key_hint ("" when NULL).
std::string StoredKey(db::Database& db, int64_t key_id, std::string* hint = nullptr);

// The three stores over a fresh migrated database (seed catalogue included)
// on one backend, with a settable clock: what the stores do, tested without
// a server in between (tests/admin/*_store_test.cc).
class AdminStoreTest : public aigw::testing::DatabaseTest {
 protected:
  void SetUp() override;

  const crypto::SecretBox& box() const { return *box_; }
  // The id of a seeded provider (openai, anthropic, deepseek).
  int64_t ProviderId(absl::string_view code);
  // A key created through the store; fails the test when refused.
  v1::ApiKey NewKey(int64_t provider_id, absl::string_view secret, int priority = 0);
  // A provider created through the store; fails the test when refused.
  v1::Provider NewProvider(absl::string_view code, absl::string_view base_url);
  // The api_key column as stored, and api_key_hint ("" when NULL).
  std::string Stored(int64_t key_id, std::string* hint = nullptr);

  std::unique_ptr<crypto::SecretBox> box_;
  ManualClock clock_;
  std::unique_ptr<ProviderStore> providers_;
  std::unique_ptr<ApiKeyStore> keys_;
  std::unique_ptr<ModelStore> models_;
};

}  // namespace aigw::admin::testing

#endif  // AIGW_TESTS_ADMIN_ADMIN_TEST_ENV_H_
