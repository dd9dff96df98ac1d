// The harness's judge: rows written straight into a real database (SQLite
// and MariaDB) against what clients saw; each kind of disagreement is found
// and counted where it belongs.

#include "tests/fault/call_log_audit.h"

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "soci/soci.h"
#include "tests/testing/test_database.h"

namespace aigw::fault {
namespace {

struct Row {
  std::string request_id = "";
  int attempt = 1;
  bool success = true;
  bool is_final = true;
  std::string error_code = "";
  long long key_id = 1;
  int http_status = 200;
  long long prompt = 10, completion = 5, cost_nanos = 1500;
  // MySQL's unique key holds created_at: a resend with another time doubles.
  std::string created_at = "2026-03-10 12:00:00";
};

CallRecord Ok(const std::string& id, int attempts = 1) {
  CallRecord c;
  c.request_id = id;
  c.attempts = attempts;
  c.prompt_tokens = 10;
  c.completion_tokens = 5;
  c.total_tokens = 15;
  c.cost_nanos = 1500;
  return c;
}

CallRecord Failed(const std::string& id, grpc::StatusCode code, const std::string& message,
                  CallKind kind = CallKind::kUnary) {
  CallRecord c;
  c.request_id = id;
  c.kind = kind;
  c.code = code;
  c.message = message;
  return c;
}

class CallLogAuditTest : public ::testing::TestWithParam<db::Backend> {
 protected:
  void SetUp() override {
    auto t = testing::TestDatabase::Create(GetParam());
    ASSERT_TRUE(t.ok()) << t.status();
    tdb_ = std::move(*t);
  }

  void Insert(const Row& r) {
    const std::string status = r.success ? "success" : "error";
    const long long total = r.prompt + r.completion;
    const std::string cost = db::NanosToDecimal(r.cost_nanos);
    const int is_final = r.is_final ? 1 : 0;
    ASSERT_TRUE(tdb_->db()
                    .Run([&](soci::session& s) {
                      s << "INSERT INTO t_ai_api_logs (request_id, attempt, provider_code, "
                           "key_id, status, error_code, http_status, prompt_tokens, "
                           "completion_tokens, total_tokens, cost, is_final, created_at) VALUES "
                           "(:r, :a, 'openai', :k, :s, :e, :h, :p, :c, :t, "
                        << cost << ", :f, :ts)",
                          soci::use(r.request_id), soci::use(r.attempt), soci::use(r.key_id),
                          soci::use(status), soci::use(r.error_code), soci::use(r.http_status),
                          soci::use(r.prompt), soci::use(r.completion), soci::use(total),
                          soci::use(is_final), soci::use(r.created_at);
                      return absl::OkStatus();
                    })
                    .ok());
  }

  CallLogAudit Audit(const std::vector<CallRecord>& calls) {
    absl::StatusOr<CallLogAudit> a = AuditCallLog(tdb_->db(), "t-", calls);
    EXPECT_TRUE(a.ok()) << a.status();
    return a.ok() ? *a : CallLogAudit{};
  }

  std::unique_ptr<testing::TestDatabase> tdb_;
};

TEST_P(CallLogAuditTest, CallsLoggedAsTheClientsSawThemPass) {
  // Answered on the second attempt; refused by the provider; never sent
  // because the keypool was down; refused by validation (no row).
  Insert({.request_id = "t-1",
          .attempt = 1,
          .success = false,
          .is_final = false,
          .error_code = "SERVER_ERROR",
          .http_status = 503,
          .prompt = 0,
          .completion = 0,
          .cost_nanos = 0});
  Insert({.request_id = "t-1", .attempt = 2});
  Insert({.request_id = "t-2",
          .success = false,
          .error_code = "CLIENT_ERROR",
          .http_status = 400,
          .prompt = 0,
          .completion = 0,
          .cost_nanos = 0});
  Insert({.request_id = "t-3",
          .success = false,
          .error_code = "KEYPOOL_UNAVAILABLE",
          .key_id = 0,
          .http_status = 0,
          .prompt = 0,
          .completion = 0,
          .cost_nanos = 0});
  const CallLogAudit a = Audit({
      Ok("t-1", 2),
      Failed("t-2", grpc::StatusCode::INVALID_ARGUMENT, "openai refused the request (HTTP 400)",
             CallKind::kRefused),
      Failed("t-3", grpc::StatusCode::UNAVAILABLE, "keypool unavailable: connection refused"),
      Failed("t-4", grpc::StatusCode::INVALID_ARGUMENT, "temperature must be 0..2",
             CallKind::kInvalid),
  });
  EXPECT_TRUE(a.ok()) << ::testing::PrintToString(a.examples);
  EXPECT_EQ(a.calls, 4);
  EXPECT_EQ(a.must_log, 3);
  EXPECT_EQ(a.rows, 4);
  EXPECT_EQ(a.by_code.at("OK"), 1);
  EXPECT_EQ(a.by_code.at("INVALID_ARGUMENT"), 2);
  EXPECT_EQ(a.errors_by_log_code.at("KEYPOOL_UNAVAILABLE"), 1);
}

TEST_P(CallLogAuditTest, MissingCallsAndMissingAttemptsAreLost) {
  Insert({.request_id = "t-gap", .attempt = 2});        // attempt 1 missing
  Insert({.request_id = "t-open", .is_final = false});  // no final row
  const CallLogAudit a = Audit({Ok("t-none"), Ok("t-gap", 2), Ok("t-open")});
  EXPECT_EQ(a.lost, 3);
  EXPECT_EQ(a.doubled, 0);
  EXPECT_FALSE(a.ok());
}

TEST_P(CallLogAuditTest, AnAttemptOrAFinalRowTwiceIsDoubled) {
  Insert({.request_id = "t-1", .attempt = 1});
  Insert({.request_id = "t-1", .attempt = 2});  // a second final row
  if (GetParam() == db::Backend::kMySql) {
    // The partitioned log's unique key includes created_at: a resend
    // stamped anew is stored twice.
    Insert({.request_id = "t-2", .created_at = "2026-03-10 12:00:00"});
    Insert({.request_id = "t-2", .created_at = "2026-03-10 12:00:01"});
  }
  std::vector<CallRecord> calls = {Ok("t-1", 2)};
  if (GetParam() == db::Backend::kMySql) calls.push_back(Ok("t-2"));
  const CallLogAudit a = Audit(calls);
  EXPECT_EQ(a.doubled, GetParam() == db::Backend::kMySql ? 2 : 1);
  EXPECT_EQ(a.lost, 0);
  EXPECT_FALSE(a.ok());
}

TEST_P(CallLogAuditTest, AFinalRowThatDisagreesWithTheClientIsMismatched) {
  Insert({.request_id = "t-ok-but-error",
          .success = false,
          .error_code = "SERVER_ERROR",
          .http_status = 500});
  Insert({.request_id = "t-tokens", .completion = 6});
  Insert({.request_id = "t-attempts"});
  // A NOT_SENT attempt that carries a key (the one of an earlier attempt).
  Insert({.request_id = "t-keypool",
          .success = false,
          .error_code = "KEYPOOL_UNAVAILABLE",
          .key_id = 3,
          .http_status = 0});
  const CallLogAudit a = Audit({
      Ok("t-ok-but-error"),
      Ok("t-tokens"),
      Ok("t-attempts", 2),
      Failed("t-keypool", grpc::StatusCode::UNAVAILABLE, "keypool unavailable: refused"),
  });
  EXPECT_EQ(a.mismatched, 4) << ::testing::PrintToString(a.examples);
  EXPECT_EQ(a.lost, 0);
}

TEST_P(CallLogAuditTest, RowsForCallsThatMustHaveNoneAreUnexpected) {
  Insert({.request_id = "t-invalid"});
  Insert({.request_id = "t-stranger"});
  const CallLogAudit a = Audit({Failed("t-invalid", grpc::StatusCode::INVALID_ARGUMENT,
                                       "temperature must be 0..2", CallKind::kInvalid)});
  EXPECT_EQ(a.unexpected, 2);
  EXPECT_FALSE(a.ok());
}

TEST_P(CallLogAuditTest, ACallWithNoAnswerIsUnanswered) {
  const CallLogAudit a =
      Audit({Failed("t-late", grpc::StatusCode::DEADLINE_EXCEEDED, "Deadline Exceeded")});
  EXPECT_EQ(a.unanswered, 1);
  EXPECT_EQ(a.lost, 0);
  EXPECT_FALSE(a.ok());
}

TEST_P(CallLogAuditTest, AggregatesAreHeldAgainstTheLog) {
  Insert({.request_id = "t-1"});
  Insert({.request_id = "t-2",
          .success = false,
          .error_code = "SERVER_ERROR",
          .http_status = 500,
          .prompt = 0,
          .completion = 0,
          .cost_nanos = 0});
  auto stats = [&](long long requests) {
    ASSERT_TRUE(tdb_->db()
                    .Run([&](soci::session& s) {
                      s << "DELETE FROM t_ai_usage_stats";
                      s << "DELETE FROM t_ai_error_stats";
                      s << "INSERT INTO t_ai_usage_stats (stat_date, provider_code, model, "
                           "key_id, total_requests, success_count, error_count, attempt_count, "
                           "attempt_error_count, prompt_tokens, completion_tokens, total_tokens, "
                           "total_cost) VALUES ('2026-03-10', 'openai', '', 1, :n, 1, 1, 2, 1, "
                           "10, 5, 15, 0.0000015)",
                          soci::use(requests);
                      s << "INSERT INTO t_ai_error_stats (stat_date, provider_code, key_id, "
                           "error_code, error_count) VALUES ('2026-03-10', 'openai', 1, "
                           "'SERVER_ERROR', 1)";
                      return absl::OkStatus();
                    })
                    .ok());
  };
  stats(2);
  absl::StatusOr<StatsAudit> same = AuditStats(tdb_->db());
  ASSERT_TRUE(same.ok()) << same.status();
  EXPECT_TRUE(same->ok()) << ::testing::PrintToString(same->differences);

  stats(3);  // a replay counted twice
  absl::StatusOr<StatsAudit> doubled = AuditStats(tdb_->db());
  ASSERT_TRUE(doubled.ok());
  EXPECT_EQ(doubled->differences, std::vector<std::string>{"total_requests: stats 3, log 2"});
}

INSTANTIATE_TEST_SUITE_P(Backends, CallLogAuditTest,
                         ::testing::ValuesIn(testing::TestDatabase::Backends()),
                         testing::BackendName);

}  // namespace
}  // namespace aigw::fault
