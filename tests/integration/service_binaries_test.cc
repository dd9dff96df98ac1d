// Starts each real binary and checks what every aigw service promises:
// health SERVING, its service listed by reflection, /metrics, exit 0 on
// SIGTERM, and one clear line on a bad start.

#include <signal.h>

#include <future>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "libs/auth/auth_policy.h"
#include "libs/auth/jwt.h"
#include "testing/reflection_client.grpc.pb.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/test_database.h"

namespace aigw {
namespace {

using ::aigw::testing::Subprocess;
using ::aigw::testing::TestDatabase;

constexpr char kMasterKey[] = "5f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";
constexpr char kJwtSecret[] = "test-jwt-secret-0123456789abcdef0123456789abcdef";

std::string AdminToken() {
  auth::Claims claims;
  claims.subject = "ops";
  claims.role = auth::kRoleAdmin;
  claims.expires_at = absl::Now() + absl::Hours(1);
  return *auth::MintJwt(kJwtSecret, claims);
}

struct ServiceCase {
  std::string name;
  std::string binary;
  std::string grpc_service;
};

void PrintTo(const ServiceCase& c, std::ostream* os) { *os << c.name; }

std::vector<ServiceCase> Cases() {
  return {{"gateway", AIGW_GATEWAY_BIN, "aigw.v1.ChatService"},
          {"keypool", AIGW_KEYPOOL_BIN, "aigw.v1.KeyPool"},
          {"usage", AIGW_USAGE_BIN, "aigw.v1.UsageService"},
          {"admin", AIGW_ADMIN_BIN, "aigw.v1.AdminService"}};
}

std::vector<std::string> ListServices(const std::string& target) {
  auto channel = grpc::CreateChannel(target, grpc::InsecureChannelCredentials());
  auto stub = grpc::reflection::v1alpha::ServerReflection::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  auto stream = stub->ServerReflectionInfo(&ctx);
  grpc::reflection::v1alpha::ServerReflectionRequest req;
  req.set_list_services("");
  std::vector<std::string> names;
  if (!stream->Write(req)) return names;
  grpc::reflection::v1alpha::ServerReflectionResponse resp;
  if (stream->Read(&resp)) {
    for (const auto& s : resp.list_services_response().service()) names.push_back(s.name());
  }
  stream->WritesDone();
  (void)stream->Finish();
  return names;
}

// A unary call with an empty request to `method` ("/pkg.Service/Method").
grpc::StatusCode CallEmpty(const std::string& target, const std::string& method) {
  auto channel = grpc::CreateChannel(target, grpc::InsecureChannelCredentials());
  grpc::GenericStub stub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  ctx.AddMetadata("authorization", "Bearer " + AdminToken());
  grpc::ByteBuffer request, response;
  grpc::Slice empty;
  request = grpc::ByteBuffer(&empty, 1);
  std::promise<grpc::Status> done;
  stub.UnaryCall(&ctx, method, grpc::StubOptions(), &request, &response,
                 [&](grpc::Status st) { done.set_value(st); });
  return done.get_future().get().error_code();
}

class ServiceBinaryTest : public ::testing::TestWithParam<ServiceCase> {};

TEST_P(ServiceBinaryTest, ServesHealthReflectionMetricsAndStopsCleanlyOnSigterm) {
  const ServiceCase& c = GetParam();
  auto db = TestDatabase::Create(db::Backend::kSqlite, /*migrate=*/false);
  ASSERT_TRUE(db.ok()) << db.status();
  const int grpc_port = testing::PickFreePort();
  const int metrics_port = testing::PickFreePort();
  auto proc = Subprocess::Start(
      {c.binary, absl::StrCat("--grpc_addr=127.0.0.1:", grpc_port),
       absl::StrCat("--metrics_addr=127.0.0.1:", metrics_port), "--db_url=" + (*db)->url()},
      {{"AIGW_MASTER_KEY", kMasterKey}, {"AIGW_JWT_SECRET", kJwtSecret}});
  ASSERT_TRUE(proc.ok()) << proc.status();
  const std::string target = absl::StrCat("127.0.0.1:", grpc_port);
  absl::Status serving = testing::WaitForServing(target, absl::Seconds(20));
  ASSERT_TRUE(serving.ok()) << serving << "\nstderr:\n" << (*proc)->Stderr();

  std::vector<std::string> services = ListServices(target);
  EXPECT_NE(std::find(services.begin(), services.end(), c.grpc_service), services.end())
      << absl::StrJoin(services, ",");
  EXPECT_NE(std::find(services.begin(), services.end(), "grpc.health.v1.Health"), services.end());

  // A method the server does not have is refused, never faked.
  EXPECT_EQ(CallEmpty(target, "/" + c.grpc_service + "/NoSuchMethod"),
            grpc::StatusCode::UNIMPLEMENTED);

  absl::StatusOr<std::string> metrics = testing::HttpGet(metrics_port, "/metrics");
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  EXPECT_TRUE(absl::StrContains(*metrics, "aigw_build_info{service=\"" + c.name + "\""))
      << *metrics;
  // Every binary shows its database's state (libs/server/database_monitor.h).
  EXPECT_TRUE(absl::StrContains(*metrics, "\naigw_db_up 1\n")) << *metrics;
  EXPECT_TRUE(absl::StrContains(*metrics, "aigw_db_errors_total{kind=\"connection\"} 0"))
      << *metrics;
  // The health checks above went through the metrics interceptor.
  EXPECT_TRUE(absl::StrContains(
      *metrics, "aigw_grpc_server_handled_total{grpc_code=\"OK\",grpc_method=\"Check\","
                "grpc_service=\"grpc.health.v1.Health\"}"))
      << *metrics;

  (*proc)->Signal(SIGTERM);
  absl::StatusOr<int> code = (*proc)->Wait(absl::Seconds(30));
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 0) << (*proc)->Stderr();
  EXPECT_TRUE(absl::StrContains((*proc)->Stderr(), "msg=\"stopped\""));
}

INSTANTIATE_TEST_SUITE_P(AllServices, ServiceBinaryTest, ::testing::ValuesIn(Cases()),
                         [](const auto& info) { return info.param.name; });

// Starts a binary expected to fail and returns (exit code, stderr).
std::pair<int, std::string> RunToFailure(const std::vector<std::string>& argv,
                                         std::map<std::string, std::string> env = {}) {
  env.emplace("AIGW_JWT_SECRET", kJwtSecret);  // unless the test set it
  auto proc = Subprocess::Start(argv, env);
  if (!proc.ok()) return {-1, std::string(proc.status().message())};
  absl::StatusOr<int> code = (*proc)->Wait(absl::Seconds(30));
  if (!code.ok()) return {-1, "still running"};
  return {*code, (*proc)->Stderr()};
}

int LineCount(const std::string& s) {
  return static_cast<int>(std::count(s.begin(), s.end(), '\n'));
}

TEST(StartupErrorsTest, BadDatabaseUrlIsOneClearLine) {
  auto [code, err] = RunToFailure({AIGW_USAGE_BIN, "--db_url=postgres://nowhere/db",
                                   "--grpc_addr=127.0.0.1:0", "--metrics_addr=127.0.0.1:0"});
  EXPECT_NE(code, 0);
  EXPECT_EQ(LineCount(err), 1) << err;
  EXPECT_TRUE(absl::StartsWith(err, "aigw-usage: database URL 'postgres://nowhere/db'")) << err;
}

TEST(StartupErrorsTest, UnreachableMySqlIsOneClearLine) {
  const int dead_port = testing::PickFreePort();
  auto [code, err] = RunToFailure(
      {AIGW_GATEWAY_BIN, absl::StrCat("--db_url=mysql://aigw:secret@127.0.0.1:", dead_port, "/aigw"),
       "--grpc_addr=127.0.0.1:0", "--metrics_addr=127.0.0.1:0"});
  EXPECT_NE(code, 0);
  EXPECT_EQ(LineCount(err), 1) << err;
  EXPECT_TRUE(absl::StrContains(err, "cannot open database mysql://aigw:***@127.0.0.1:")) << err;
  EXPECT_FALSE(absl::StrContains(err, "secret")) << "password leaked: " << err;
}

TEST(StartupErrorsTest, LegacyDbEnvironmentIsUsedWhenNoUrlIsGiven) {
  const int dead_port = testing::PickFreePort();
  auto [code, err] = RunToFailure(
      {AIGW_ADMIN_BIN, "--grpc_addr=127.0.0.1:0", "--metrics_addr=127.0.0.1:0"},
      {{"DB_HOST", "127.0.0.1"}, {"DB_PORT", std::to_string(dead_port)},
       {"DB_USERNAME", "music"}, {"DB_PASSWORD", "hunter2"}, {"DB_DATABASE", "music_platform"},
       {"AIGW_DB_URL", ""}, {"AIGW_MASTER_KEY", kMasterKey}, {"AIGW_JWT_SECRET", kJwtSecret}});
  EXPECT_NE(code, 0);
  EXPECT_EQ(LineCount(err), 1) << err;
  EXPECT_TRUE(absl::StrContains(err, "db=music_platform")) << err;
  EXPECT_FALSE(absl::StrContains(err, "hunter2")) << err;
}

TEST(StartupErrorsTest, MissingMasterKeyIsOneClearLine) {
  auto db = TestDatabase::Create(db::Backend::kSqlite, /*migrate=*/false);
  ASSERT_TRUE(db.ok());
  auto [code, err] = RunToFailure({AIGW_KEYPOOL_BIN, "--db_url=" + (*db)->url(),
                                   "--grpc_addr=127.0.0.1:0", "--metrics_addr=127.0.0.1:0"},
                                  {{"AIGW_MASTER_KEY", ""}, {"AIGW_JWT_SECRET", kJwtSecret}});
  EXPECT_NE(code, 0);
  EXPECT_EQ(LineCount(err) , 2) << err;  // the migration log line, then the error
  EXPECT_TRUE(absl::StrContains(err, "aigw-keypool: AIGW_MASTER_KEY is not set")) << err;
}

TEST(StartupErrorsTest, BusyPortIsOneClearLine) {
  auto db = TestDatabase::Create(db::Backend::kSqlite, /*migrate=*/false);
  ASSERT_TRUE(db.ok());
  const int grpc_port = testing::PickFreePort();
  auto first = Subprocess::Start({AIGW_USAGE_BIN, "--db_url=" + (*db)->url(),
                                  absl::StrCat("--grpc_addr=127.0.0.1:", grpc_port),
                                  "--metrics_addr=127.0.0.1:0"},
                                 {{"AIGW_JWT_SECRET", kJwtSecret}});
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(testing::WaitForServing(absl::StrCat("127.0.0.1:", grpc_port), absl::Seconds(20)).ok());
  auto [code, err] = RunToFailure({AIGW_USAGE_BIN, "--db_url=" + (*db)->url(),
                                   absl::StrCat("--grpc_addr=127.0.0.1:", grpc_port),
                                   "--metrics_addr=127.0.0.1:0"});
  EXPECT_NE(code, 0);
  EXPECT_TRUE(absl::StrContains(err, absl::StrCat("cannot listen for gRPC on 127.0.0.1:", grpc_port)))
      << err;
}

// The same binary on the real MariaDB: migrations apply and the service serves.
TEST(ServiceOnMySqlTest, StartsAndServesOnMariaDb) {
  if (TestDatabase::Backends().size() < 2) GTEST_SKIP() << "AIGW_TEST_MYSQL_URL not set";
  auto db = TestDatabase::Create(db::Backend::kMySql, /*migrate=*/false);
  ASSERT_TRUE(db.ok()) << db.status();
  const int grpc_port = testing::PickFreePort();
  auto proc = Subprocess::Start({AIGW_KEYPOOL_BIN, "--db_url=" + (*db)->url(),
                                 absl::StrCat("--grpc_addr=127.0.0.1:", grpc_port),
                                 "--metrics_addr=127.0.0.1:0"},
                                {{"AIGW_MASTER_KEY", kMasterKey}, {"AIGW_JWT_SECRET", kJwtSecret}});
  ASSERT_TRUE(proc.ok());
  absl::Status serving =
      testing::WaitForServing(absl::StrCat("127.0.0.1:", grpc_port), absl::Seconds(30));
  ASSERT_TRUE(serving.ok()) << serving << (*proc)->Stderr();
  (*proc)->Signal(SIGTERM);
  EXPECT_EQ(*(*proc)->Wait(absl::Seconds(30)), 0);
}

}  // namespace
}  // namespace aigw
