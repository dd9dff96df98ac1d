#include "tests/admin/admin_test_env.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "libs/auth/jwt.h"
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
  if (server_) server_->Shutdown();
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

  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", env->auth_->ServerCredentials(), &port);
  builder.RegisterService(env->service_.get());
  env->server_ = builder.BuildAndStart();
  if (env->server_ == nullptr) return absl::InternalError("cannot start the test server");
  env->stub_ = v1::AdminService::NewStub(grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
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

}  // namespace aigw::admin::testing
