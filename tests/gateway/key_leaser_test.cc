// GrpcKeyLeaser against the real keypool binary: batched reports, gathered
// for a delay, all applied, none lost at shutdown. And against a keypool in
// this process that counts the calls: refused batches narrowed to the bad
// report, batches kept for every later report.

#include "services/gateway/key_leaser.h"

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "aigw/v1/keypool.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "tests/gateway/gateway_harness.h"
#include "tests/testing/local_grpc_server.h"
#include "tests/testing/subprocess.h"

namespace aigw::gateway::testing {
namespace {

class GrpcKeyLeaserTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(h_.Start({{"openai", "sk-test-key-a-000000000001", 100},
                          {"openai", "sk-test-key-b-000000000002", 100}})
                    .ok());
  }

  std::unique_ptr<GrpcKeyLeaser> NewLeaser(absl::Duration report_delay) {
    return std::make_unique<GrpcKeyLeaser>(
        grpc::CreateChannel(h_.keypool_target(), grpc::InsecureChannelCredentials()),
        absl::Seconds(5), [] { return BearerFor("service"); }, report_delay);
  }

  static aigw::v1::LeaseKeyResponse LeaseNow(GrpcKeyLeaser& leaser) {
    aigw::v1::LeaseKeyRequest req;
    req.set_provider_code("openai");
    std::promise<LeaseResult> p;
    leaser.Lease(req, [&p](LeaseResult r) { p.set_value(std::move(r)); });
    LeaseResult r = p.get_future().get();
    EXPECT_TRUE(r.status.ok()) << r.status;
    return r.lease;
  }

  static void ReportNow(GrpcKeyLeaser& leaser, const std::string& lease_id,
                        aigw::v1::Outcome outcome, int64_t tokens) {
    aigw::v1::ReportUsageRequest r;
    r.set_lease_id(lease_id);
    r.set_outcome(outcome);
    r.set_total_tokens(tokens);
    leaser.Report(r);
  }

  // Requests and tokens counted today over the provider's keys.
  std::pair<int64_t, int64_t> Today() {
    auto stub = aigw::v1::KeyPool::NewStub(
        grpc::CreateChannel(h_.keypool_target(), grpc::InsecureChannelCredentials()));
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", BearerFor("admin"));
    aigw::v1::ListKeyStatesRequest req;
    req.set_provider_code("openai");
    aigw::v1::ListKeyStatesResponse resp;
    grpc::Status st = stub->ListKeyStates(&ctx, req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    std::pair<int64_t, int64_t> total{0, 0};
    for (const auto& k : resp.keys()) {
      total.first += k.requests_today();
      total.second += k.tokens_today();
    }
    return total;
  }

  GatewayHarness h_;
};

TEST_F(GrpcKeyLeaserTest, ShutdownSendsTheReportsStillGathering) {
  auto leaser = NewLeaser(absl::Hours(1));  // the delay never ends in this test
  for (int i = 0; i < 3; ++i) {
    ReportNow(*leaser, LeaseNow(*leaser).lease_id(), aigw::v1::SUCCESS, 7);
  }
  EXPECT_EQ(Today(), std::make_pair(int64_t{3}, int64_t{0}));
  leaser.reset();
  EXPECT_EQ(Today(), std::make_pair(int64_t{3}, int64_t{21}));
}

TEST_F(GrpcKeyLeaserTest, EveryReportOfABatchIsApplied) {
  auto leaser = NewLeaser(absl::ZeroDuration());
  const std::string used = LeaseNow(*leaser).lease_id();
  const std::string unused = LeaseNow(*leaser).lease_id();
  ReportNow(*leaser, used, aigw::v1::SUCCESS, 5);
  ReportNow(*leaser, unused, aigw::v1::RELEASED, 0);
  ReportNow(*leaser, "no-such-lease", aigw::v1::SUCCESS, 9);  // refused alone
  leaser.reset();
  EXPECT_EQ(Today(), std::make_pair(int64_t{1}, int64_t{5}));
}

TEST_F(GrpcKeyLeaserTest, TheFlusherSendsGatheredReportsAfterTheDelay) {
  auto leaser = NewLeaser(absl::Milliseconds(20));
  ReportNow(*leaser, LeaseNow(*leaser).lease_id(), aigw::v1::SUCCESS, 11);
  // Waits for the keypool to show it (an event, not a length of time).
  std::pair<int64_t, int64_t> today;
  for (int i = 0; i < 500; ++i) {
    today = Today();
    if (today.second == 11) break;
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_EQ(today, std::make_pair(int64_t{1}, int64_t{11}));
}

// The keypool's report RPCs over real gRPC in this process: what arrives is
// what gRPC could decode. A batch holding lease "refuse-me" is refused
// (INVALID_ARGUMENT), one holding "undecodable" answered as gRPC's callback
// API answers a request it cannot parse (UNIMPLEMENTED); an empty batch gets
// the keypool's own answer (INVALID_ARGUMENT). Without `batch_rpc` it is a
// keypool older than ReportUsageBatch.
class CountingKeyPool final : public aigw::v1::KeyPool::CallbackService {
 public:
  explicit CountingKeyPool(bool batch_rpc = true) : batch_rpc_(batch_rpc) {
    server_ = std::make_unique<aigw::testing::LocalGrpcServer>(std::vector<grpc::Service*>{this});
  }
  ~CountingKeyPool() override { server_.reset(); }

  grpc::ServerUnaryReactor* ReportUsage(grpc::CallbackServerContext* ctx,
                                        const aigw::v1::ReportUsageRequest* request,
                                        aigw::v1::ReportUsageResponse*) override {
    {
      absl::MutexLock lock(&mu_);
      ++single_calls_;
      applied_.push_back(request->lease_id());
    }
    return Answer(ctx, grpc::Status::OK);
  }

  grpc::ServerUnaryReactor* ReportUsageBatch(grpc::CallbackServerContext* ctx,
                                             const aigw::v1::ReportUsageBatchRequest* request,
                                             aigw::v1::ReportUsageBatchResponse*) override {
    if (!batch_rpc_) return Answer(ctx, grpc::Status(grpc::StatusCode::UNIMPLEMENTED, ""));
    absl::MutexLock lock(&mu_);
    ++batch_calls_;
    if (request->reports_size() == 0) {
      return Answer(ctx, grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "reports is empty"));
    }
    for (const auto& r : request->reports()) {
      if (r.lease_id() == "refuse-me") {
        return Answer(ctx, grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "a bad report"));
      }
      if (r.lease_id() == "undecodable") {
        return Answer(ctx, grpc::Status(grpc::StatusCode::UNIMPLEMENTED, ""));
      }
    }
    for (const auto& r : request->reports()) applied_.push_back(r.lease_id());
    return Answer(ctx, grpc::Status::OK);
  }

  std::unique_ptr<GrpcKeyLeaser> NewLeaser() {
    return std::make_unique<GrpcKeyLeaser>(server_->NewChannel(), absl::Seconds(5));
  }
  std::multiset<std::string> applied() {
    absl::MutexLock lock(&mu_);
    return {applied_.begin(), applied_.end()};
  }
  int single_calls() {
    absl::MutexLock lock(&mu_);
    return single_calls_;
  }

 private:
  static grpc::ServerUnaryReactor* Answer(grpc::CallbackServerContext* ctx, grpc::Status st) {
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    reactor->Finish(std::move(st));
    return reactor;
  }

  const bool batch_rpc_;
  std::unique_ptr<aigw::testing::LocalGrpcServer> server_;
  absl::Mutex mu_;
  std::vector<std::string> applied_;
  int single_calls_ = 0;
  int batch_calls_ = 0;
};

aigw::v1::ReportUsageRequest Report(const std::string& lease_id) {
  aigw::v1::ReportUsageRequest r;
  r.set_lease_id(lease_id);
  r.set_outcome(aigw::v1::SUCCESS);
  return r;
}

// Reports `leases` as one batch (no delay: the first goes alone, the rest
// gather behind it) and waits for every call to end (the destructor).
void ReportAll(std::unique_ptr<GrpcKeyLeaser> leaser,
               const std::vector<aigw::v1::ReportUsageRequest>& reports) {
  for (const auto& r : reports) leaser->Report(r);
  leaser.reset();
}

TEST(GrpcKeyLeaserNarrowingTest, AProviderErrorInChineseDoesNotSwitchReportsToOneByOne) {
  // The keypool could not decode a batch whose error text was cut inside a
  // character; the gateway took that for "no batch RPC" for good.
  CountingKeyPool keypool;
  std::string chinese;
  for (int i = 0; i < 600; ++i) chinese += "请";
  std::vector<aigw::v1::ReportUsageRequest> reports;
  for (int i = 0; i < 6; ++i) {
    reports.push_back(Report(absl::StrCat("lease-", i)));
    reports.back().set_outcome(aigw::v1::CLIENT_ERROR);
    reports.back().set_http_status(400);
    reports.back().set_error_message(chinese.substr(0, 1000));
  }
  ReportAll(keypool.NewLeaser(), reports);
  ReportAll(keypool.NewLeaser(), {Report("later-0"), Report("later-1")});
  EXPECT_EQ(keypool.applied(),
            (std::multiset<std::string>{"lease-0", "lease-1", "lease-2", "lease-3", "lease-4",
                                        "lease-5", "later-0", "later-1"}));
  EXPECT_EQ(keypool.single_calls(), 0) << "every report went in a batch";
}

TEST(GrpcKeyLeaserNarrowingTest, OneRefusedReportDoesNotTakeTheRestOfItsBatchWithIt) {
  for (const char* bad : {"refuse-me", "undecodable"}) {
    CountingKeyPool keypool;
    auto leaser = keypool.NewLeaser();
    // The first report goes alone; the rest gather into one batch behind it.
    std::vector<aigw::v1::ReportUsageRequest> reports = {Report("first")};
    for (int i = 0; i < 9; ++i) reports.push_back(Report(i == 4 ? bad : absl::StrCat("r", i)));
    for (const auto& r : reports) leaser->Report(r);
    leaser->Report(Report("after"));
    leaser.reset();  // waits for every call
    const std::multiset<std::string> applied = keypool.applied();
    EXPECT_EQ(applied.count(bad), 0u) << bad;
    EXPECT_EQ(applied.size(), 10u) << bad << ": every other report is applied, once";
    for (const char* lease : {"first", "r0", "r3", "r5", "r8", "after"}) {
      EXPECT_EQ(applied.count(lease), 1u) << bad << " " << lease;
    }
    EXPECT_EQ(keypool.single_calls(), 0) << bad << ": batches all along";
  }
}

TEST(GrpcKeyLeaserNarrowingTest, AKeypoolWithoutTheBatchRpcGetsReportsOneByOne) {
  CountingKeyPool keypool(/*batch_rpc=*/false);
  ReportAll(keypool.NewLeaser(), {Report("a"), Report("b"), Report("c")});
  EXPECT_EQ(keypool.applied(), (std::multiset<std::string>{"a", "b", "c"}));
  EXPECT_EQ(keypool.single_calls(), 3);
}

// A keypool on a given port that grants every lease.
class GrantingKeyPool final : public aigw::v1::KeyPool::CallbackService {
 public:
  explicit GrantingKeyPool(int port) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort(absl::StrCat("127.0.0.1:", port), grpc::InsecureServerCredentials());
    builder.RegisterService(this);
    server_ = builder.BuildAndStart();
  }
  ~GrantingKeyPool() override { server_->Shutdown(); }
  bool serving() const { return server_ != nullptr; }

  grpc::ServerUnaryReactor* LeaseKey(grpc::CallbackServerContext* ctx,
                                     const aigw::v1::LeaseKeyRequest*,
                                     aigw::v1::LeaseKeyResponse* response) override {
    response->set_lease_id("granted");
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

 private:
  std::unique_ptr<grpc::Server> server_;
};

std::future<LeaseResult> LeaseLater(GrpcKeyLeaser& leaser) {
  auto p = std::make_shared<std::promise<LeaseResult>>();
  aigw::v1::LeaseKeyRequest req;
  req.set_provider_code("openai");
  leaser.Lease(req, [p](LeaseResult r) { p->set_value(std::move(r)); });
  return p->get_future();
}

// The active keypool dies and another takes its place: a lease asked for in
// between waits for it instead of failing.
TEST(GrpcKeyLeaserHandoverTest, ALeaseWaitsForTheNextKeypoolAfterOneAnsweredAMomentAgo) {
  const int port = aigw::testing::PickFreePort();
  auto first = std::make_unique<GrantingKeyPool>(port);
  ASSERT_TRUE(first->serving());
  GrpcKeyLeaser leaser(
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()),
      absl::Seconds(20));
  leaser.set_handover_wait(absl::Seconds(20));
  ASSERT_TRUE(LeaseLater(leaser).get().status.ok());
  first.reset();
  std::future<LeaseResult> waiting = LeaseLater(leaser);
  GrantingKeyPool second(port);
  ASSERT_TRUE(second.serving());
  LeaseResult r = waiting.get();
  EXPECT_TRUE(r.status.ok()) << r.status;
  EXPECT_EQ(r.lease.lease_id(), "granted");
}

TEST(GrpcKeyLeaserHandoverTest, WithoutTheWaitALeaseFailsAtOnceWhileNoKeypoolServes) {
  const int port = aigw::testing::PickFreePort();
  auto first = std::make_unique<GrantingKeyPool>(port);
  ASSERT_TRUE(first->serving());
  GrpcKeyLeaser leaser(
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()),
      absl::Seconds(20));
  ASSERT_TRUE(LeaseLater(leaser).get().status.ok());
  first.reset();
  LeaseResult r = LeaseLater(leaser).get();
  EXPECT_EQ(r.status.code(), absl::StatusCode::kUnavailable) << r.status;
}

}  // namespace
}  // namespace aigw::gateway::testing
