// One provider call's reading of its answer: what each kind of failure comes
// to (outcome, next step, error code, the client's status) and that the
// key never leaves in the provider's words.
#include "libs/providers/provider_call.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace aigw::providers {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kKey[] = "sk-proj-0123456789abcdef";

class ProviderCallTest : public ::testing::Test {
 protected:
  ManualClock clock_;
  ProviderCall call_{AdapterFor("openai"), "openai", kKey, &clock_};

  static HttpAnswer Answer(int status, std::string body, std::string retry_after = "") {
    return HttpAnswer{absl::OkStatus(), status, std::move(retry_after), std::move(body)};
  }
};

TEST_F(ProviderCallTest, BuildsTheAdaptersRequestWithTheKey) {
  ChatParams p;
  p.model = "gpt-4o";
  p.messages.push_back({"user", "hi", ""});
  const http::HttpRequest r = call_.BuildChat(p, "https://api.openai.com/v1");
  EXPECT_EQ(r.url, "https://api.openai.com/v1/chat/completions");
  EXPECT_THAT(r.headers, ::testing::Contains(std::pair<std::string, std::string>(
                             "Authorization", absl::StrCat("Bearer ", kKey))));
  EXPECT_EQ(call_.BuildListModels("https://api.openai.com/v1").url,
            "https://api.openai.com/v1/models");
}

TEST_F(ProviderCallTest, ASuccessCarriesTheCompletion) {
  const AttemptResult r = call_.ReadChat(Answer(
      200, R"({"id":"c1","choices":[{"message":{"content":"hi"},"finish_reason":"stop"}]})"));
  ASSERT_TRUE(r.ok()) << r.failure;
  EXPECT_EQ(r.completion.content, "hi");
  EXPECT_EQ(r.http_status, 200);
}

TEST_F(ProviderCallTest, EachErrorAnswerIsTypedAndMappedToAStatus) {
  struct Case {
    int status;
    std::string body;
    aigw::v1::Outcome outcome;
    NextStep next;
    absl::StatusCode code;
  } cases[] = {
      {500, R"({"error":{"type":"server_error","message":"m"}})", aigw::v1::SERVER_ERROR,
       NextStep::kRetrySameKey, absl::StatusCode::kUnavailable},
      {429, R"({"error":{"type":"requests","message":"m"}})", aigw::v1::RATE_LIMITED,
       NextStep::kRetryOtherKey, absl::StatusCode::kResourceExhausted},
      {401, R"({"error":{"type":"x","message":"m"}})", aigw::v1::AUTH_FAILED,
       NextStep::kRetryOtherKey, absl::StatusCode::kUnauthenticated},
      {403, R"({"error":{"type":"permission_error","message":"m"}})",
       aigw::v1::PERMISSION_DENIED, NextStep::kRetryOtherKey,
       absl::StatusCode::kPermissionDenied},
      {403, R"({"error":{"code":"unsupported_country_region_territory","message":"m"}})",
       aigw::v1::PERMISSION_DENIED, NextStep::kNextTarget, absl::StatusCode::kPermissionDenied},
      {404, R"({"error":{"type":"x","message":"m"}})", aigw::v1::CLIENT_ERROR,
       NextStep::kGiveUp, absl::StatusCode::kNotFound},
      {422, "", aigw::v1::CLIENT_ERROR, NextStep::kGiveUp, absl::StatusCode::kInvalidArgument},
      {402, "", aigw::v1::CLIENT_ERROR, NextStep::kGiveUp,
       absl::StatusCode::kFailedPrecondition},
      {302, "", aigw::v1::SERVER_ERROR, NextStep::kNextTarget, absl::StatusCode::kUnavailable},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(absl::StrCat(c.status, " ", c.body));
    const AttemptResult r = call_.ReadChat(Answer(c.status, c.body));
    EXPECT_EQ(r.outcome, c.outcome);
    EXPECT_EQ(r.next, c.next);
    EXPECT_EQ(r.failure.code(), c.code);
    EXPECT_EQ(r.http_status, c.status);
    EXPECT_THAT(std::string(r.failure.message()), ::testing::StartsWith("openai"));
  }
}

TEST_F(ProviderCallTest, TransportFailuresAndBoundsHaveTheirOwnCodes) {
  AttemptResult r = call_.ReadChat({absl::DeadlineExceededError("t"), 0, "", ""});
  EXPECT_EQ(r.outcome, aigw::v1::NETWORK_ERROR);
  EXPECT_EQ(r.error_code, error_code::kTimeout);
  EXPECT_EQ(r.failure.code(), absl::StatusCode::kDeadlineExceeded);
  r = call_.ReadChat({absl::UnavailableError("reset"), 0, "", ""});
  EXPECT_EQ(r.error_code, "NETWORK_ERROR");
  EXPECT_EQ(r.failure.message(), "openai unreachable: reset");
  r = call_.ReadChat({absl::ResourceExhaustedError("body over 8 MiB"), 200, "", ""});
  EXPECT_EQ(r.error_code, error_code::kResponseTooLarge);
  EXPECT_EQ(r.next, NextStep::kNextTarget);
  r = call_.ReadChat(Answer(200, "not json"));
  EXPECT_EQ(r.error_code, error_code::kBadResponse);
  EXPECT_EQ(r.next, NextStep::kRetrySameKey);
}

TEST_F(ProviderCallTest, RetryAfterIsReadFromTheHeader) {
  const AttemptResult r =
      call_.ReadChat(Answer(429, R"({"error":{"type":"requests","message":"m"}})", "7"));
  EXPECT_EQ(r.retry_after_ms, 7000);
}

TEST_F(ProviderCallTest, TheKeyQuotedBackIsScrubbed) {
  const std::string body =
      absl::StrCat(R"({"error":{"type":"invalid_request_error","message":"Incorrect API key )",
                   kKey, R"("}})");
  const AttemptResult r = call_.ReadChat(Answer(401, body));
  EXPECT_THAT(std::string(r.failure.message()), Not(HasSubstr("0123456789")));
  EXPECT_THAT(std::string(r.failure.message()), HasSubstr("Incorrect API key"));
  EXPECT_THAT(call_.ReadError(Answer(401, body)).message, Not(HasSubstr("0123456789")));
}

TEST_F(ProviderCallTest, AStreamEndsAsItsEventsSay) {
  auto feed = [](absl::string_view bytes) {
    StreamAccumulator acc;
    std::vector<StreamEvent> events;
    auto parser = AdapterFor("openai").NewStreamParser();
    EXPECT_TRUE(parser->Feed(bytes, &events).ok());
    for (const StreamEvent& e : events) acc.Add(e);
    return acc;
  };
  StreamAccumulator whole =
      feed("data: {\"id\":\"c1\",\"choices\":[{\"delta\":{\"content\":\"A\"}}]}\n\ndata: [DONE]\n\n");
  AttemptResult r = call_.ReadStream(Answer(200, ""), whole);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.completion.content, "A");

  StreamAccumulator cut = feed("data: {\"id\":\"c1\",\"choices\":[{\"delta\":{\"content\":\"A\"}}]}\n\n");
  r = call_.ReadStream(Answer(200, ""), cut);
  EXPECT_EQ(r.error_code, error_code::kStreamInterrupted);
  EXPECT_EQ(r.outcome, aigw::v1::NETWORK_ERROR);

  StreamAccumulator error = feed(
      "data: {\"error\":{\"type\":\"server_error\",\"message\":\"overloaded\"}}\n\n");
  r = call_.ReadStream(Answer(200, ""), error);
  EXPECT_EQ(r.outcome, aigw::v1::SERVER_ERROR);
  EXPECT_EQ(r.http_status, 500);
  EXPECT_EQ(r.failure.message(), "openai failed (HTTP 500): server_error: overloaded");
}

}  // namespace
}  // namespace aigw::providers
