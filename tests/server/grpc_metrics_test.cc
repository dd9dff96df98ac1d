#include "libs/server/grpc_metrics.h"

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "aigw/v1/keypool.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "gtest/gtest.h"
#include "prometheus/registry.h"
#include "testing/health_client.grpc.pb.h"
#include "tests/testing/local_grpc_server.h"
#include "tests/testing/metric_value.h"

namespace aigw::server {
namespace {

using ::aigw::testing::MetricValue;

TEST(GrpcServerMetricsTest, AMethodIsNamedByItsServiceAndMethodOnce) {
  prometheus::Registry registry;
  GrpcServerMetrics metrics(registry);
  GrpcServerMetrics::Method* m = metrics.ForMethod("/aigw.v1.KeyPool/LeaseKey");
  EXPECT_EQ(m->service, "aigw.v1.KeyPool");
  EXPECT_EQ(m->method, "LeaseKey");
  EXPECT_EQ(metrics.ForMethod("/aigw.v1.KeyPool/LeaseKey"), m);
  EXPECT_NE(metrics.ForMethod("/aigw.v1.KeyPool/Reload"), m);
  m->started->Increment();
  EXPECT_EQ(MetricValue(registry, "aigw_grpc_server_started_total",
                        {{"grpc_service", "aigw.v1.KeyPool"}, {"grpc_method", "LeaseKey"}}),
            1);
  EXPECT_EQ(MetricValue(registry, "aigw_grpc_server_started_total",
                        {{"grpc_service", "aigw.v1.KeyPool"}, {"grpc_method", "Reload"}}),
            0);
}

TEST(GrpcServerMetricsTest, ANameWithoutAMethodOrNoNameAtAllStillCounts) {
  prometheus::Registry registry;
  GrpcServerMetrics metrics(registry);
  GrpcServerMetrics::Method* bare = metrics.ForMethod("/aigw.v1.KeyPool");
  EXPECT_EQ(bare->service, "aigw.v1.KeyPool");
  EXPECT_EQ(bare->method, "");
  GrpcServerMetrics::Method* none = metrics.ForMethod(nullptr);
  EXPECT_EQ(none->service, "");
  EXPECT_EQ(none->method, "");
  EXPECT_EQ(metrics.ForMethod(""), none);
}

TEST(GrpcServerMetricsTest, HandledCallsAreCountedByStatusCodeName) {
  prometheus::Registry registry;
  GrpcServerMetrics metrics(registry);
  GrpcServerMetrics::Method* m = metrics.ForMethod("/aigw.v1.Usage/RecordCalls");
  prometheus::Counter* unavailable = metrics.Handled(m, grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(metrics.Handled(m, grpc::StatusCode::UNAVAILABLE), unavailable);
  unavailable->Increment();
  metrics.Handled(m, grpc::StatusCode::UNAUTHENTICATED)->Increment();
  // A code gRPC does not define is UNKNOWN.
  metrics.Handled(m, -1)->Increment();
  metrics.Handled(m, 17)->Increment();
  auto handled = [&](const std::string& code) {
    return MetricValue(registry, "aigw_grpc_server_handled_total",
                       {{"grpc_service", "aigw.v1.Usage"},
                        {"grpc_method", "RecordCalls"},
                        {"grpc_code", code}});
  };
  EXPECT_EQ(handled("UNAVAILABLE"), 1);
  EXPECT_EQ(handled("UNAUTHENTICATED"), 1);
  EXPECT_EQ(handled("UNKNOWN"), 2);
  EXPECT_EQ(handled("OK"), -1);  // no series before the first call
}

// The interceptor on a real server: every call is started, handled with its
// code and timed, without a line in the handler.
TEST(GrpcServerMetricsTest, TheInterceptorCountsEveryCallOfARealServer) {
  prometheus::Registry registry;
  GrpcServerMetrics metrics(registry);
  grpc::EnableDefaultHealthCheckService(true);
  // A service that implements nothing: every call is UNIMPLEMENTED.
  aigw::v1::KeyPool::Service keypool;
  testing::LocalGrpcServer server({&keypool}, [&](grpc::ServerBuilder& builder) {
    std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> factories;
    factories.push_back(metrics.NewInterceptorFactory());
    builder.experimental().SetInterceptorCreators(std::move(factories));
  });
  ASSERT_TRUE(server.ok());

  std::shared_ptr<grpc::Channel> stub_channel = server.NewChannel();
  auto stub = grpc::health::v1::Health::NewStub(stub_channel);
  for (const char* name : {"", "", "no.such.Service"}) {
    grpc::ClientContext ctx;
    grpc::health::v1::HealthCheckRequest req;
    req.set_service(name);
    grpc::health::v1::HealthCheckResponse resp;
    const grpc::Status st = stub->Check(&ctx, req, &resp);
    EXPECT_EQ(st.error_code(), *name == '\0' ? grpc::StatusCode::OK : grpc::StatusCode::NOT_FOUND)
        << name;
  }
  const std::map<std::string, std::string> check = {{"grpc_service", "grpc.health.v1.Health"},
                                                    {"grpc_method", "Check"}};
  auto with_code = [&](const std::string& code) {
    std::map<std::string, std::string> labels = check;
    labels["grpc_code"] = code;
    return labels;
  };
  EXPECT_EQ(MetricValue(registry, "aigw_grpc_server_started_total", check), 3);
  EXPECT_EQ(MetricValue(registry, "aigw_grpc_server_handled_total", with_code("OK")), 2);
  EXPECT_EQ(MetricValue(registry, "aigw_grpc_server_handled_total", with_code("NOT_FOUND")), 1);
  EXPECT_EQ(MetricValue(registry, "aigw_grpc_server_handling_seconds", check), 3);

  grpc::ClientContext ctx;
  aigw::v1::ReloadResponse resp;
  EXPECT_EQ(aigw::v1::KeyPool::NewStub(stub_channel)
                ->Reload(&ctx, aigw::v1::ReloadRequest(), &resp)
                .error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_EQ(MetricValue(registry, "aigw_grpc_server_handled_total",
                        {{"grpc_service", "aigw.v1.KeyPool"},
                         {"grpc_method", "Reload"},
                         {"grpc_code", "UNIMPLEMENTED"}}),
            1);
}

}  // namespace
}  // namespace aigw::server
