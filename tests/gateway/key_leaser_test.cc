// GrpcKeyLeaser against the real keypool binary: batched reports, gathered
// for a delay, all applied, none lost at shutdown.

#include <memory>
#include <string>

#include "aigw/v1/keypool.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "services/gateway/key_leaser.h"
#include "tests/gateway/gateway_harness.h"

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

}  // namespace
}  // namespace aigw::gateway::testing
