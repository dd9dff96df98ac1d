#include "services/usage/usage_service.h"

#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "aigw/v1/usage.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "libs/common/clock.h"
#include "prometheus/registry.h"
#include "prometheus/text_serializer.h"
#include "tests/testing/local_grpc_server.h"
#include "tests/testing/test_database.h"
#include "tests/usage/usage_test_util.h"

namespace aigw::usage {
namespace {

using ::aigw::testing::TestDatabase;
using namespace ::aigw::usage::testing;  // NOLINT(build/namespaces)

class UsageServiceTest : public UsageDbTest {
 protected:
  void SetUp() override {
    UsageDbTest::SetUp();
    if (HasFatalFailure()) return;
    StartServer({});
  }
  void TearDown() override { server_.reset(); }

  void StartServer(UsageServiceOptions options) {
    server_.reset();
    UsageStoreOptions store_options;
    store_options.max_batch_events = 100;
    auto store = UsageStore::Create(&tdb_->db(), store_options, metrics_.get(), &clock_);
    ASSERT_TRUE(store.ok()) << store.status();
    auto queries = UsageQueries::Create(&tdb_->db(), {}, metrics_.get(), &clock_);
    ASSERT_TRUE(queries.ok()) << queries.status();
    service_ = std::make_unique<UsageServiceImpl>(*std::move(store), *std::move(queries), options);
    server_ = std::make_unique<aigw::testing::LocalGrpcServer>(
        std::vector<grpc::Service*>{service_.get()});
    ASSERT_TRUE(server_->ok());
    stub_ = v1::UsageService::NewStub(server_->NewChannel());
  }

  template <typename Req, typename Resp, typename Method>
  grpc::Status Call(Method method, const Req& req, Resp* resp, grpc::ClientContext* ctx = nullptr) {
    grpc::ClientContext local;
    if (ctx == nullptr) ctx = &local;
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    return (stub_.get()->*method)(ctx, req, resp);
  }

  std::unique_ptr<UsageServiceImpl> service_;
  std::unique_ptr<aigw::testing::LocalGrpcServer> server_;
  std::unique_ptr<v1::UsageService::Stub> stub_;
};

TEST_P(UsageServiceTest, RecordsAndAnswersQueriesOverGrpc) {
  const std::vector<v1::CallEvent> events = MixedWorkload(3, 60, 3);
  ASSERT_LE(events.size(), 100u);
  v1::RecordCallsResponse rec;
  grpc::Status st = Call(&v1::UsageService::Stub::RecordCalls, Batch(events), &rec);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(rec.accepted(), static_cast<int>(events.size()));
  EXPECT_EQ(rec.duplicates(), 0);
  st = Call(&v1::UsageService::Stub::RecordCalls, Batch(events), &rec);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(rec.accepted(), 0);
  EXPECT_EQ(rec.duplicates(), static_cast<int>(events.size()));

  v1::GetDashboardRequest dreq;
  dreq.set_days(3);
  v1::GetDashboardResponse dash;
  st = Call(&v1::UsageService::Stub::GetDashboard, dreq, &dash);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(dash.summary().total_requests(), 60);
  EXPECT_EQ(dash.trend_size(), 3);

  v1::GetUsageRequest ureq;
  ureq.set_start_date("2026-03-08");
  ureq.set_end_date("2026-03-10");
  ureq.set_group_by(v1::GetUsageRequest::PROVIDER);
  v1::GetUsageResponse usage;
  st = Call(&v1::UsageService::Stub::GetUsage, ureq, &usage);
  ASSERT_TRUE(st.ok()) << st.error_message();
  int64_t requests = 0;
  for (const auto& r : usage.rows()) requests += r.total_requests();
  EXPECT_EQ(requests, 60);

  v1::GetTrendRequest treq;
  treq.set_days(5);
  v1::GetTrendResponse trend;
  st = Call(&v1::UsageService::Stub::GetTrend, treq, &trend);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(trend.points_size(), 5);

  // The service's metrics in the registry, under their Prometheus names.
  const std::string text = prometheus::TextSerializer().Serialize(registry_.Collect());
  EXPECT_TRUE(
      absl::StrContains(text, absl::StrCat("aigw_usage_events_ingested_total ", events.size())))
      << text;
  EXPECT_TRUE(absl::StrContains(text, absl::StrCat("aigw_usage_duplicates_total ", events.size())));
  EXPECT_TRUE(absl::StrContains(text, "aigw_usage_batches_total{result=\"ok\"} 2"));
  EXPECT_TRUE(absl::StrContains(text, "aigw_usage_batch_seconds_count 2"));
  EXPECT_TRUE(absl::StrContains(text, "aigw_usage_db_errors_total{op=\"record\"} 0"));
}

TEST_P(UsageServiceTest, BadInputIsInvalidArgumentWithTheLibrarysMessage) {
  v1::RecordCallsResponse rec;
  v1::RecordCallsRequest no_id = Batch(MixedWorkload(4, 3, 1));
  no_id.mutable_events(1)->clear_request_id();
  grpc::Status st = Call(&v1::UsageService::Stub::RecordCalls, no_id, &rec);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StrContains(st.error_message(), "events[1]")) << st.error_message();
  EXPECT_TRUE(absl::StrContains(st.error_message(), "request_id is required"));

  v1::RecordCallsRequest big = Batch(MixedWorkload(4, 101, 1));
  while (big.events_size() > 101) big.mutable_events()->RemoveLast();
  st = Call(&v1::UsageService::Stub::RecordCalls, big, &rec);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(st.error_message(),
            "batch has 101 events; at most 100 are accepted per RecordCalls call");

  v1::GetUsageRequest ureq;
  ureq.set_start_date("2026-03-10");
  ureq.set_end_date("2026-03-01");
  v1::GetUsageResponse usage;
  st = Call(&v1::UsageService::Stub::GetUsage, ureq, &usage);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(st.error_message(), "end_date 2026-03-01 is before start_date 2026-03-10");

  v1::QueryLogsRequest lreq;
  lreq.set_page_size(1000);
  v1::QueryLogsResponse logs;
  st = Call(&v1::UsageService::Stub::QueryLogs, lreq, &logs);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(st.error_message(), "page_size must be between 1 and 500 (0 means 50), got 1000");

  v1::GetDashboardRequest dreq;
  dreq.set_days(400);
  v1::GetDashboardResponse dash;
  st = Call(&v1::UsageService::Stub::GetDashboard, dreq, &dash);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  const std::string text = prometheus::TextSerializer().Serialize(registry_.Collect());
  EXPECT_TRUE(absl::StrContains(text, "aigw_usage_batches_total{result=\"invalid\"} 2")) << text;
  EXPECT_TRUE(absl::StrContains(text, "aigw_usage_events_ingested_total 0"));
}

TEST_P(UsageServiceTest, QueryLogsCarriesItsSnapshotInMetadata) {
  std::vector<v1::CallEvent> events;
  for (int i = 0; i < 12; ++i) {
    EventSpec s;
    s.request_id = absl::StrCat("m", i);
    s.created_at = TestNow() - absl::Minutes(60 - i);
    events.push_back(MakeEvent(s));
  }
  v1::RecordCallsResponse rec;
  ASSERT_TRUE(Call(&v1::UsageService::Stub::RecordCalls, Batch(events, 0, 10), &rec).ok());

  v1::QueryLogsRequest req;
  req.set_page_size(4);
  v1::QueryLogsResponse page1;
  grpc::ClientContext ctx1;
  ASSERT_TRUE(Call(&v1::UsageService::Stub::QueryLogs, req, &page1, &ctx1).ok());
  auto it = ctx1.GetServerInitialMetadata().find(kLogsSnapshotMetadata);
  ASSERT_NE(it, ctx1.GetServerInitialMetadata().end());
  const std::string snapshot(it->second.data(), it->second.size());
  EXPECT_EQ(page1.total(), 10);
  EXPECT_EQ(page1.logs(0).event().request_id(), "m9");
  // An exact total: no "at least" marker.
  EXPECT_EQ(ctx1.GetServerInitialMetadata().count(kLogsTotalCappedMetadata), 0u);

  ASSERT_TRUE(Call(&v1::UsageService::Stub::RecordCalls, Batch(events, 10), &rec).ok());
  req.set_page(2);
  v1::QueryLogsResponse page2;
  grpc::ClientContext ctx2;
  ctx2.AddMetadata(kLogsSnapshotMetadata, snapshot);
  ASSERT_TRUE(Call(&v1::UsageService::Stub::QueryLogs, req, &page2, &ctx2).ok());
  EXPECT_EQ(page2.total(), 10);
  EXPECT_EQ(page2.page(), 2);
  ASSERT_EQ(page2.logs_size(), 4);
  EXPECT_EQ(page2.logs(0).event().request_id(), "m5");

  grpc::ClientContext bad;
  bad.AddMetadata(kLogsSnapshotMetadata, "abc");
  grpc::Status st = Call(&v1::UsageService::Stub::QueryLogs, req, &page2, &bad);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StrContains(st.error_message(), kLogsSnapshotMetadata));
}

TEST_P(UsageServiceTest, AFullWorkQueueRefusesCallsAsUnavailable) {
  UsageServiceOptions options;
  options.max_queued_calls = 0;
  StartServer(options);
  v1::GetTrendResponse trend;
  grpc::Status st = Call(&v1::UsageService::Stub::GetTrend, v1::GetTrendRequest(), &trend);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_TRUE(absl::StrContains(st.error_message(), "overloaded"));
}

INSTANTIATE_TEST_SUITE_P(Backends, UsageServiceTest,
                         ::testing::ValuesIn(aigw::testing::TestDatabase::Backends()),
                         aigw::testing::BackendName);

}  // namespace
}  // namespace aigw::usage
