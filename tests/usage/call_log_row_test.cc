// Events checked and turned into log rows, and rows read back as events.

#include "services/usage/call_log_row.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "libs/common/proto_time.h"
#include "libs/db/api_log_columns.h"

namespace aigw::usage {
namespace {

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

// A row reads back as the gateway decided the attempt: 408 and 409 are the
// provider's trouble, a redirect a broken upstream, and the gateway's own
// codes keep the outcome they were logged with.
TEST(DeriveOutcomeTest, ReadsBackWhatTheGatewayDecided) {
  EXPECT_EQ(DeriveOutcome(false, "HTTP_408", 408, 7), v1::SERVER_ERROR);
  EXPECT_EQ(DeriveOutcome(false, "HTTP_409", 409, 7), v1::SERVER_ERROR);
  EXPECT_EQ(DeriveOutcome(false, "REDIRECT", 302, 7), v1::SERVER_ERROR);
  EXPECT_EQ(DeriveOutcome(false, "BAD_RESPONSE", 200, 7), v1::SERVER_ERROR);
  EXPECT_EQ(DeriveOutcome(false, "CLIENT_TOO_SLOW", 200, 7), v1::CLIENT_ERROR);
  EXPECT_EQ(DeriveOutcome(false, "HOST_NOT_ALLOWED", 0, 0), v1::NOT_SENT);
  EXPECT_EQ(DeriveOutcome(false, "UNSUPPORTED_CAPABILITY", 0, 0), v1::NOT_SENT);
  EXPECT_EQ(DeriveOutcome(false, "SOMETHING_ELSE", 200, 7), v1::NETWORK_ERROR);
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

v1::CallEvent GoodEvent() {
  v1::CallEvent e;
  e.set_request_id("req-1");
  e.set_attempt(2);
  e.set_provider_code("anthropic");
  e.set_provider_id(2);
  e.set_key_id(9);
  e.set_model("claude-3-5-haiku-20241022");
  e.mutable_caller()->set_user_id("u-1");
  e.mutable_caller()->set_ip_address("10.0.0.2");
  e.mutable_caller()->set_user_agent("ua/1");
  e.set_outcome(v1::SUCCESS);
  e.set_http_status(200);
  v1::Usage* u = e.mutable_usage();
  u->set_prompt_tokens(1000);
  u->set_completion_tokens(200);
  u->set_total_tokens(1200);
  u->set_cached_prompt_tokens(300);
  u->set_cache_creation_tokens(40);
  u->set_reasoning_tokens(50);
  e.set_cost_nanos(123456789);
  e.set_latency_ms(850);
  e.set_ttft_ms(120);
  e.set_is_stream(true);
  e.set_is_final(true);
  e.set_tool_calls(2);
  e.set_images(3);
  ToProtoTimestamp(absl::FromUnixMillis(1773144000123), e.mutable_created_at());
  return e;
}

TEST(ToLogRowTest, KeepsEveryFieldOfAGoodEventAndMakesTheWritersTexts) {
  const v1::CallEvent e = GoodEvent();
  absl::StatusOr<LogRow> r = ToLogRow(e, absl::FixedTimeZone(14 * 3600), absl::UnixEpoch());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->cached_prompt_tokens, 300);
  EXPECT_EQ(r->reasoning_tokens, 50);
  EXPECT_EQ(r->tool_calls, 2);
  EXPECT_EQ(r->images, 3);
  EXPECT_TRUE(r->success);
  EXPECT_EQ(r->error_code, "");
  // 12:00 UTC is the next day at UTC+14.
  EXPECT_EQ(r->stat_date, absl::CivilDay(2026, 3, 11));
  EXPECT_EQ(r->created_at_text, "2026-03-10 12:00:00.123");
  EXPECT_EQ(r->cost_text, "0.123456789");
  v1::CallEvent back;
  ToCallEvent(*r, &back);
  EXPECT_EQ(back.DebugString(), e.DebugString());
}

TEST(ToLogRowTest, AFailureKeepsItsCodeAndMessageAndReadsBackAsItsOutcome) {
  v1::CallEvent e = GoodEvent();
  e.set_outcome(v1::RATE_LIMITED);
  e.set_http_status(429);
  e.set_error_code("HTTP_429");
  e.set_error_message("slow down");
  absl::StatusOr<LogRow> r = ToLogRow(e, absl::UTCTimeZone(), absl::UnixEpoch());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->success);
  EXPECT_EQ(r->error_code, "HTTP_429");
  EXPECT_EQ(r->error_message, "slow down");
  v1::CallEvent back;
  ToCallEvent(*r, &back);
  EXPECT_EQ(back.DebugString(), e.DebugString());
}

TEST(ToLogRowTest, RefusesWhatCannotBeStoredFaithfullyNamingTheField) {
  struct Case {
    void (*spoil)(v1::CallEvent&);
    std::string message;
  };
  const Case cases[] = {
      {[](v1::CallEvent& e) { e.clear_request_id(); }, "request_id is required"},
      {[](v1::CallEvent& e) { e.set_provider_code(std::string(65, 'p')); },
       "provider_code is longer than 64 characters"},
      {[](v1::CallEvent& e) { e.set_model("bad\xff"); }, "model is not valid UTF-8 text"},
      {[](v1::CallEvent& e) { e.set_attempt(0); },
       "attempt must be 1 or more (it is 1-based), got 0"},
      {[](v1::CallEvent& e) { e.set_outcome(v1::RELEASED); },
       "outcome RELEASED is for giving back an unused lease, not for a call event"},
      {[](v1::CallEvent& e) { e.mutable_usage()->set_reasoning_tokens(-1); },
       "usage.reasoning_tokens must not be negative, got -1"},
      {[](v1::CallEvent& e) { e.mutable_usage()->set_total_tokens(kMaxTokensPerEvent + 1); },
       absl::StrCat("usage.total_tokens is ", kMaxTokensPerEvent + 1,
                    ", more than any one call reaches (at most ", kMaxTokensPerEvent,
                    "): refused so that the daily sums cannot overflow")},
      {[](v1::CallEvent& e) { e.set_ttft_ms(-3); }, "ttft_ms must not be negative, got -3"},
      {[](v1::CallEvent& e) { e.set_provider_id(-1); }, "provider_id must not be negative, got -1"},
      {[](v1::CallEvent& e) { e.set_tool_calls(-2); }, "tool_calls must not be negative, got -2"},
      {[](v1::CallEvent& e) { e.set_images(-1); }, "images must not be negative, got -1"},
      {[](v1::CallEvent& e) { e.mutable_created_at()->set_seconds(253402300800); },
       "created_at (253402300800 s) is outside the years 1970..9999"},
  };
  for (const Case& c : cases) {
    v1::CallEvent e = GoodEvent();
    c.spoil(e);
    absl::StatusOr<LogRow> r = ToLogRow(e, absl::UTCTimeZone(), absl::UnixEpoch());
    ASSERT_FALSE(r.ok()) << c.message;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(r.status().message(), c.message);
  }
}

TEST(ToLogRowTest, TheFirstProblemInFieldOrderIsTheOneNamed) {
  v1::CallEvent e = GoodEvent();
  e.set_attempt(0);
  e.set_outcome(v1::OUTCOME_UNSPECIFIED);
  e.set_cost_nanos(-1);
  absl::StatusOr<LogRow> r = ToLogRow(e, absl::UTCTimeZone(), absl::UnixEpoch());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "attempt must be 1 or more (it is 1-based), got 0");
}

TEST(ToLogRowTest, AMissingCreatedAtIsNowToTheMillisecond) {
  v1::CallEvent e = GoodEvent();
  e.clear_created_at();
  const absl::Time now = absl::FromUnixMicros(1773144000123456);
  absl::StatusOr<LogRow> r = ToLogRow(e, absl::UTCTimeZone(), now);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->created_at, absl::FromUnixMillis(1773144000123));
}

}  // namespace
}  // namespace aigw::usage
