#include "libs/providers/adapter.h"

#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "libs/common/clock.h"
#include "libs/providers/stream_accumulator.h"
#include "tests/providers/fixtures.h"

namespace aigw::providers {
namespace {

TEST(AdapterForTest, FormatsAndAliases) {
  EXPECT_EQ(AdapterFor("openai").api_format(), "openai");
  EXPECT_EQ(AdapterFor("OpenAI").api_format(), "openai");
  EXPECT_EQ(AdapterFor("deepseek").api_format(), "openai");
  EXPECT_EQ(AdapterFor("custom").api_format(), "openai");
  EXPECT_EQ(AdapterFor("anthropic").api_format(), "anthropic");
  EXPECT_EQ(AdapterFor("Anthropic").api_format(), "anthropic");
  EXPECT_EQ(FindAdapter("gemini"), nullptr);
  EXPECT_EQ(AdapterFor("gemini").api_format(), "openai");
  EXPECT_EQ(&AdapterFor("openai"), &AdapterFor("deepseek"));  // one shared instance
}

TEST(JoinUrlTest, Variants) {
  EXPECT_EQ(JoinUrl("https://api.openai.com/v1", "/chat/completions"),
            "https://api.openai.com/v1/chat/completions");
  EXPECT_EQ(JoinUrl(" https://api.deepseek.com/ ", "/chat/completions"),
            "https://api.deepseek.com/chat/completions");
  EXPECT_EQ(JoinUrl("https://api.anthropic.com/v1", "/v1/messages"),
            "https://api.anthropic.com/v1/messages");
  EXPECT_EQ(JoinUrl("https://gw.example/anthropic", "/v1/messages"),
            "https://gw.example/anthropic/v1/messages");
}

TEST(ParseErrorTest, OpenAiRateLimitWithRetryAfterSeconds) {
  UpstreamError e = AdapterFor("openai").ParseError(
      429,
      R"({"error":{"message":"Rate limit reached for gpt-4o in organization org-abc on tokens per min (TPM): Limit 30000, Used 29000, Requested 2000. Please try again in 2s.","type":"tokens","param":null,"code":"rate_limit_exceeded"}})",
      "2");
  EXPECT_EQ(e.http_status, 429);
  EXPECT_EQ(e.type, "tokens");
  EXPECT_EQ(e.code, "rate_limit_exceeded");
  EXPECT_TRUE(e.message.starts_with("Rate limit reached for gpt-4o"));
  EXPECT_EQ(e.retry_after_ms, 2000);
}

TEST(ParseErrorTest, OpenAiInvalidKeyWithoutRetryAfter) {
  UpstreamError e = AdapterFor("openai").ParseError(
      401,
      R"({
    "error": {
        "message": "Incorrect API key provided: sk-abc***. You can find your API key at https://platform.openai.com/account/api-keys.",
        "type": "invalid_request_error",
        "param": null,
        "code": "invalid_api_key"
    }
})",
      "");
  EXPECT_EQ(e.http_status, 401);
  EXPECT_EQ(e.type, "invalid_request_error");
  EXPECT_EQ(e.code, "invalid_api_key");
  EXPECT_FALSE(e.retry_after_ms.has_value());
}

TEST(ParseErrorTest, DeepSeekInsufficientBalanceAndNumericCode) {
  UpstreamError e = AdapterFor("deepseek").ParseError(
      402,
      R"({"error":{"message":"Insufficient Balance","type":"unknown_error","param":null,"code":"invalid_request_error"}})",
      "");
  EXPECT_EQ(e.message, "Insufficient Balance");
  EXPECT_EQ(e.type, "unknown_error");
  EXPECT_EQ(e.code, "invalid_request_error");
  // Some OpenAI-compatible servers send the code as a number.
  e = AdapterFor("custom").ParseError(400, R"({"error":{"message":"bad","code":40001}})", "");
  EXPECT_EQ(e.code, "40001");
}

TEST(ParseErrorTest, AnthropicOverloadedAndRateLimited) {
  UpstreamError e = AdapterFor("anthropic").ParseError(
      529,
      R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_011CX7J5ZXp3npD8nY7VYZvm"})",
      "");
  EXPECT_EQ(e.http_status, 529);
  EXPECT_EQ(e.type, "overloaded_error");
  EXPECT_EQ(e.message, "Overloaded");
  EXPECT_EQ(e.code, "");

  e = AdapterFor("anthropic").ParseError(
      429,
      R"({"type":"error","error":{"type":"rate_limit_error","message":"Number of request tokens has exceeded your per-minute rate limit"}})",
      "30");
  EXPECT_EQ(e.type, "rate_limit_error");
  EXPECT_EQ(e.retry_after_ms, 30000);
}

TEST(ParseErrorTest, RetryAfterAsHttpDateUsesTheClock) {
  ManualClock clock(absl::FromUnixSeconds(784111777));  // Sun, 06 Nov 1994 08:49:37 GMT
  UpstreamError e = AdapterFor("anthropic").ParseError(
      429, "{}", "Sun, 06 Nov 1994 08:50:22 GMT", &clock);
  EXPECT_EQ(e.retry_after_ms, 45000);
  clock.Advance(absl::Minutes(5));  // the date has passed: retry now
  e = AdapterFor("anthropic").ParseError(429, "{}", "Sun, 06 Nov 1994 08:50:22 GMT", &clock);
  EXPECT_EQ(e.retry_after_ms, 0);
  e = AdapterFor("anthropic").ParseError(429, "{}", "soon", &clock);
  EXPECT_FALSE(e.retry_after_ms.has_value());
}

TEST(ParseErrorTest, NonJsonBodiesFallBackToText) {
  UpstreamError e = AdapterFor("openai").ParseError(
      502, "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n</html>\r\n", "");
  EXPECT_EQ(e.http_status, 502);
  EXPECT_EQ(e.type, "");
  EXPECT_EQ(e.message, "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n</html>");

  e = AdapterFor("anthropic").ParseError(503, "", "");
  EXPECT_EQ(e.message, "HTTP 503");

  // A long body is cut, and never inside a UTF-8 character.
  std::string long_body(511, 'x');
  long_body += "\xE4\xBD\xA0\xE5\xA5\xBD";  // 你好 straddles byte 512
  e = AdapterFor("openai").ParseError(500, long_body, "");
  EXPECT_EQ(e.message, std::string(511, 'x'));
}

TEST(ParseErrorTest, OtherJsonShapes) {
  UpstreamError e = AdapterFor("custom").ParseError(400, R"({"error":"model not loaded"})", "");
  EXPECT_EQ(e.message, "model not loaded");
  e = AdapterFor("custom").ParseError(422, R"({"detail":"Field required"})", "");
  EXPECT_EQ(e.message, "Field required");
  e = AdapterFor("custom").ParseError(500, R"({"message":"boom","type":"internal"})", "");
  EXPECT_EQ(e.message, "boom");
  EXPECT_EQ(e.type, "internal");
  // JSON without any message: the raw body is the best text there is.
  e = AdapterFor("custom").ParseError(500, R"({"status":500})", "");
  EXPECT_EQ(e.message, R"({"status":500})");
}

TEST(StatusForErrorTypeTest, Mapping) {
  EXPECT_EQ(StatusForErrorType("overloaded_error", ""), 529);
  EXPECT_EQ(StatusForErrorType("rate_limit_error", ""), 429);
  EXPECT_EQ(StatusForErrorType("requests", "rate_limit_exceeded"), 429);
  EXPECT_EQ(StatusForErrorType("authentication_error", ""), 401);
  EXPECT_EQ(StatusForErrorType("invalid_request_error", "invalid_api_key"), 401);
  EXPECT_EQ(StatusForErrorType("permission_error", ""), 403);
  EXPECT_EQ(StatusForErrorType("not_found_error", ""), 404);
  EXPECT_EQ(StatusForErrorType("invalid_request_error", ""), 400);
  EXPECT_EQ(StatusForErrorType("api_error", ""), 500);
  EXPECT_EQ(StatusForErrorType("server_error", ""), 500);
}

TEST(StreamAccumulatorTest, BuildsTheCompletionOfAStream) {
  for (const auto& [format, stream] :
       std::vector<std::pair<const char*, const char*>>{{"openai", fixtures::kOpenAiStream},
                                                         {"openai", fixtures::kDeepSeekStream},
                                                         {"anthropic", fixtures::kAnthropicStream}}) {
    std::unique_ptr<StreamParser> parser = AdapterFor(format).NewStreamParser();
    std::vector<StreamEvent> events;
    ASSERT_TRUE(parser->Feed(stream, &events).ok());
    StreamAccumulator acc;
    for (const StreamEvent& e : events) acc.Add(e);
    EXPECT_TRUE(acc.done());
    EXPECT_FALSE(acc.error().has_value());
    EXPECT_TRUE(acc.completion().has_usage);
    EXPECT_EQ(acc.completion().finish_reason, "stop");
    EXPECT_GT(acc.deltas(), 1);
  }
}

TEST(StreamAccumulatorTest, StreamAndNonStreamAgree) {
  // The Anthropic fixtures describe the same usage; the accumulated stream
  // and the parsed response must normalise it identically.
  std::unique_ptr<StreamParser> parser = AdapterFor("anthropic").NewStreamParser();
  std::vector<StreamEvent> events;
  ASSERT_TRUE(parser->Feed(fixtures::kAnthropicStream, &events).ok());
  StreamAccumulator acc;
  for (const StreamEvent& e : events) acc.Add(e);
  absl::StatusOr<Completion> response = AdapterFor("anthropic").ParseResponse(fixtures::kAnthropicResponse);
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(acc.completion().usage, response->usage);
  EXPECT_EQ(acc.completion().content, "27 \xC3\x97 453 = 12,231 \xE2\x9C\x94");
  EXPECT_EQ(acc.completion().reasoning_content, "Let me think:\n\n1. 27 * 453 = 12,231");
  EXPECT_EQ(acc.completion().id, "msg_01DfGoUwMtftE8VM22axQ2Jc");

  parser = AdapterFor("openai").NewStreamParser();
  events.clear();
  ASSERT_TRUE(parser->Feed(fixtures::kDeepSeekStream, &events).ok());
  StreamAccumulator ds;
  for (const StreamEvent& e : events) ds.Add(e);
  response = AdapterFor("openai").ParseResponse(fixtures::kDeepSeekReasonerResponse);
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(ds.completion().usage, response->usage);
  EXPECT_EQ(ds.completion().model, "deepseek-reasoner");
}

TEST(StreamAccumulatorTest, KeepsTheFirstError) {
  std::unique_ptr<StreamParser> parser = AdapterFor("anthropic").NewStreamParser();
  std::vector<StreamEvent> events;
  ASSERT_TRUE(parser->Feed(fixtures::kAnthropicErrorStream, &events).ok());
  StreamAccumulator acc;
  for (const StreamEvent& e : events) acc.Add(e);
  EXPECT_FALSE(acc.done());
  ASSERT_TRUE(acc.error().has_value());
  EXPECT_EQ(acc.error()->type, "overloaded_error");
  EXPECT_EQ(acc.completion().content, "Hel");
}

TEST(StreamAccumulatorTest, AssemblesToolCallsFromTheirPieces) {
  auto piece = [](int index, std::string id, std::string name, std::string args) {
    StreamEvent e;
    e.kind = StreamEvent::Kind::kToolCall;
    e.tool_call = ToolCallDelta{index, std::move(id), std::move(name), std::move(args)};
    return e;
  };
  StreamAccumulator acc;
  acc.Add(piece(0, "call_a", "get_weather", ""));
  acc.Add(piece(0, "", "", R"({"city":)"));
  acc.Add(piece(1, "call_b", "get_time", R"({"tz":"UTC"})"));
  acc.Add(piece(0, "", "", R"("Paris"})"));
  acc.Add(piece(7, "call_x", "skipped", "{}"));  // not the next index: ignored
  acc.Add(piece(-1, "call_y", "skipped", "{}"));
  EXPECT_EQ(acc.completion().tool_calls,
            (std::vector<ToolCall>{{"call_a", "get_weather", R"({"city":"Paris"})"},
                                   {"call_b", "get_time", R"({"tz":"UTC"})"}}));
  EXPECT_EQ(acc.deltas(), 0);  // tool pieces are not text deltas
}

// Random corruption of real bodies must give OK or an error status, never a
// crash (run under ASan/UBSan to make this stronger).
TEST(RobustnessTest, MutatedBodiesNeverCrash) {
  std::mt19937 rng(12345);
  const std::vector<std::pair<const char*, std::string>> inputs = {
      {"openai", fixtures::kOpenAiResponse},      {"openai", fixtures::kDeepSeekReasonerResponse},
      {"anthropic", fixtures::kAnthropicResponse}, {"openai", fixtures::kOpenAiStream},
      {"openai", fixtures::kDeepSeekStream},       {"anthropic", fixtures::kAnthropicStream}};
  const std::string alphabet = "{}[]\":,\\nul0-9e.\n\r ";
  int ok = 0;
  int failed = 0;
  for (const auto& [format, original] : inputs) {
    const ProviderAdapter& adapter = AdapterFor(format);
    for (int round = 0; round < 400; ++round) {
      std::string body = original;
      int edits = 1 + round % 8;
      for (int i = 0; i < edits; ++i) {
        size_t pos = std::uniform_int_distribution<size_t>(0, body.size() - 1)(rng);
        switch (rng() % 3) {
          case 0: body[pos] = alphabet[rng() % alphabet.size()]; break;
          case 1: body.erase(pos, 1 + rng() % 16); break;
          default: body.insert(pos, 1, alphabet[rng() % alphabet.size()]); break;
        }
      }
      absl::StatusOr<Completion> c = adapter.ParseResponse(body);
      (c.ok() ? ok : failed)++;
      std::unique_ptr<StreamParser> parser = adapter.NewStreamParser();
      std::vector<StreamEvent> events;
      (parser->Feed(body, &events).ok() ? ok : failed)++;
      UpstreamError e = adapter.ParseError(500, body, "");
      EXPECT_FALSE(e.message.empty());
    }
  }
  // Both outcomes occur, so the corpus really exercised the error paths.
  EXPECT_GT(ok, 0);
  EXPECT_GT(failed, 0);
}

}  // namespace
}  // namespace aigw::providers
