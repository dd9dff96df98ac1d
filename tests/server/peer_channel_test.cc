#include "libs/server/peer_channel.h"

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "aigw/v1/keypool.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "gtest/gtest.h"
#include "testing/health_client.grpc.pb.h"
#include "tests/testing/local_grpc_server.h"

namespace aigw::server {
namespace {

TEST(ReplicatedPeerTargetTest, AListOfAddressesBecomesAnIpv4Target) {
  EXPECT_EQ(ReplicatedPeerTarget("127.0.0.1:50052,127.0.0.1:50062"),
            "ipv4:127.0.0.1:50052,127.0.0.1:50062");
  EXPECT_EQ(ReplicatedPeerTarget(" localhost:1 , 10.0.0.7:2 ,"), "ipv4:127.0.0.1:1,10.0.0.7:2");
}

TEST(ReplicatedPeerTargetTest, OneTargetIsLeftAsItIs) {
  EXPECT_EQ(ReplicatedPeerTarget("dns:///keypool-headless:50052"), "dns:///keypool-headless:50052");
  EXPECT_EQ(ReplicatedPeerTarget("localhost:50052"), "localhost:50052");
}

constexpr char kRole[] = "aigw.test.Active";

// A server whose health service answers Check("name") with OK, and
// NOT_FOUND for another replica's name, so a call tells which replica took
// it (its other service, implementing nothing, is there because a server
// needs one).
struct Replica {
  explicit Replica(const std::string& name) {
    server.server().GetHealthCheckService()->SetServingStatus(name, true);
  }
  void Serve(bool serving) {
    server.server().GetHealthCheckService()->SetServingStatus(kRole, serving);
  }
  std::string address() const { return server.address(); }

  // Before the server is built: its health service is gRPC's default one.
  const bool default_health = [] {
    grpc::EnableDefaultHealthCheckService(true);
    return true;
  }();
  aigw::v1::KeyPool::Service keypool;
  testing::LocalGrpcServer server{{&keypool}};
};

class ReplicatedPeerChannelTest : public ::testing::Test {
 protected:
  ReplicatedPeerChannelTest()
      : stub_(grpc::health::v1::Health::NewStub(
            CreateReplicatedPeerChannel(a_.address() + "," + b_.address(), kRole))) {}

  // The replica that took one call ("a" or "b"), or the call's error code.
  std::string Call(bool wait_for_ready) {
    grpc::ClientContext ctx;
    ctx.set_wait_for_ready(wait_for_ready);
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    grpc::health::v1::HealthCheckRequest req;
    req.set_service("a");
    grpc::health::v1::HealthCheckResponse resp;
    const grpc::Status st = stub_->Check(&ctx, req, &resp);
    if (st.ok()) return "a";
    if (st.error_code() == grpc::StatusCode::NOT_FOUND) return "b";
    return absl::StrCat("code ", st.error_code());
  }

  // Calls until one gets `want` (the channel follows the replicas' health
  // as they push it); false after 10 s.
  bool Eventually(const std::string& want, bool wait_for_ready) {
    const absl::Time give_up = absl::Now() + absl::Seconds(10);
    while (Call(wait_for_ready) != want) {
      if (absl::Now() > give_up) return false;
      absl::SleepFor(absl::Milliseconds(5));
    }
    return true;
  }

  Replica a_{"a"};
  Replica b_{"b"};
  std::unique_ptr<grpc::health::v1::Health::Stub> stub_;
};

TEST_F(ReplicatedPeerChannelTest, CallsGoOnlyToTheReplicaThatServesAndFollowATakeover) {
  a_.Serve(false);
  b_.Serve(true);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(Call(/*wait_for_ready=*/true), "b") << i;

  b_.Serve(false);
  a_.Serve(true);
  ASSERT_TRUE(Eventually("a", /*wait_for_ready=*/true));
  for (int i = 0; i < 10; ++i) EXPECT_EQ(Call(/*wait_for_ready=*/true), "a") << i;
}

TEST_F(ReplicatedPeerChannelTest, WhileNoReplicaServesCallsFailAtOnceUnavailable) {
  a_.Serve(true);
  b_.Serve(false);
  ASSERT_EQ(Call(/*wait_for_ready=*/true), "a");
  a_.Serve(false);
  EXPECT_TRUE(Eventually(absl::StrCat("code ", grpc::StatusCode::UNAVAILABLE),
                         /*wait_for_ready=*/false));
}

}  // namespace
}  // namespace aigw::server
