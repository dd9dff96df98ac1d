// The real aigw-admin binary: authentication switched on by RunServiceMain
// for every service, its start-up refusals, and the dev mode.

#include <signal.h>

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "aigw/v1/admin.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/admin/admin_test_env.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/test_keys.h"
#include "tests/testing/test_database.h"

namespace aigw::admin {
namespace {

using ::aigw::admin::testing::AdminTestEnv;
using ::aigw::testing::Subprocess;
using ::aigw::testing::TestDatabase;

grpc::Status ListProviders(const std::string& target, const std::string& authorization,
                           v1::ListProvidersResponse* out) {
  auto stub = v1::AdminService::NewStub(
      grpc::CreateChannel(target, grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  if (!authorization.empty()) ctx.AddMetadata("authorization", authorization);
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  return stub->ListProviders(&ctx, {}, out);
}

std::pair<int, std::string> RunToFailure(const std::vector<std::string>& argv,
                                         const std::map<std::string, std::string>& env) {
  auto proc = Subprocess::Start(argv, env);
  if (!proc.ok()) return {-1, std::string(proc.status().message())};
  absl::StatusOr<int> code = (*proc)->Wait(absl::Seconds(30));
  if (!code.ok()) return {-1, "still running"};
  return {*code, (*proc)->Stderr()};
}

class AdminBinaryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = TestDatabase::Create(db::Backend::kSqlite, /*migrate=*/false);
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
  }
  std::vector<std::string> Argv(const std::string& grpc_addr) {
    return {AIGW_ADMIN_BIN, "--grpc_addr=" + grpc_addr, "--metrics_addr=127.0.0.1:0",
            "--db_url=" + db_->url(), "--keypool_addr="};
  }
  std::unique_ptr<TestDatabase> db_;
};

TEST_F(AdminBinaryTest, ServesOnlyCallersWithAnAdminToken) {
  const std::string target = absl::StrCat("127.0.0.1:", aigw::testing::PickFreePort());
  auto proc = Subprocess::Start(Argv(target), {{"AIGW_MASTER_KEY", testing::kMasterKey},
                                               {"AIGW_JWT_SECRET", testing::kJwtSecret}});
  ASSERT_TRUE(proc.ok());
  ASSERT_TRUE(aigw::testing::WaitForServing(target, absl::Seconds(20)).ok()) << (*proc)->Stderr();
  v1::ListProvidersResponse r;
  EXPECT_EQ(ListProviders(target, "", &r).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(ListProviders(target, AdminTestEnv::Bearer("service"), &r).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  grpc::Status st = ListProviders(target, AdminTestEnv::Bearer("admin"), &r);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(r.providers_size(), 3);
  (*proc)->Signal(SIGTERM);
  EXPECT_EQ(*(*proc)->Wait(absl::Seconds(30)), 0);
  EXPECT_FALSE(absl::StrContains((*proc)->Stderr(), "AUTHENTICATION IS OFF"));
}

TEST_F(AdminBinaryTest, RefusesToStartWithoutAUsableSecret) {
  auto [code, err] = RunToFailure(Argv("127.0.0.1:0"), {{"AIGW_MASTER_KEY", testing::kMasterKey},
                                                        {"AIGW_JWT_SECRET", ""}});
  EXPECT_EQ(code, 1);
  EXPECT_TRUE(absl::StartsWith(err, "aigw-admin: no keys to verify bearer tokens with")) << err;
  EXPECT_TRUE(absl::StrContains(err, "--jwt_public_keys_file")) << err;
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;

  std::tie(code, err) = RunToFailure(Argv("127.0.0.1:0"), {{"AIGW_MASTER_KEY", testing::kMasterKey},
                                                           {"AIGW_JWT_SECRET", "too-short"}});
  EXPECT_EQ(code, 1);
  EXPECT_TRUE(absl::StrContains(err, "at least 32")) << err;
  EXPECT_FALSE(absl::StrContains(err, "too-short")) << err;
}

TEST_F(AdminBinaryTest, RefusesKeyFilesThatWouldWeakenTheTokens) {
  const aigw::testing::RsaKeyPem key = aigw::testing::GenerateRsaKey();
  const std::string dir = ::testing::TempDir();
  const std::string private_file = dir + "/admin_binary_test_private.pem";
  const std::string public_file = dir + "/admin_binary_test_public.pem";
  ASSERT_TRUE(aigw::testing::WriteTextFile(private_file, key.private_pem));
  ASSERT_TRUE(aigw::testing::WriteTextFile(public_file, key.public_pem));
  const std::map<std::string, std::string> env = {{"AIGW_MASTER_KEY", testing::kMasterKey},
                                                  {"AIGW_JWT_SECRET", ""}};
  // A private key where the public ones go (it would have to be copied to
  // every service).
  std::vector<std::string> argv = Argv("127.0.0.1:0");
  argv.push_back("--jwt_public_keys_file=" + private_file);
  auto [code, err] = RunToFailure(argv, env);
  EXPECT_EQ(code, 1);
  EXPECT_TRUE(absl::StartsWith(err, absl::StrCat("aigw-admin: ", private_file, ": holds a private key")))
      << err;
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
  // One key as both an operator's and a service's: its scope is ambiguous.
  argv = Argv("127.0.0.1:0");
  argv.push_back("--jwt_public_keys_file=" + public_file);
  argv.push_back("--service_public_keys_file=" + public_file);
  std::tie(code, err) = RunToFailure(argv, env);
  EXPECT_EQ(code, 1);
  EXPECT_TRUE(absl::StrContains(err, "each key must have one scope")) << err;
  // A missing file.
  argv = Argv("127.0.0.1:0");
  argv.push_back("--jwt_public_keys_file=" + dir + "/no-such-file.pem");
  std::tie(code, err) = RunToFailure(argv, env);
  EXPECT_EQ(code, 1);
  EXPECT_TRUE(absl::StrContains(err, "cannot read key file")) << err;
}

TEST_F(AdminBinaryTest, DevModeIsRefusedOffLoopback) {
  std::vector<std::string> argv = Argv("0.0.0.0:0");
  argv.push_back("--auth_disabled_for_dev");
  auto [code, err] = RunToFailure(argv, {{"AIGW_MASTER_KEY", testing::kMasterKey},
                                         {"AIGW_JWT_SECRET", ""}});
  EXPECT_EQ(code, 1);
  EXPECT_TRUE(absl::StrContains(err, "--auth_disabled_for_dev is refused")) << err;
}

TEST_F(AdminBinaryTest, DevModeOnLoopbackServesWithoutTokensAndSaysSo) {
  const std::string target = absl::StrCat("127.0.0.1:", aigw::testing::PickFreePort());
  std::vector<std::string> argv = Argv(target);
  argv.push_back("--auth_disabled_for_dev");
  auto proc = Subprocess::Start(argv, {{"AIGW_MASTER_KEY", testing::kMasterKey},
                                       {"AIGW_JWT_SECRET", ""}});
  ASSERT_TRUE(proc.ok());
  ASSERT_TRUE(aigw::testing::WaitForServing(target, absl::Seconds(20)).ok()) << (*proc)->Stderr();
  v1::ListProvidersResponse r;
  EXPECT_TRUE(ListProviders(target, "", &r).ok());
  EXPECT_TRUE(absl::StrContains((*proc)->Stderr(), "AUTHENTICATION IS OFF")) << (*proc)->Stderr();
  (*proc)->Signal(SIGTERM);
  EXPECT_EQ(*(*proc)->Wait(absl::Seconds(30)), 0);
}

}  // namespace
}  // namespace aigw::admin
