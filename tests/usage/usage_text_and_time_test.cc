// The small pure pieces under ingestion and queries: dates, stored times,
// SQL literals, outcomes read back from the log.

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "libs/db/api_log_columns.h"
#include "services/usage/call_log_row.h"
#include "services/usage/sql_literal.h"
#include "services/usage/usage_time.h"

namespace aigw::usage {
namespace {

TEST(ParseDateTest, TakesOnlyRealDaysOfTheFormYYYYMMDD) {
  absl::StatusOr<absl::CivilDay> d = ParseDate("2026-02-28", "start_date");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d, absl::CivilDay(2026, 2, 28));
  for (const char* bad : {"2026-02-29", "2026-2-28", "26-02-28", "2026/02/28", "2026-02-28 ",
                          "+2026-02-28", "", "20260228", "2026-13-01"}) {
    absl::StatusOr<absl::CivilDay> r = ParseDate(bad, "start_date");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(r.status().message(),
              absl::StrCat("start_date '", bad, "' is not a date of the form YYYY-MM-DD"));
  }
}

TEST(DbTimeTest, MillisecondsInUtcTruncatedAndParsedBack) {
  const absl::Time t =
      absl::FromCivil(absl::CivilSecond(2026, 3, 10, 23, 59, 59), absl::UTCTimeZone()) +
      absl::Nanoseconds(999999999);
  EXPECT_EQ(FormatDbTime(t), "2026-03-10 23:59:59.999");
  absl::StatusOr<absl::Time> back = ParseDbTime("2026-03-10 23:59:59.999");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, TruncateToMillis(t));
  EXPECT_TRUE(ParseDbTime("2026-03-10 23:59:59").ok());
  EXPECT_TRUE(ParseDbTime("2026-03-10T23:59:59.5").ok());
  EXPECT_FALSE(ParseDbTime("yesterday").ok());
  EXPECT_EQ(FormatDbTime(absl::UnixEpoch()), "1970-01-01 00:00:00.000");
}

TEST(SqlQuoterTest, DoublesQuotesAndBackslashesAsTheBackendNeeds) {
  const SqlQuoter mysql(true), standard(false);
  EXPECT_EQ(mysql.Quote("it's a \\ test"), "'it''s a \\\\ test'");
  EXPECT_EQ(standard.Quote("it's a \\ test"), "'it''s a \\ test'");
  EXPECT_EQ(standard.Quote(std::string("a\0b", 3)), "'ab'");
  std::string out;
  standard.AppendOrNull("", &out);
  EXPECT_EQ(out, "NULL");
}

TEST(DeriveOutcomeTest, ReadsTheOutcomeBackFromCodeOrHttpStatus) {
  EXPECT_EQ(DeriveOutcome(true, "", 200, 7), v1::SUCCESS);
  EXPECT_EQ(DeriveOutcome(false, "AUTH_FAILED", 0, 7), v1::AUTH_FAILED);
  EXPECT_EQ(DeriveOutcome(false, "HTTP_429", 429, 7), v1::RATE_LIMITED);
  EXPECT_EQ(DeriveOutcome(false, "HTTP_401", 401, 7), v1::AUTH_FAILED);
  // A 403 refuses the request, not the key.
  EXPECT_EQ(DeriveOutcome(false, "HTTP_403", 403, 7), v1::PERMISSION_DENIED);
  EXPECT_EQ(DeriveOutcome(false, "PERMISSION_DENIED", 403, 7), v1::PERMISSION_DENIED);
  // Rows logged before 403 had its own outcome keep theirs.
  EXPECT_EQ(DeriveOutcome(false, "AUTH_FAILED", 403, 7), v1::AUTH_FAILED);
  EXPECT_EQ(DeriveOutcome(false, "HTTP_502", 502, 7), v1::SERVER_ERROR);
  EXPECT_EQ(DeriveOutcome(false, "HTTP_404", 404, 7), v1::CLIENT_ERROR);
  EXPECT_EQ(DeriveOutcome(false, "TIMEOUT", 0, 7), v1::NETWORK_ERROR);
  // No key and no HTTP status: the gateway could not lease a key.
  EXPECT_EQ(DeriveOutcome(false, "NO_AVAILABLE_KEYS", 0, 0), v1::NOT_SENT);
  EXPECT_EQ(DeriveOutcome(false, "KEYPOOL_UNAVAILABLE", 0, 0), v1::NOT_SENT);
}

TEST(ToLogRowTest, CutsDescriptiveTextAndClampsLatencyToTheColumns) {
  v1::CallEvent e;
  e.set_request_id("r");
  e.set_attempt(1);
  e.set_provider_code("openai");
  e.set_outcome(v1::SERVER_ERROR);
  e.mutable_caller()->set_user_agent(std::string(600, 'u'));
  e.set_error_message(std::string(20000, 'm'));
  e.set_latency_ms(int64_t{1} << 40);
  absl::StatusOr<LogRow> r = ToLogRow(e, absl::UTCTimeZone(), absl::UnixEpoch());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->user_agent.size(), db::api_log::kMaxUserAgentChars);
  EXPECT_EQ(r->error_message.size(), db::api_log::kMaxErrorMessageChars);
  EXPECT_EQ(r->latency_ms, 2147483647);
  EXPECT_EQ(r->error_code, "SERVER_ERROR");
  EXPECT_EQ(r->created_at, absl::UnixEpoch());
}

}  // namespace
}  // namespace aigw::usage
