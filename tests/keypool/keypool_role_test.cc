// Two keypool runtimes on one database: the active one grants, the standby
// refuses and takes over with the state the active one wrote.

#include "services/keypool/keypool_role.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "aigw/v1/keypool.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "libs/common/clock.h"
#include "libs/server/peer_channel.h"
#include "services/keypool/keypool_runtime.h"
#include "tests/testing/database_test.h"
#include "tests/testing/local_grpc_server.h"
#include "tests/testing/test_keys.h"

namespace aigw::keypool {
namespace {

using ::testing::HasSubstr;

const absl::Time kT0 = absl::FromUnixSeconds(1767225600);

class KeyPoolRoleTest : public testing::DatabaseTest {
 protected:
  KeyPoolRoleTest() : clock_(kT0) {}

  void SetUp() override {
    DatabaseTest::SetUp();
    if (HasFatalFailure()) return;
    absl::StatusOr<std::unique_ptr<db::Database>> other = tdb_->Reopen();
    ASSERT_TRUE(other.ok()) << other.status();
    db_b_ = std::move(*other);
    Exec("INSERT INTO t_ai_api_keys (id, provider_id, key_name, api_key, priority, "
         "rate_limit_rpm, rate_limit_rpd) VALUES (11, 3, 'ds-1', 'sk-deepseek-plain-000011', 1, "
         "100, 1000)");
    box_ = std::make_unique<crypto::SecretBox>(testing::TestSecretBox());
  }

  KeyPoolConfig Config(const std::string& holder) {
    KeyPoolConfig c;
    c.clock = &clock_;
    c.sync.poll_interval = absl::ZeroDuration();
    c.sync.flush_interval = absl::Hours(1);
    c.election.enabled = true;
    c.election.options.holder = holder;
    c.election.options.clock = &clock_;
    c.election.options.outage_hold = absl::ZeroDuration();
    return c;
  }

  std::unique_ptr<KeyPoolRuntime> StartReplica(db::Database* db, const std::string& holder) {
    absl::StatusOr<std::unique_ptr<KeyPoolRuntime>> rt =
        KeyPoolRuntime::Start(db, *box_, nullptr, Config(holder));
    EXPECT_TRUE(rt.ok()) << rt.status();
    return rt.ok() ? std::move(*rt) : nullptr;
  }

  long long RequestsTodayInDb() {
    return QueryInt("SELECT requests_count_today FROM t_ai_api_keys WHERE id = 11");
  }

  static int64_t RequestsToday(KeyPoolRuntime& rt) {
    absl::StatusOr<std::vector<KeyStateView>> states = rt.pool().ListKeyStates("deepseek");
    EXPECT_TRUE(states.ok()) << states.status();
    return states.ok() && !states->empty() ? (*states)[0].requests_today : -1;
  }

  static void LeaseN(KeyPoolRuntime& rt, int n) {
    for (int i = 0; i < n; ++i) ASSERT_TRUE(rt.pool().Lease("deepseek", 10, {}).ok()) << i;
  }

  // The replica `rt` dies without a word: its election stops stepping (no
  // renewal, no release); nothing else of it runs again.
  static void Freeze(KeyPoolRuntime& rt) { rt.election()->Stop(/*release=*/false); }

  ManualClock clock_;
  std::unique_ptr<db::Database> db_b_;
  std::unique_ptr<crypto::SecretBox> box_;
};

TEST_P(KeyPoolRoleTest, ActiveGrantsAndStandbyRefusesWithUnavailable) {
  auto a = StartReplica(&db(), "replica-a");
  auto b = StartReplica(db_b_.get(), "replica-b");
  ASSERT_TRUE(a && b);
  EXPECT_TRUE(a->role()->CheckServing().ok());
  absl::Status refused = b->role()->CheckServing();
  EXPECT_EQ(refused.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(refused.message(), HasSubstr("not the active one (the active one is replica-a)"));

  // Over gRPC: every KeyPool call to the standby is UNAVAILABLE.
  std::unique_ptr<KeyPoolService> service = b->NewService();
  testing::LocalGrpcServer server({service.get()});
  ASSERT_TRUE(server.ok());
  auto stub = aigw::v1::KeyPool::NewStub(server.NewChannel());
  aigw::v1::LeaseKeyRequest req;
  req.set_provider_code("deepseek");
  aigw::v1::LeaseKeyResponse lease;
  grpc::ClientContext ctx;
  grpc::Status st = stub->LeaseKey(&ctx, req, &lease);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE);
  aigw::v1::ReportUsageRequest report;
  report.set_lease_id("x-1");
  report.set_outcome(aigw::v1::SUCCESS);
  aigw::v1::ReportUsageResponse answer;
  grpc::ClientContext rctx;
  EXPECT_EQ(stub->ReportUsage(&rctx, report, &answer).error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

TEST_P(KeyPoolRoleTest, StandbyTakesOverAfterTheActiveDiesWithTheCountsItWrote) {
  auto a = StartReplica(&db(), "replica-a");
  auto b = StartReplica(db_b_.get(), "replica-b");
  ASSERT_TRUE(a && b);
  LeaseN(*a, 7);
  ASSERT_TRUE(a->sync().Flush().ok());
  EXPECT_EQ(RequestsTodayInDb(), 7);
  Freeze(*a);
  ASSERT_TRUE(b->election()->Step().ok());  // sees a's last renewal
  EXPECT_FALSE(b->role()->CheckServing().ok());

  clock_.Advance(absl::Milliseconds(600));
  EXPECT_FALSE(a->role()->CheckServing().ok()) << "a deposed itself when its lease ran out";
  ASSERT_TRUE(b->election()->Step().ok());
  ASSERT_TRUE(b->role()->CheckServing().ok());
  EXPECT_EQ(b->role()->serving_fencing(), 2);
  // b resumed a's day: the 7 requests count against the RPD; and its
  // minute: the 7, plus as many again for a's grants after its last save.
  EXPECT_EQ(RequestsToday(*b), 7);
  absl::StatusOr<std::vector<KeyStateView>> states = b->pool().ListKeyStates("deepseek");
  ASSERT_TRUE(states.ok());
  EXPECT_EQ((*states)[0].requests_current_minute, 14);
  LeaseN(*b, 2);
  ASSERT_TRUE(b->sync().Flush().ok());
  EXPECT_EQ(RequestsTodayInDb(), 9);

  // a, deposed, still thinks it holds fencing 1: its write-back is fenced
  // off and the row keeps b's count.
  LeaseN(*a, 5);
  absl::Status fenced = a->sync().Flush();
  EXPECT_EQ(fenced.code(), absl::StatusCode::kFailedPrecondition) << fenced;
  EXPECT_EQ(RequestsTodayInDb(), 9);
}

TEST_P(KeyPoolRoleTest, StandbyTakesOverTheAllotmentsAndADeposedActiveGrantsNone) {
  auto a = StartReplica(&tdb_->db(), "replica-a");
  auto b = StartReplica(db_b_.get(), "replica-b");
  ASSERT_TRUE(a && b);
  // The key: 100 RPM, 1000 RPD; a gateway's share 5% of each.
  absl::StatusOr<AllotmentPlan> plan = a->allotter().AllotNow("deepseek", "gw-1", {});
  ASSERT_TRUE(plan.ok()) << plan.status();
  ASSERT_EQ(plan->granted.size(), 1u);
  EXPECT_EQ(plan->granted[0].allotment.requests, 5);
  EXPECT_EQ(plan->granted[0].allotment.day_requests, 50);
  const std::string id = plan->granted[0].allotment.id;

  Freeze(*a);
  ASSERT_TRUE(b->election()->Step().ok());
  clock_.Advance(absl::Milliseconds(600));
  ASSERT_TRUE(b->election()->Step().ok());
  ASSERT_TRUE(b->role()->CheckServing().ok());
  std::vector<Allotment> taken = b->pool().Allotments();
  ASSERT_EQ(taken.size(), 1u);
  EXPECT_EQ(taken[0].id, id);
  EXPECT_EQ(taken[0].holder, "gw-1");
  // b holds the gateway's 5 back: 95 leases, not 100.
  LeaseN(*b, 95);
  EXPECT_FALSE(b->pool().Lease("deepseek", 10, {}).ok());
  // The gateway's next AllotKeys reaches b and extends what a granted.
  plan = b->allotter().AllotNow("deepseek", "gw-1", {{id, 0, 0}});
  ASSERT_TRUE(plan.ok()) << plan.status();
  ASSERT_EQ(plan->extended.size(), 1u);
  EXPECT_EQ(plan->extended[0].allotment.id, id);

  // a, deposed, cannot grant one: the store's fence refuses, the plan is
  // undone and the answer is UNAVAILABLE.
  absl::StatusOr<AllotmentPlan> refused = a->allotter().AllotNow("deepseek", "gw-2", {});
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnavailable) << refused.status();
  for (const Allotment& x : a->pool().Allotments()) EXPECT_NE(x.holder, "gw-2");
  EXPECT_EQ(b->pool().Allotments().size(), 1u);
}

TEST_P(KeyPoolRoleTest, GracefulStopHandsOverAtOnceWithTheFinalCounts) {
  auto a = StartReplica(&db(), "replica-a");
  auto b = StartReplica(db_b_.get(), "replica-b");
  ASSERT_TRUE(a && b);
  LeaseN(*a, 4);  // not flushed yet: the final write-back carries them
  a->Stop();
  EXPECT_FALSE(a->role()->CheckServing().ok());
  EXPECT_EQ(RequestsTodayInDb(), 4);
  // No wait for the lease to run out: it was released.
  ASSERT_TRUE(b->election()->Step().ok());
  ASSERT_TRUE(b->role()->CheckServing().ok());
  EXPECT_EQ(RequestsToday(*b), 4);
}

TEST_P(KeyPoolRoleTest, StandbyDoesNotWriteBack) {
  auto a = StartReplica(&db(), "replica-a");
  auto b = StartReplica(db_b_.get(), "replica-b");
  ASSERT_TRUE(a && b);
  LeaseN(*a, 3);
  ASSERT_TRUE(a->sync().Flush().ok());
  // The standby's pool is stale (0 requests); even with something to write
  // it writes nothing.
  LeaseN(*b, 1);
  ASSERT_TRUE(b->sync().Flush().ok());
  EXPECT_EQ(RequestsTodayInDb(), 3);
}

// A replica behind an in-process gRPC server with the health service.
struct ServedReplica {
  std::unique_ptr<KeyPoolService> service;
  std::unique_ptr<grpc::Server> server;
  int port = 0;
};

ServedReplica Serve(KeyPoolRuntime& rt) {
  grpc::EnableDefaultHealthCheckService(true);
  ServedReplica r;
  r.service = rt.NewService();
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &r.port);
  builder.RegisterService(r.service.get());
  r.server = builder.BuildAndStart();
  rt.AttachHealth(r.server->GetHealthCheckService());
  return r;
}

// Leases through `stub` until one is granted (the channel learns of a
// takeover from the replicas' health pushes); the answer of the last try.
grpc::Status LeaseWithin(aigw::v1::KeyPool::Stub& stub, absl::Duration patience) {
  const absl::Time deadline = absl::Now() + patience;
  grpc::Status st;
  do {
    aigw::v1::LeaseKeyRequest req;
    req.set_provider_code("deepseek");
    aigw::v1::LeaseKeyResponse resp;
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(2)));
    st = stub.LeaseKey(&ctx, req, &resp);
    if (st.ok()) return st;
    absl::SleepFor(absl::Milliseconds(10));
  } while (absl::Now() < deadline);
  return st;
}

TEST_P(KeyPoolRoleTest, ReplicatedChannelSendsToTheActiveReplicaAndFollowsATakeover) {
  auto a = StartReplica(&db(), "replica-a");
  auto b = StartReplica(db_b_.get(), "replica-b");
  ASSERT_TRUE(a && b);
  ServedReplica served_a = Serve(*a);
  ServedReplica served_b = Serve(*b);
  ASSERT_TRUE(served_a.port != 0 && served_b.port != 0);
  auto stub = aigw::v1::KeyPool::NewStub(server::CreateReplicatedPeerChannel(
      absl::StrCat("127.0.0.1:", served_a.port, ",localhost:", served_b.port),
      std::string(kKeyPoolHealthName)));
  // Once the channel is up, every lease goes to a at the first try: none
  // to the standby (which would refuse it).
  ASSERT_TRUE(LeaseWithin(*stub, absl::Seconds(10)).ok());
  for (int i = 0; i < 9; ++i) ASSERT_TRUE(LeaseWithin(*stub, absl::ZeroDuration()).ok()) << i;
  EXPECT_EQ(a->pool().outstanding_leases(), 10);
  EXPECT_EQ(b->pool().outstanding_leases(), 0);

  a->Stop();  // releases the lease: b takes over at its next step
  ASSERT_TRUE(b->election()->Step().ok());
  ASSERT_TRUE(b->role()->CheckServing().ok());
  ASSERT_TRUE(LeaseWithin(*stub, absl::Seconds(10)).ok());
  for (int i = 0; i < 9; ++i) ASSERT_TRUE(LeaseWithin(*stub, absl::ZeroDuration()).ok()) << i;
  EXPECT_EQ(b->pool().outstanding_leases(), 10);
  b->Stop();  // lets go of its server's health service before it goes
  served_a.server->Shutdown();
  served_b.server->Shutdown();
}

INSTANTIATE_TEST_SUITE_P(Backends, KeyPoolRoleTest,
                         ::testing::ValuesIn(testing::TestDatabase::Backends()),
                         testing::BackendName);

}  // namespace
}  // namespace aigw::keypool
