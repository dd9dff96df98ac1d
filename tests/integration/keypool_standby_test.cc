// Two aigw-keypool binaries on one database: one active, one standby;
// SIGKILL of the active one and the standby takes over (readiness, leases,
// metrics follow).

#include <signal.h>

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "aigw/v1/keypool.grpc.pb.h"
#include "gtest/gtest.h"
#include "grpcpp/grpcpp.h"
#include "libs/auth/auth_policy.h"
#include "libs/auth/jwt.h"
#include "soci/soci.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/test_database.h"
#include "tests/testing/test_tokens.h"

namespace aigw {
namespace {

using ::aigw::testing::Subprocess;

constexpr char kMasterKey[] = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90";
constexpr char kJwtSecret[] = "standby-test-jwt-secret-0123456789abcdef0123";

struct Replica {
  std::unique_ptr<Subprocess> proc;
  std::string target;
  int metrics_port = 0;
};

Replica StartReplica(const std::string& db_url) {
  Replica r;
  const int port = testing::PickFreePort();
  r.metrics_port = testing::PickFreePort();
  r.target = absl::StrCat("127.0.0.1:", port);
  auto proc = Subprocess::Start({AIGW_KEYPOOL_BIN, "--grpc_addr=" + r.target,
                                 absl::StrCat("--metrics_addr=127.0.0.1:", r.metrics_port),
                                 "--db_url=" + db_url},
                                {{"AIGW_MASTER_KEY", kMasterKey}, {"AIGW_JWT_SECRET", kJwtSecret}});
  EXPECT_TRUE(proc.ok()) << proc.status();
  if (proc.ok()) r.proc = std::move(*proc);
  return r;
}

std::shared_ptr<grpc::Channel> Channel(const std::string& target) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
}

// grpc.health.v1 status of the name aigw.v1.KeyPool (-1: no answer).
int KeyPoolHealth(const std::string& target) {
  return testing::HealthStatusOf(target, "aigw.v1.KeyPool");
}

bool WaitForKeyPoolHealth(const std::string& target, int status, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (KeyPoolHealth(target) == status) return true;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return false;
}

grpc::Status Lease(const std::string& target) {
  auto stub = aigw::v1::KeyPool::NewStub(Channel(target));
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", testing::TestBearer(kJwtSecret, "gateway", auth::kRoleService));
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
  aigw::v1::LeaseKeyRequest req;
  req.set_provider_code("deepseek");
  req.set_estimated_tokens(10);
  aigw::v1::LeaseKeyResponse resp;
  return stub->LeaseKey(&ctx, req, &resp);
}

TEST(KeyPoolStandbyTest, StandbyTakesOverWhenTheActiveReplicaIsKilled) {
  auto tdb = testing::TestDatabase::Create(db::Backend::kSqlite);
  ASSERT_TRUE(tdb.ok()) << tdb.status();
  ASSERT_TRUE((*tdb)->db()
                  .Run([](soci::session& s) {
                    s << "INSERT INTO t_ai_api_keys (provider_id, key_name, api_key, priority) "
                         "VALUES (3, 'ds-1', 'sk-deepseek-plain-000001', 1)";
                    return absl::OkStatus();
                  })
                  .ok());
  Replica a = StartReplica((*tdb)->url());
  ASSERT_NE(a.proc, nullptr);
  ASSERT_TRUE(testing::WaitForServing(a.target, absl::Seconds(20)).ok()) << a.proc->Stderr();
  // The first replica found the lease free: active as soon as it serves.
  EXPECT_EQ(KeyPoolHealth(a.target), testing::kHealthServing);
  ASSERT_TRUE(Lease(a.target).ok());

  Replica b = StartReplica((*tdb)->url());
  ASSERT_NE(b.proc, nullptr);
  ASSERT_TRUE(testing::WaitForServing(b.target, absl::Seconds(20)).ok()) << b.proc->Stderr();
  EXPECT_EQ(KeyPoolHealth(b.target), testing::kHealthNotServing);
  grpc::Status refused = Lease(b.target);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::UNAVAILABLE) << refused.error_message();
  EXPECT_EQ(testing::MetricValue(b.metrics_port, "aigw_keypool_role{role=\"standby\"}"), 1);

  const absl::Time killed = absl::Now();
  a.proc->Signal(SIGKILL);
  ASSERT_TRUE(WaitForKeyPoolHealth(b.target, testing::kHealthServing,
                                   absl::Seconds(10)))
      << b.proc->Stderr();
  // Not asserted (a loaded machine stretches it); the lease is 600 ms.
  std::cout << "standby serving " << absl::FormatDuration(absl::Now() - killed)
            << " after the kill\n";
  grpc::Status granted = Lease(b.target);
  EXPECT_TRUE(granted.ok()) << granted.error_message();
  EXPECT_EQ(testing::MetricValue(b.metrics_port, "aigw_keypool_role{role=\"active\"}"), 1);
  EXPECT_EQ(testing::MetricValue(b.metrics_port, "aigw_keypool_takeovers_total"), 1);
  EXPECT_EQ(testing::MetricValue(b.metrics_port, "aigw_keypool_fencing"), 2);
}

}  // namespace
}  // namespace aigw
