#ifndef AIGW_TESTS_USAGE_USAGE_TEST_UTIL_H_
#define AIGW_TESTS_USAGE_USAGE_TEST_UTIL_H_

#include <cstdint>
#include <map>
#include <ostream>
#include <string>
#include <tuple>
#include <vector>

#include "absl/time/time.h"
#include "aigw/v1/usage.pb.h"
#include "gtest/gtest.h"
#include "libs/common/clock.h"
#include "libs/db/database.h"
#include "prometheus/registry.h"
#include "services/usage/usage_metrics.h"
#include "tests/testing/database_test.h"
#include "tests/testing/test_database.h"

namespace aigw::usage::testing {

// 2026-03-10 12:00:00 UTC: the tests' "now".
absl::Time TestNow();

// A fresh migrated database on the parameter's backend, the usage metrics
// and a clock at TestNow(), for the fixtures of the usage tests. Derived
// fixtures call UsageDbTest::SetUp() first.
class UsageDbTest : public aigw::testing::DatabaseTest {
 protected:
  void SetUp() override {
    DatabaseTest::SetUp();
    metrics_ = std::make_unique<UsageMetrics>(registry_);
  }

  ManualClock clock_{TestNow()};
  prometheus::Registry registry_;
  std::unique_ptr<UsageMetrics> metrics_;
};

struct EventSpec {
  std::string request_id;
  int attempt = 1;
  std::string provider = "openai";
  int64_t key_id = 1;
  std::string model = "gpt-4o";
  v1::Outcome outcome = v1::SUCCESS;
  std::string error_code;
  absl::Time created_at = TestNow();
  bool is_final = true;
  int64_t prompt_tokens = 100;
  int64_t completion_tokens = 50;
  int64_t cost_nanos = 1500;
  int64_t latency_ms = 200;
  std::string user_id = "user-1";
};
v1::CallEvent MakeEvent(const EventSpec& spec);

// A generated mix of client requests over `days` days ending at TestNow():
// three providers, several models and keys each, users, 1..4 attempts per
// request (retries switching key and sometimes provider), failures of every
// kind before the final attempt and some failed final attempts, requests
// straddling midnight, events with and without an error code, requests with
// images and answers with tool calls. Deterministic
// for a seed. Every event is unique by (request_id, attempt).
std::vector<v1::CallEvent> MixedWorkload(uint32_t seed, int requests, int days);

// A stats row as compared in tests: key (date, provider, model, key_id).
using StatsKey = std::tuple<std::string, std::string, std::string, int64_t>;
struct Figures {
  int64_t total_requests = 0, success_count = 0, error_count = 0, attempt_count = 0,
          attempt_error_count = 0, prompt_tokens = 0, completion_tokens = 0, total_tokens = 0,
          cached_prompt_tokens = 0, cache_creation_tokens = 0, reasoning_tokens = 0, cost_nanos = 0,
          latency_ms = 0, tool_calls = 0, images = 0;
  bool operator==(const Figures&) const = default;
};
void PrintTo(const Figures& f, std::ostream* os);
using StatsTable = std::map<StatsKey, Figures>;
// (date, provider, key_id, error_code) -> count
using ErrorTable = std::map<std::tuple<std::string, std::string, int64_t, std::string>, int64_t>;

// What t_ai_usage_stats / t_ai_error_stats hold.
StatsTable ReadStats(db::Database& db);
ErrorTable ReadErrorStats(db::Database& db);
// The same figures recounted from the log rows (stat_date = UTC day).
StatsTable RecountStatsFromLogs(db::Database& db);
ErrorTable RecountErrorsFromLogs(db::Database& db);
// The figures the events should give (first occurrence of each
// (request_id, attempt) counts), computed here without the database.
StatsTable ExpectedStats(const std::vector<v1::CallEvent>& events);
ErrorTable ExpectedErrors(const std::vector<v1::CallEvent>& events);

using aigw::testing::QueryInt;

// Events as a RecordCalls batch.
v1::RecordCallsRequest Batch(const std::vector<v1::CallEvent>& events, size_t begin = 0,
                             size_t end = SIZE_MAX);

}  // namespace aigw::usage::testing

#endif  // AIGW_TESTS_USAGE_USAGE_TEST_UTIL_H_
