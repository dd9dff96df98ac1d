// Call events and keypool reports made storable before they are queued.

#include "services/gateway/event_sanitizer.h"

#include <cstdint>
#include <string>

#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "libs/common/utf8.h"
#include "services/usage/call_log_row.h"

namespace aigw::gateway {
namespace {

std::string Repeat(const std::string& piece, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += piece;
  return out;
}

aigw::v1::CallEvent Event() {
  aigw::v1::CallEvent e;
  e.set_request_id("req-1");
  e.set_attempt(1);
  e.set_provider_code("openai");
  e.set_model("gpt-4o");
  e.set_outcome(aigw::v1::CLIENT_ERROR);
  e.set_http_status(400);
  return e;
}

TEST(EventSanitizerTest, AnOrdinaryEventIsLeftAlone) {
  aigw::v1::CallEvent e = Event();
  e.set_error_message("请求参数错误 (invalid_request_error)");
  e.mutable_caller()->set_user_agent("curl/8.0 🚀");
  const aigw::v1::CallEvent before = e;
  EXPECT_FALSE(MakeStorable(&e));
  EXPECT_EQ(e.SerializeAsString(), before.SerializeAsString());
}

TEST(EventSanitizerTest, ErrorTextIsCutBetweenCharacters) {
  aigw::v1::CallEvent e = Event();
  // What the pipeline used to record: 1000 bytes of Chinese, cut inside
  // the 334th character.
  const std::string chinese = Repeat("请", 600);
  e.set_error_message(chinese.substr(0, 1000));
  EXPECT_TRUE(MakeStorable(&e));
  EXPECT_EQ(e.error_message(), chinese.substr(0, 999));
  e.set_error_message(chinese);  // whole: cut to the byte bound too
  EXPECT_TRUE(MakeStorable(&e));
  EXPECT_EQ(e.error_message().size(), 999u);
  EXPECT_TRUE(IsValidUtf8(e.error_message()));
}

TEST(EventSanitizerTest, EveryTextFieldIsValidAndFitsItsColumn) {
  aigw::v1::CallEvent e = Event();
  e.set_request_id(std::string(100, 'r'));
  e.set_provider_code(std::string("open\0ai", 7));
  e.set_model(Repeat("模", 200));
  e.set_error_code("\xFF\xFE" + std::string(100, 'c'));
  e.mutable_caller()->set_user_id(std::string(2 << 20, 'u'));
  e.mutable_caller()->set_ip_address(Repeat("1", 100));
  e.mutable_caller()->set_user_agent(Repeat("é", 2000));
  EXPECT_TRUE(MakeStorable(&e));
  EXPECT_EQ(e.request_id(), std::string(64, 'r'));
  EXPECT_EQ(e.provider_code(), "openai");
  EXPECT_EQ(e.model(), Repeat("模", 128));
  EXPECT_EQ(Utf8Length(e.error_code()), 64u);
  EXPECT_EQ(e.caller().user_id().size(), 128u);
  EXPECT_EQ(e.caller().ip_address().size(), 64u);
  EXPECT_EQ(e.caller().user_agent(), Repeat("é", 512));
  // Usage takes it as it is: nothing refused, nothing cut further.
  absl::StatusOr<usage::LogRow> row = usage::ToLogRow(e, absl::UTCTimeZone(), absl::Now());
  ASSERT_TRUE(row.ok()) << row.status();
  EXPECT_EQ(row->request_id, e.request_id());
  EXPECT_EQ(row->model, e.model());
  EXPECT_EQ(row->user_agent, e.caller().user_agent());
  EXPECT_EQ(row->error_code, e.error_code());
}

TEST(EventSanitizerTest, NegativeFiguresBecomeZero) {
  aigw::v1::CallEvent e = Event();
  e.set_attempt(0);
  e.set_latency_ms(-3);  // the wall clock stepped back during the attempt
  e.set_ttft_ms(-1);
  e.mutable_usage()->set_prompt_tokens(-5);
  EXPECT_TRUE(MakeStorable(&e));
  EXPECT_EQ(e.attempt(), 1);
  EXPECT_EQ(e.latency_ms(), 0);
  EXPECT_EQ(e.ttft_ms(), 0);
  EXPECT_EQ(e.usage().prompt_tokens(), 0);
  EXPECT_TRUE(usage::ToLogRow(e, absl::UTCTimeZone(), absl::Now()).ok());
}

// Found by fuzz/event_sanitizer: a provider's usage of more than ten
// billion tokens (or what such a count costs) went into the event as it
// was, and usage refused the event, so the call never reached the log.
TEST(EventSanitizerTest, FiguresBeyondAnyCallAreCappedToWhatUsageTakes) {
  aigw::v1::CallEvent e = Event();
  e.set_outcome(aigw::v1::SUCCESS);
  e.mutable_usage()->set_prompt_tokens(3942255732722833175);
  e.mutable_usage()->set_completion_tokens(usage::kMaxTokensPerEvent + 1);
  e.mutable_usage()->set_total_tokens(INT64_MAX);
  e.mutable_usage()->set_reasoning_tokens(usage::kMaxTokensPerEvent);
  e.set_cost_nanos(INT64_MAX);
  EXPECT_TRUE(MakeStorable(&e));
  EXPECT_EQ(e.usage().prompt_tokens(), usage::kMaxTokensPerEvent);
  EXPECT_EQ(e.usage().completion_tokens(), usage::kMaxTokensPerEvent);
  EXPECT_EQ(e.usage().total_tokens(), usage::kMaxTokensPerEvent);
  EXPECT_EQ(e.usage().reasoning_tokens(), usage::kMaxTokensPerEvent);
  EXPECT_EQ(e.cost_nanos(), usage::kMaxCostNanosPerEvent);
  absl::StatusOr<usage::LogRow> row = usage::ToLogRow(e, absl::UTCTimeZone(), absl::Now());
  EXPECT_TRUE(row.ok()) << row.status();
  EXPECT_FALSE(MakeStorable(&e));
}

TEST(EventSanitizerTest, AReportCarriesValidBoundedErrorText) {
  aigw::v1::ReportUsageRequest r;
  r.set_lease_id("lease-1");
  r.set_error_message(Repeat("错", 600).substr(0, 1000));
  r.set_total_tokens(-1);
  EXPECT_TRUE(MakeSendable(&r));
  EXPECT_EQ(r.error_message().size(), 999u);
  EXPECT_TRUE(IsValidUtf8(r.error_message()));
  EXPECT_EQ(r.total_tokens(), 0);
  EXPECT_FALSE(MakeSendable(&r));
  // The keypool adds these up (prompt + completion when there is no total).
  r.set_prompt_tokens(INT64_MAX);
  r.set_completion_tokens(INT64_MAX);
  EXPECT_TRUE(MakeSendable(&r));
  EXPECT_EQ(r.prompt_tokens(), usage::kMaxTokensPerEvent);
  EXPECT_EQ(r.completion_tokens(), usage::kMaxTokensPerEvent);
}

}  // namespace
}  // namespace aigw::gateway
