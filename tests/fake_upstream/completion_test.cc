#include "tools/fake-upstream/completion.h"

#include "gtest/gtest.h"

namespace aigw::fake_upstream {
namespace {

TEST(CompletionTest, CountsWordsPlusThreePerMessage) {
  absl::StatusOr<ChatRequest> request = ParseChatRequest(ApiFormat::kOpenAi, R"({
    "model": "gpt-4o",
    "messages": [
      {"role": "system", "content": "You are terse."},
      {"role": "user", "content": "hello  big\nworld"}
    ]})");
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->model, "gpt-4o");
  EXPECT_FALSE(request->stream);
  EXPECT_EQ(request->prompt_tokens, (3 + 3) + (3 + 3));
  EXPECT_EQ(request->last_user_message, "hello  big\nworld");
}

TEST(CompletionTest, AnthropicSystemAndContentBlocksCount) {
  absl::StatusOr<ChatRequest> request = ParseChatRequest(ApiFormat::kAnthropic, R"({
    "model": "claude", "max_tokens": 100, "stream": true,
    "system": [{"type": "text", "text": "be brief"}],
    "messages": [
      {"role": "user", "content": [{"type": "text", "text": "one two"},
                                   {"type": "image", "source": {}},
                                   {"type": "text", "text": "three"}]}
    ]})");
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_TRUE(request->stream);
  EXPECT_EQ(request->max_tokens, 100);
  EXPECT_EQ(request->prompt_tokens, (2 + 3) + (3 + 3));
  EXPECT_EQ(request->last_user_message, "one two three");
}

TEST(CompletionTest, ReadsStreamOptionsAndMaxCompletionTokens) {
  absl::StatusOr<ChatRequest> request = ParseChatRequest(ApiFormat::kOpenAi, R"({
    "model": "m", "stream": true, "stream_options": {"include_usage": true},
    "max_completion_tokens": 7, "messages": [{"role": "user", "content": "x"}]})");
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_TRUE(request->include_usage);
  EXPECT_EQ(request->max_tokens, 7);
}

TEST(CompletionTest, RejectsWhatProvidersReject) {
  struct Case {
    ApiFormat format;
    const char* body;
    const char* message;
  };
  const Case cases[] = {
      {ApiFormat::kOpenAi, "not json", "We could not parse the JSON body"},
      {ApiFormat::kOpenAi, R"({"messages":[{"role":"user","content":"x"}]})",
       "you must provide a model parameter"},
      {ApiFormat::kOpenAi, R"({"model":"m"})", "Missing required parameter: 'messages'."},
      {ApiFormat::kOpenAi, R"({"model":"m","messages":[]})", "too short"},
      {ApiFormat::kAnthropic, R"({"model":"m","messages":[{"role":"user","content":"x"}]})",
       "max_tokens: Field required"},
      {ApiFormat::kAnthropic,
       R"({"model":"m","max_tokens":0,"messages":[{"role":"user","content":"x"}]})", "max_tokens"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<ChatRequest> request = ParseChatRequest(c.format, c.body);
    ASSERT_FALSE(request.ok()) << c.body;
    EXPECT_EQ(request.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(request.status().message().find(c.message), absl::string_view::npos)
        << request.status();
  }
}

TEST(CompletionTest, EchoesLastUserMessageWordByWord) {
  ChatRequest request;
  request.model = "gpt-4o";
  request.last_user_message = "  hello   big world ";
  request.prompt_tokens = 9;
  Completion c = MakeCompletion(request, std::nullopt, {});
  EXPECT_EQ(c.content, "echo: hello big world");
  EXPECT_EQ(c.content_deltas, (std::vector<std::string>{"echo:", " hello", " big", " world"}));
  EXPECT_EQ(c.finish_reason, "stop");
  EXPECT_TRUE(c.reasoning_content.empty());
  EXPECT_EQ(c.usage.prompt_tokens, 9);
  EXPECT_EQ(c.usage.completion_tokens, 4);
  EXPECT_EQ(c.usage.reasoning_tokens, 0);
  EXPECT_EQ(c.usage.cached_tokens, 0);
}

TEST(CompletionTest, MaxTokensCutsTheReply) {
  ChatRequest request;
  request.model = "gpt-4o";
  request.last_user_message = "a b c d";
  request.max_tokens = 3;
  Completion c = MakeCompletion(request, std::nullopt, {});
  EXPECT_EQ(c.content, "echo: a b");
  EXPECT_EQ(c.finish_reason, "length");
  EXPECT_EQ(c.usage.completion_tokens, 3);
}

TEST(CompletionTest, ReasonerThinksFirstAndCountsIt) {
  ChatRequest request;
  request.model = "deepseek-reasoner";
  request.last_user_message = "why";
  Completion c = MakeCompletion(request, std::nullopt, {});
  EXPECT_EQ(c.reasoning_content, "Reasoning about: why");
  EXPECT_EQ(c.reasoning_deltas.size(), 3u);
  EXPECT_EQ(c.usage.reasoning_tokens, 3);
  EXPECT_EQ(c.usage.completion_tokens, 2 + 3);
}

TEST(CompletionTest, OverridesReplaceOnlyTheFieldsGiven) {
  ChatRequest request;
  request.model = "gpt-4o";
  request.last_user_message = "hi";
  request.prompt_tokens = 4;
  UsageOverride usage;
  usage.cached_tokens = 1000;
  usage.completion_tokens = 77;
  Completion c = MakeCompletion(request, std::string("fixed reply text"), usage);
  EXPECT_EQ(c.content, "fixed reply text");
  EXPECT_EQ(c.usage.prompt_tokens, 4);
  EXPECT_EQ(c.usage.completion_tokens, 77);
  EXPECT_EQ(c.usage.cached_tokens, 1000);
  EXPECT_EQ(c.usage.cache_creation_tokens, 0);
}

TEST(CompletionTest, RecognisesDeepSeekModels) {
  EXPECT_TRUE(IsDeepSeekModel("deepseek-chat"));
  EXPECT_TRUE(IsDeepSeekModel("DeepSeek-V3"));
  EXPECT_FALSE(IsDeepSeekModel("gpt-4o"));
  EXPECT_TRUE(IsReasonerModel("deepseek-reasoner"));
  EXPECT_FALSE(IsReasonerModel("deepseek-chat"));
}

}  // namespace
}  // namespace aigw::fake_upstream
