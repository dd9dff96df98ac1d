#include "services/usage/usage_queries.h"

#include <atomic>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "libs/common/clock.h"
#include "libs/common/proto_time.h"
#include "libs/db/migrations.h"
#include "services/usage/usage_store.h"
#include "services/usage/usage_time.h"
#include "soci/soci.h"
#include "tests/testing/test_database.h"
#include "tests/usage/usage_test_util.h"

namespace aigw::usage {
namespace {

using ::aigw::testing::TestDatabase;
using namespace ::aigw::usage::testing;  // NOLINT(build/namespaces)

class UsageQueriesTest : public aigw::testing::DatabaseTest {
 protected:
  void SetUp() override {
    DatabaseTest::SetUp();
    if (HasFatalFailure()) return;
    auto store = UsageStore::Create(&db(), {}, nullptr, &clock_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    auto q = UsageQueries::Create(&db(), {}, nullptr, &clock_);
    ASSERT_TRUE(q.ok()) << q.status();
    queries_ = std::move(*q);
  }

  void Record(const std::vector<v1::CallEvent>& events) {
    for (size_t i = 0; i < events.size(); i += 1000) {
      absl::StatusOr<RecordResult> r = store_->RecordCalls(Batch(events, i, i + 1000).events());
      ASSERT_TRUE(r.ok()) << r.status();
    }
  }

  void AddKey(int64_t id, const std::string& name) {
    absl::Status st = db().Run([&](soci::session& s) {
      s << "INSERT INTO t_ai_api_keys (id, provider_id, key_name, api_key) VALUES (:i, 1, :n, "
           "'enc:v1:x')",
          soci::use(id), soci::use(name);
      return absl::OkStatus();
    });
    ASSERT_TRUE(st.ok()) << st;
  }

  static absl::Time Day(int y, int m, int d, int h = 12) {
    return absl::FromCivil(absl::CivilSecond(y, m, d, h, 0, 0), absl::UTCTimeZone());
  }

  ManualClock clock_{TestNow()};
  std::unique_ptr<UsageStore> store_;
  std::unique_ptr<UsageQueries> queries_;
};

// A small hand-made data set: figures below are computed by hand.
std::vector<v1::CallEvent> HandMade() {
  std::vector<v1::CallEvent> out;
  auto add = [&](const std::string& id, int attempt, const std::string& provider, int64_t key,
                 const std::string& model, v1::Outcome outcome, const std::string& code,
                 absl::Time t, bool final_attempt, int64_t prompt, int64_t completion, int64_t cost,
                 int64_t latency) {
    EventSpec s;
    s.request_id = id;
    s.attempt = attempt;
    s.provider = provider;
    s.key_id = key;
    s.model = model;
    s.outcome = outcome;
    s.error_code = code;
    s.created_at = t;
    s.is_final = final_attempt;
    s.prompt_tokens = prompt;
    s.completion_tokens = completion;
    s.cost_nanos = cost;
    s.latency_ms = latency;
    out.push_back(MakeEvent(s));
  };
  const absl::Time d8 =
      absl::FromCivil(absl::CivilSecond(2026, 3, 8, 10, 0, 0), absl::UTCTimeZone());
  const absl::Time d10 =
      absl::FromCivil(absl::CivilSecond(2026, 3, 10, 9, 0, 0), absl::UTCTimeZone());
  // 2026-03-08: one openai request that succeeds after a 429 on key 1.
  add("a", 1, "openai", 1, "gpt-4o", v1::RATE_LIMITED, "RATE_LIMITED", d8, false, 0, 0, 0, 100);
  add("a", 2, "openai", 2, "gpt-4o", v1::SUCCESS, "", d8 + absl::Seconds(2), true, 1000, 500,
      7500000, 900);
  // 2026-03-10: openai gpt-4o-mini success with 3 images and 2 tool calls;
  // anthropic request with an image failing for good.
  add("b", 1, "openai", 2, "gpt-4o-mini", v1::SUCCESS, "", d10, true, 200, 100, 90000, 300);
  out.back().set_images(3);
  out.back().set_tool_calls(2);
  add("c", 1, "anthropic", 4, "claude-3-5-haiku-20241022", v1::SERVER_ERROR, "HTTP_500", d10, false,
      0, 0, 0, 1000);
  out.back().set_images(1);
  add("c", 2, "anthropic", 4, "claude-3-5-haiku-20241022", v1::SERVER_ERROR, "HTTP_500",
      d10 + absl::Seconds(3), true, 0, 0, 0, 1200);
  out.back().set_images(1);
  // 2026-03-01: outside a 7-day window ending 2026-03-10.
  add("old", 1, "deepseek", 6, "deepseek-chat", v1::SUCCESS, "",
      absl::FromCivil(absl::CivilSecond(2026, 3, 1, 10, 0, 0), absl::UTCTimeZone()), true, 10, 10,
      100, 50);
  return out;
}

TEST_P(UsageQueriesTest, GetUsageGroupsByDayProviderModelAndKey) {
  AddKey(2, "openai-main");
  Record(HandMade());
  v1::GetUsageRequest req;
  req.set_start_date("2026-03-08");
  req.set_end_date("2026-03-10");

  absl::StatusOr<v1::GetUsageResponse> by_day = queries_->GetUsage(req);
  ASSERT_TRUE(by_day.ok()) << by_day.status();
  ASSERT_EQ(by_day->rows_size(), 2);  // days with calls only
  const v1::UsageRow& d8 = by_day->rows(0);
  EXPECT_EQ(d8.date(), "2026-03-08");
  EXPECT_EQ(d8.total_requests(), 1);
  EXPECT_EQ(d8.success_count(), 1);
  EXPECT_EQ(d8.error_count(), 0);
  EXPECT_EQ(d8.prompt_tokens(), 1000);
  EXPECT_EQ(d8.completion_tokens(), 500);
  EXPECT_EQ(d8.total_tokens(), 1500);
  EXPECT_EQ(d8.total_cost_nanos(), 7500000);
  EXPECT_DOUBLE_EQ(d8.total_cost(), 0.0075);
  EXPECT_DOUBLE_EQ(d8.avg_latency_ms(), 500);  // (100 + 900) / 2 attempts
  EXPECT_EQ(d8.tool_calls(), 0);
  EXPECT_EQ(d8.images(), 0);
  const v1::UsageRow& d10 = by_day->rows(1);
  EXPECT_EQ(d10.date(), "2026-03-10");
  EXPECT_EQ(d10.total_requests(), 2);
  EXPECT_EQ(d10.success_count(), 1);
  EXPECT_EQ(d10.error_count(), 1);
  EXPECT_DOUBLE_EQ(d10.avg_latency_ms(), (300 + 1000 + 1200) / 3.0);
  // Tool calls of every answer; images once a request ("c" retried its one).
  EXPECT_EQ(d10.tool_calls(), 2);
  EXPECT_EQ(d10.images(), 4);

  req.set_group_by(v1::GetUsageRequest::PROVIDER);
  absl::StatusOr<v1::GetUsageResponse> by_provider = queries_->GetUsage(req);
  ASSERT_TRUE(by_provider.ok()) << by_provider.status();
  ASSERT_EQ(by_provider->rows_size(), 2);
  EXPECT_EQ(by_provider->rows(0).provider_code(), "openai");  // most requests first
  EXPECT_EQ(by_provider->rows(0).total_requests(), 2);
  EXPECT_EQ(by_provider->rows(0).total_cost_nanos(), 7590000);
  EXPECT_EQ(by_provider->rows(1).provider_code(), "anthropic");
  EXPECT_EQ(by_provider->rows(1).error_count(), 1);
  EXPECT_TRUE(by_provider->rows(0).date().empty());

  req.set_group_by(v1::GetUsageRequest::MODEL);
  absl::StatusOr<v1::GetUsageResponse> by_model = queries_->GetUsage(req);
  ASSERT_TRUE(by_model.ok()) << by_model.status();
  std::map<std::string, int64_t> requests_by_model;
  for (const auto& r : by_model->rows())
    requests_by_model[r.provider_code() + "/" + r.model()] = r.total_requests();
  EXPECT_EQ(requests_by_model,
            (std::map<std::string, int64_t>{{"openai/gpt-4o", 1},
                                            {"openai/gpt-4o-mini", 1},
                                            {"anthropic/claude-3-5-haiku-20241022", 1}}));

  req.set_group_by(v1::GetUsageRequest::KEY);
  absl::StatusOr<v1::GetUsageResponse> by_key = queries_->GetUsage(req);
  ASSERT_TRUE(by_key.ok()) << by_key.status();
  std::map<int64_t, v1::UsageRow> keys;
  for (const auto& r : by_key->rows()) keys[r.key_id()] = r;
  ASSERT_EQ(keys.size(), 3u);
  // Key 1 only saw the failed first attempt: no client request ended there.
  EXPECT_EQ(keys[1].total_requests(), 0);
  EXPECT_EQ(keys[2].total_requests(), 2);
  EXPECT_EQ(keys[2].key_name(), "openai-main");
  EXPECT_EQ(keys[2].provider_code(), "openai");
  EXPECT_EQ(keys[4].error_count(), 1);
  EXPECT_EQ(keys[4].key_name(), "");  // no such key row

  req.set_group_by(v1::GetUsageRequest::DAY);
  req.set_provider_code("anthropic");
  absl::StatusOr<v1::GetUsageResponse> filtered = queries_->GetUsage(req);
  ASSERT_TRUE(filtered.ok()) << filtered.status();
  ASSERT_EQ(filtered->rows_size(), 1);
  EXPECT_EQ(filtered->rows(0).date(), "2026-03-10");
  EXPECT_EQ(filtered->rows(0).total_requests(), 1);

  // A filter value is data, never SQL.
  req.set_provider_code("x' OR '1'='1");
  absl::StatusOr<v1::GetUsageResponse> hostile = queries_->GetUsage(req);
  ASSERT_TRUE(hostile.ok()) << hostile.status();
  EXPECT_EQ(hostile->rows_size(), 0);
}

TEST_P(UsageQueriesTest, GetUsageRefusesBadDatesAndGroups) {
  struct Case {
    std::string start, end;
    int group;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"2026-3-01", "2026-03-10", 0, "start_date '2026-3-01' is not a date of the form YYYY-MM-DD"},
      {"2026-03-01", "yesterday", 0, "end_date 'yesterday' is not a date of the form YYYY-MM-DD"},
      {"2026-02-30", "2026-03-10", 0, "start_date '2026-02-30' is not a date"},
      {"2026-03-10", "2026-03-01", 0, "end_date 2026-03-01 is before start_date 2026-03-10"},
      {"2000-01-01", "2026-03-10", 0, "is longer than 3660 days"},
      {"2026-03-01", "2026-03-10", 9, "group_by 9 is not a known GroupBy"},
  };
  for (const Case& c : cases) {
    v1::GetUsageRequest req;
    req.set_start_date(c.start);
    req.set_end_date(c.end);
    req.set_group_by(static_cast<v1::GetUsageRequest::GroupBy>(c.group));
    absl::StatusOr<v1::GetUsageResponse> r = queries_->GetUsage(req);
    ASSERT_FALSE(r.ok()) << c.message;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(absl::StrContains(r.status().message(), c.message)) << r.status();
  }
  // Empty dates: the 30 days up to today.
  Record(HandMade());
  absl::StatusOr<v1::GetUsageResponse> dflt = queries_->GetUsage({});
  ASSERT_TRUE(dflt.ok()) << dflt.status();
  EXPECT_EQ(dflt->rows_size(), 3);
  EXPECT_EQ(dflt->rows(0).date(), "2026-03-01");
}

TEST_P(UsageQueriesTest, TrendHasOnePointPerDayWithZerosForDaysWithoutCalls) {
  Record(HandMade());
  v1::GetTrendRequest req;
  req.set_days(7);
  absl::StatusOr<v1::GetTrendResponse> trend = queries_->GetTrend(req);
  ASSERT_TRUE(trend.ok()) << trend.status();
  ASSERT_EQ(trend->points_size(), 7);
  std::vector<std::string> dates;
  for (const auto& p : trend->points()) dates.push_back(p.date());
  EXPECT_EQ(dates, (std::vector<std::string>{"2026-03-04", "2026-03-05", "2026-03-06", "2026-03-07",
                                             "2026-03-08", "2026-03-09", "2026-03-10"}));
  for (int i : {0, 1, 2, 3, 5}) {
    EXPECT_EQ(trend->points(i).requests(), 0) << i;
    EXPECT_EQ(trend->points(i).tokens(), 0) << i;
    EXPECT_EQ(trend->points(i).cost_nanos(), 0) << i;
    EXPECT_EQ(trend->points(i).success_rate(), 0) << i;
  }
  EXPECT_EQ(trend->points(4).requests(), 1);
  EXPECT_EQ(trend->points(4).tokens(), 1500);
  EXPECT_EQ(trend->points(4).cost_nanos(), 7500000);
  EXPECT_DOUBLE_EQ(trend->points(4).success_rate(), 1.0);
  EXPECT_EQ(trend->points(6).requests(), 2);
  EXPECT_DOUBLE_EQ(trend->points(6).success_rate(), 0.5);

  req.set_provider_code("anthropic");
  trend = queries_->GetTrend(req);
  ASSERT_TRUE(trend.ok());
  EXPECT_EQ(trend->points(4).requests(), 0);
  EXPECT_EQ(trend->points(6).requests(), 1);
  EXPECT_EQ(trend->points(6).success_rate(), 0);

  // "Today" follows the clock; 0 days means 30.
  clock_.Advance(absl::Hours(48));
  trend = queries_->GetTrend({});
  ASSERT_TRUE(trend.ok());
  ASSERT_EQ(trend->points_size(), 30);
  EXPECT_EQ(trend->points(29).date(), "2026-03-12");
  EXPECT_EQ(trend->points(27).requests(), 2);

  for (int bad : {-1, 367}) {
    req.set_days(bad);
    absl::StatusOr<v1::GetTrendResponse> r = queries_->GetTrend(req);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(absl::StrContains(r.status().message(), "days must be between 1 and 366"));
  }
}

TEST_P(UsageQueriesTest, DashboardSummarisesTheWindowWithErrorsByCodeAndKey) {
  AddKey(4, "claude-backup");
  Record(HandMade());
  v1::GetDashboardRequest req;
  req.set_days(7);
  absl::StatusOr<v1::GetDashboardResponse> dash = queries_->GetDashboard(req);
  ASSERT_TRUE(dash.ok()) << dash.status();
  const v1::DashboardSummary& s = dash->summary();
  EXPECT_EQ(s.total_requests(), 3);  // "old" is outside the 7 days
  EXPECT_EQ(s.success_count(), 2);
  EXPECT_EQ(s.error_count(), 1);
  EXPECT_DOUBLE_EQ(s.success_rate(), 2.0 / 3);
  EXPECT_EQ(s.total_tokens(), 1800);
  EXPECT_EQ(s.total_cost_nanos(), 7590000);
  EXPECT_DOUBLE_EQ(s.total_cost(), 0.00759);
  EXPECT_DOUBLE_EQ(s.avg_latency_ms(), (100 + 900 + 300 + 1000 + 1200) / 5.0);
  ASSERT_EQ(dash->trend_size(), 7);
  EXPECT_EQ(dash->trend(6).requests(), 2);

  const v1::ErrorBreakdown& e = dash->errors();
  EXPECT_EQ(e.total_errors(), 3);  // every failed attempt
  ASSERT_EQ(e.errors_by_code_size(), 2);
  EXPECT_EQ(e.errors_by_code(0).error_code(), "HTTP_500");
  EXPECT_EQ(e.errors_by_code(0).count(), 2);
  EXPECT_EQ(e.errors_by_code(1).error_code(), "RATE_LIMITED");
  EXPECT_EQ(e.errors_by_code(1).count(), 1);
  ASSERT_EQ(e.errors_by_key_size(), 2);
  EXPECT_EQ(e.errors_by_key(0).key_id(), 4);
  EXPECT_EQ(e.errors_by_key(0).key_name(), "claude-backup");
  EXPECT_EQ(e.errors_by_key(0).provider_code(), "anthropic");
  EXPECT_EQ(e.errors_by_key(0).count(), 2);
  EXPECT_EQ(e.errors_by_key(1).key_id(), 1);
  EXPECT_EQ(e.errors_by_key(1).count(), 1);

  // One day: only today's figures.
  req.set_days(1);
  dash = queries_->GetDashboard(req);
  ASSERT_TRUE(dash.ok());
  EXPECT_EQ(dash->summary().total_requests(), 2);
  EXPECT_EQ(dash->errors().total_errors(), 2);
  EXPECT_EQ(dash->errors().errors_by_code_size(), 1);
  // An empty window is all zeros, not an error.
  clock_.Advance(absl::Hours(24 * 30));
  dash = queries_->GetDashboard(req);
  ASSERT_TRUE(dash.ok());
  EXPECT_EQ(dash->summary().total_requests(), 0);
  EXPECT_EQ(dash->summary().success_rate(), 0);
  EXPECT_EQ(dash->summary().avg_latency_ms(), 0);
  EXPECT_EQ(dash->errors().errors_by_key_size(), 0);
}

// The dashboard over a generated workload equals the figures recounted from
// the events themselves.
TEST_P(UsageQueriesTest, DashboardOfAGeneratedWorkloadMatchesARecount) {
  const std::vector<v1::CallEvent> events = MixedWorkload(5, 1200, 10);
  Record(events);
  v1::GetDashboardRequest req;
  req.set_days(10);
  absl::StatusOr<v1::GetDashboardResponse> dash = queries_->GetDashboard(req);
  ASSERT_TRUE(dash.ok()) << dash.status();
  int64_t requests = 0, ok = 0, errors = 0, tokens = 0, cost = 0, latency = 0, attempts = 0;
  std::map<std::string, int64_t> by_code;
  std::map<int64_t, int64_t> by_key;
  for (const v1::CallEvent& e : events) {
    const bool success = e.outcome() == v1::SUCCESS;
    if (e.is_final()) {
      ++requests;
      ++(success ? ok : errors);
    }
    ++attempts;
    tokens += e.usage().total_tokens();
    cost += e.cost_nanos();
    latency += e.latency_ms();
    if (!success) {
      ++by_code[e.error_code().empty() ? v1::Outcome_Name(e.outcome()) : e.error_code()];
      ++by_key[e.key_id()];
    }
  }
  EXPECT_EQ(dash->summary().total_requests(), requests);
  EXPECT_EQ(dash->summary().success_count(), ok);
  EXPECT_EQ(dash->summary().error_count(), errors);
  EXPECT_EQ(dash->summary().total_tokens(), tokens);
  EXPECT_EQ(dash->summary().total_cost_nanos(), cost);
  EXPECT_DOUBLE_EQ(dash->summary().avg_latency_ms(), static_cast<double>(latency) / attempts);
  std::map<std::string, int64_t> got_code;
  for (const auto& c : dash->errors().errors_by_code()) got_code[c.error_code()] = c.count();
  EXPECT_EQ(got_code, by_code);
  std::map<int64_t, int64_t> got_key;
  int64_t total = 0;
  for (const auto& k : dash->errors().errors_by_key()) got_key[k.key_id()] = k.count();
  for (const auto& [k, n] : by_key) total += n;
  EXPECT_EQ(got_key, by_key);
  EXPECT_EQ(dash->errors().total_errors(), total);
  int64_t trend_requests = 0;
  for (const auto& p : dash->trend()) trend_requests += p.requests();
  EXPECT_EQ(trend_requests, requests);
}

TEST_P(UsageQueriesTest, QueryLogsFiltersAndReturnsTheEventsAsRecorded) {
  const std::vector<v1::CallEvent> events = HandMade();
  Record(events);
  v1::QueryLogsRequest req;
  absl::StatusOr<LogPage> all = queries_->QueryLogs(req, 0);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(all->response.total(), 6);
  EXPECT_EQ(all->response.page(), 1);
  EXPECT_EQ(all->response.page_size(), 50);
  ASSERT_EQ(all->response.logs_size(), 6);
  // Newest first.
  EXPECT_EQ(all->response.logs(0).event().request_id(), "c");
  EXPECT_EQ(all->response.logs(0).event().attempt(), 2);
  EXPECT_EQ(all->response.logs(5).event().request_id(), "old");
  // Every field comes back as it was sent.
  std::map<std::pair<std::string, int>, v1::CallEvent> sent;
  for (const auto& e : events) sent[{e.request_id(), e.attempt()}] = e;
  for (const v1::CallLog& log : all->response.logs()) {
    const v1::CallEvent& got = log.event();
    v1::CallEvent want = sent[{got.request_id(), got.attempt()}];
    if (want.outcome() == v1::SUCCESS) want.clear_error_message();
    EXPECT_EQ(got.SerializeAsString(), want.SerializeAsString()) << got.DebugString() << "\nvs\n"
                                                                 << want.DebugString();
    EXPECT_EQ(log.status(), want.outcome() == v1::SUCCESS ? "success" : "error");
    EXPECT_GT(log.id(), 0);
  }

  auto count = [&](v1::QueryLogsRequest r) {
    absl::StatusOr<LogPage> p = queries_->QueryLogs(r, 0);
    EXPECT_TRUE(p.ok()) << p.status();
    EXPECT_EQ(p->response.total(), p->response.logs_size());
    return p.ok() ? p->response.total() : -1;
  };
  req.set_status("error");
  EXPECT_EQ(count(req), 3);
  req.set_status("success");
  EXPECT_EQ(count(req), 3);
  req.clear_status();
  req.set_provider_code("openai");
  EXPECT_EQ(count(req), 3);
  req.set_key_id(2);
  EXPECT_EQ(count(req), 2);
  req.Clear();
  req.set_user_id("user-1");
  EXPECT_EQ(count(req), 6);
  req.set_user_id("nobody");
  EXPECT_EQ(count(req), 0);
  req.Clear();
  // start inclusive, end exclusive: 2026-03-10 09:00:00 .. 09:00:03 holds
  // "b" and "c"/1 but not "c"/2 (at 09:00:03).
  ToProtoTimestamp(Day(2026, 3, 10, 9), req.mutable_start_time());
  ToProtoTimestamp(Day(2026, 3, 10, 9) + absl::Seconds(3), req.mutable_end_time());
  EXPECT_EQ(count(req), 2);
  // An end inside a millisecond still includes that millisecond's rows.
  ToProtoTimestamp(Day(2026, 3, 10, 9) + absl::Seconds(3) + absl::Microseconds(10),
              req.mutable_end_time());
  EXPECT_EQ(count(req), 3);
}

// Rows with the same created_at come newest id first, on both backends (on
// MySQL from the index order, not an explicit ORDER BY id).
TEST_P(UsageQueriesTest, QueryLogsBreaksTiesByIdNewestFirst) {
  std::vector<v1::CallEvent> events;
  for (int i = 0; i < 6; ++i) {
    EventSpec s;
    s.request_id = absl::StrCat("tie", i);
    s.created_at = TestNow() - absl::Minutes(i % 2);  // two groups of equal times
    events.push_back(MakeEvent(s));
  }
  Record(events);
  v1::QueryLogsRequest req;
  req.set_page_size(4);
  absl::StatusOr<LogPage> p1 = queries_->QueryLogs(req, 0);
  ASSERT_TRUE(p1.ok()) << p1.status();
  req.set_page(2);
  absl::StatusOr<LogPage> p2 = queries_->QueryLogs(req, p1->snapshot_id);
  ASSERT_TRUE(p2.ok()) << p2.status();
  std::vector<std::string> order;
  for (const auto* p : {&*p1, &*p2}) {
    for (const auto& log : p->response.logs()) order.push_back(log.event().request_id());
  }
  EXPECT_EQ(order, (std::vector<std::string>{"tie4", "tie2", "tie0", "tie5", "tie3", "tie1"}));
}

TEST_P(UsageQueriesTest, QueryLogsRefusesBadPagingAndFilters) {
  struct Case {
    std::function<void(v1::QueryLogsRequest&)> set;
    std::string message;
  };
  const std::vector<Case> cases = {
      {[](auto& r) { r.set_page_size(501); },
       "page_size must be between 1 and 500 (0 means 50), got 501"},
      {[](auto& r) { r.set_page_size(-1); }, "page_size must be between 1 and 500"},
      {[](auto& r) { r.set_page(-2); }, "page is 1-based (0 means 1), got -2"},
      {[](auto& r) { r.set_status("failed"); },
       "status must be 'success', 'error' or empty, got 'failed'"},
      {[](auto& r) { r.set_key_id(-3); }, "key_id must not be negative"},
      {[](auto& r) {
         ToProtoTimestamp(Day(2026, 3, 10), r.mutable_start_time());
         ToProtoTimestamp(Day(2026, 3, 9), r.mutable_end_time());
       },
       "end_time is before start_time"},
  };
  for (const Case& c : cases) {
    v1::QueryLogsRequest req;
    c.set(req);
    absl::StatusOr<LogPage> r = queries_->QueryLogs(req, 0);
    ASSERT_FALSE(r.ok()) << c.message;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(absl::StrContains(r.status().message(), c.message)) << r.status();
  }
  v1::QueryLogsRequest max;
  max.set_page_size(500);
  EXPECT_TRUE(queries_->QueryLogs(max, 0).ok());
}

std::vector<v1::CallEvent> Numbered(const std::string& prefix, int n, absl::Time start,
                                    absl::Duration step) {
  std::vector<v1::CallEvent> out;
  for (int i = 0; i < n; ++i) {
    EventSpec s;
    s.request_id = absl::StrCat(prefix, i);
    s.created_at = start + step * i;
    out.push_back(MakeEvent(s));
  }
  return out;
}

// The snapshot is what keeps pages still: without it, rows recorded between
// two pages push rows of page 1 onto page 2.
TEST_P(UsageQueriesTest, PagesWithTheFirstPagesSnapshotDoNotShiftWhenRowsArrive) {
  Record(Numbered("r", 30, TestNow() - absl::Hours(1), absl::Seconds(1)));
  v1::QueryLogsRequest req;
  req.set_page_size(10);
  absl::StatusOr<LogPage> p1 = queries_->QueryLogs(req, 0);
  ASSERT_TRUE(p1.ok());
  ASSERT_EQ(p1->response.logs_size(), 10);
  Record(Numbered("new", 5, TestNow(), absl::Seconds(1)));

  req.set_page(2);
  absl::StatusOr<LogPage> stale = queries_->QueryLogs(req, 0);
  absl::StatusOr<LogPage> stable = queries_->QueryLogs(req, p1->snapshot_id);
  ASSERT_TRUE(stale.ok() && stable.ok());
  EXPECT_EQ(stale->response.total(), 35);
  EXPECT_EQ(stable->response.total(), 30);
  EXPECT_EQ(stable->snapshot_id, p1->snapshot_id);
  // Page 1 ended with r20; the snapshot's page 2 starts right after it, the
  // live page 2 repeats the last five rows of page 1.
  EXPECT_EQ(p1->response.logs(9).event().request_id(), "r20");
  EXPECT_EQ(stable->response.logs(0).event().request_id(), "r19");
  EXPECT_EQ(stale->response.logs(0).event().request_id(), "r24");
}

TEST_P(UsageQueriesTest, TheTotalStopsAtTheCountCapAndPagesGoOnPastIt) {
  UsageQueryOptions options;
  options.max_counted_logs = 25;
  auto capped = UsageQueries::Create(&db(), options, nullptr, &clock_);
  ASSERT_TRUE(capped.ok());
  Record(Numbered("r", 40, TestNow() - absl::Hours(1), absl::Seconds(1)));
  v1::QueryLogsRequest req;
  req.set_page_size(10);
  absl::StatusOr<LogPage> p1 = (*capped)->QueryLogs(req, 0);
  ASSERT_TRUE(p1.ok()) << p1.status();
  EXPECT_EQ(p1->response.total(), 25);
  EXPECT_TRUE(p1->total_capped);
  req.set_page(4);
  absl::StatusOr<LogPage> p4 = (*capped)->QueryLogs(req, p1->snapshot_id);
  ASSERT_TRUE(p4.ok());
  ASSERT_EQ(p4->response.logs_size(), 10);
  EXPECT_EQ(p4->response.logs(9).event().request_id(), "r0");
  // Below the cap the total is exact and says so.
  req.set_page(1);
  req.set_status("error");
  absl::StatusOr<LogPage> none = (*capped)->QueryLogs(req, 0);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->response.total(), 0);
  EXPECT_FALSE(none->total_capped);
  // The default answer is exact up to 10000.
  absl::StatusOr<LogPage> exact = queries_->QueryLogs(v1::QueryLogsRequest(), 0);
  ASSERT_TRUE(exact.ok());
  EXPECT_EQ(exact->response.total(), 40);
  EXPECT_FALSE(exact->total_capped);
}

// Pages read with one snapshot while another thread keeps recording (newer
// rows and late ones dated in the middle of the log) cover the snapshot's
// rows exactly once, in order.
TEST_P(UsageQueriesTest, PagingHasNoGapsOrRepeatsWhileRowsAreInserted) {
  Record(Numbered("seed", 400, TestNow() - absl::Hours(10), absl::Seconds(7)));
  std::atomic<bool> stop{false};
  std::atomic<int> batches{0};
  std::thread writer([&] {
    int k = 0;
    while (!stop.load()) {
      // Half the batches are new, half arrive late with times inside the
      // range already paged.
      const absl::Time t = k % 2 == 0 ? TestNow() + absl::Seconds(k)
                                      : TestNow() - absl::Hours(5) + absl::Milliseconds(k);
      absl::StatusOr<RecordResult> r = store_->RecordCalls(
          Batch(Numbered(absl::StrCat("live", k, "-"), 20, t, absl::Milliseconds(3))).events());
      ASSERT_TRUE(r.ok()) << r.status();
      ++k;
      ++batches;
    }
  });
  while (batches.load() < 2) std::this_thread::yield();

  v1::QueryLogsRequest req;
  req.set_page_size(37);
  int64_t snapshot = 0;
  int64_t total = -1;
  std::vector<int64_t> ids;
  std::vector<std::pair<std::string, int64_t>> order;  // (created_at, id)
  for (int page = 1;; ++page) {
    req.set_page(page);
    absl::StatusOr<LogPage> p = queries_->QueryLogs(req, snapshot);
    ASSERT_TRUE(p.ok()) << p.status();
    if (page == 1) {
      snapshot = p->snapshot_id;
      total = p->response.total();
    }
    EXPECT_EQ(p->response.total(), total);
    for (const v1::CallLog& log : p->response.logs()) {
      ids.push_back(log.id());
      order.push_back({absl::StrCat(log.event().created_at().seconds(), ".",
                                    1000000000 + log.event().created_at().nanos()),
                       log.id()});
    }
    if (p->response.logs_size() < 37) break;
    // Let the writer land rows between pages.
    const int seen = batches.load();
    while (batches.load() < seen + 1) std::this_thread::yield();
  }
  stop = true;
  writer.join();
  EXPECT_GT(batches.load(), 10);

  std::set<int64_t> unique(ids.begin(), ids.end());
  EXPECT_EQ(unique.size(), ids.size()) << "a row was repeated";
  std::set<int64_t> want;
  absl::Status st = db().Run([&](soci::session& s) {
    long long id = 0;
    soci::statement q =
        (s.prepare << absl::StrCat("SELECT id FROM t_ai_api_logs WHERE id <= ", snapshot),
         soci::into(id));
    q.execute();
    while (q.fetch()) want.insert(id);
    return absl::OkStatus();
  });
  ASSERT_TRUE(st.ok()) << st;
  EXPECT_EQ(unique, want) << "a row was skipped";
  EXPECT_EQ(static_cast<int64_t>(ids.size()), total);
  EXPECT_GT(QueryInt("SELECT COUNT(*) FROM t_ai_api_logs"), total);
  for (size_t i = 1; i < order.size(); ++i) {
    EXPECT_TRUE(order[i - 1] > order[i]) << "not newest first at " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, UsageQueriesTest,
                         ::testing::ValuesIn(aigw::testing::TestDatabase::Backends()),
                         aigw::testing::BackendName);

// A database written before migration 5 (tool calls and images): once it is
// applied, the rows already there read back as calls without tool calls or
// images, and new rows keep theirs.
class UsageUpgradeTest : public ::testing::TestWithParam<db::Backend> {};

TEST_P(UsageUpgradeTest, RowsWrittenBeforeMigration5ReadAsCallsWithoutToolsOrImages) {
  auto t = TestDatabase::Create(GetParam(), /*migrate=*/false);
  ASSERT_TRUE(t.ok()) << t.status();
  db::Database& db = (*t)->db();
  ASSERT_TRUE(db::CurrentSchemaVersion(db).ok());  // creates the ledger
  absl::Status st = db.Run([&](soci::session& s) {
    for (const db::Migration& m : db::AllMigrations()) {
      if (m.version > 4) break;
      for (const std::string& sql : m.statements(db.backend())) s << sql;
      s << "INSERT INTO aigw_schema_migrations (version, description, applied_at) VALUES (:v, "
           ":d, '2026-03-01 00:00:00')",
          soci::use(m.version), soci::use(m.description);
    }
    s << "INSERT INTO t_ai_api_logs (request_id, attempt, provider_code, model, status, "
         "http_status, is_final, created_at) VALUES ('before', 1, 'openai', 'gpt-4o', "
         "'success', 200, 1, '2026-03-10 09:00:00.000')";
    s << "INSERT INTO t_ai_usage_stats (stat_date, provider_code, model, key_id, "
         "total_requests, success_count, attempt_count) VALUES ('2026-03-10', 'openai', "
         "'gpt-4o', 1, 1, 1, 1)";
    return absl::OkStatus();
  });
  ASSERT_TRUE(st.ok()) << st;
  absl::StatusOr<std::vector<int>> applied = db::ApplyMigrations(db);
  ASSERT_TRUE(applied.ok()) << applied.status();
  ASSERT_FALSE(applied->empty());
  EXPECT_EQ(applied->front(), 5);

  ManualClock clock(TestNow());
  auto store = UsageStore::Create(&db, {}, nullptr, &clock);
  ASSERT_TRUE(store.ok()) << store.status();
  auto queries = UsageQueries::Create(&db, {}, nullptr, &clock);
  ASSERT_TRUE(queries.ok()) << queries.status();
  EventSpec spec;
  spec.request_id = "after";
  v1::CallEvent after = MakeEvent(spec);
  after.set_tool_calls(2);
  after.set_images(3);
  ASSERT_TRUE((*store)->RecordCalls(Batch({after}).events()).ok());

  absl::StatusOr<LogPage> logs = (*queries)->QueryLogs(v1::QueryLogsRequest(), 0);
  ASSERT_TRUE(logs.ok()) << logs.status();
  std::map<std::string, std::pair<int, int>> counts;
  for (const v1::CallLog& log : logs->response.logs()) {
    counts[log.event().request_id()] = {log.event().tool_calls(), log.event().images()};
  }
  EXPECT_EQ(counts, (std::map<std::string, std::pair<int, int>>{{"before", {0, 0}},
                                                                 {"after", {2, 3}}}));
  v1::GetUsageRequest usage;
  usage.set_start_date("2026-03-10");
  usage.set_end_date("2026-03-10");
  absl::StatusOr<v1::GetUsageResponse> day = (*queries)->GetUsage(usage);
  ASSERT_TRUE(day.ok()) << day.status();
  ASSERT_EQ(day->rows_size(), 1);
  EXPECT_EQ(day->rows(0).total_requests(), 2);
  EXPECT_EQ(day->rows(0).tool_calls(), 2);
  EXPECT_EQ(day->rows(0).images(), 3);
}

INSTANTIATE_TEST_SUITE_P(Backends, UsageUpgradeTest,
                         ::testing::ValuesIn(aigw::testing::TestDatabase::Backends()),
                         aigw::testing::BackendName);

}  // namespace
}  // namespace aigw::usage
