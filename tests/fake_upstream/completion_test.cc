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
                                   {"type": "image", "source": {"type": "url", "url": "https://x/a.png"}},
                                   {"type": "text", "text": "three"}]}
    ]})");
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_TRUE(request->stream);
  EXPECT_EQ(request->max_tokens, 100);
  EXPECT_EQ(request->prompt_tokens, (2 + 3) + (3 + 3 + kTokensPerImage));
  EXPECT_EQ(request->last_user_message, "one two three");
  EXPECT_EQ(request->images, 1);
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

TEST(CompletionTest, OpenAiToolsChoiceAndImages) {
  absl::StatusOr<ChatRequest> request = ParseChatRequest(ApiFormat::kOpenAi, R"({
    "model": "gpt-4o",
    "tools": [{"type": "function", "function": {"name": "a", "parameters": {"type": "object"}}},
              {"type": "function", "function": {"name": "b"}}],
    "tool_choice": {"type": "function", "function": {"name": "b"}},
    "parallel_tool_calls": false,
    "messages": [{"role": "user", "content": [
      {"type": "text", "text": "look"},
      {"type": "image_url", "image_url": {"url": "https://x/a.png", "detail": "low"}},
      {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]}]})");
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->tool_names, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(request->tool_choice, "tool");
  EXPECT_EQ(request->tool_choice_name, "b");
  EXPECT_FALSE(request->parallel_tool_calls);
  EXPECT_EQ(request->images, 2);
  EXPECT_EQ(request->last_user_message, "look");
  EXPECT_EQ(request->prompt_tokens, 2 * kTokensPerTool + (1 + 3 + 2 * kTokensPerImage));
}

TEST(CompletionTest, OpenAiTrailingToolTurnsAreResults) {
  absl::StatusOr<ChatRequest> request = ParseChatRequest(ApiFormat::kOpenAi, R"({
    "model": "gpt-4o",
    "tools": [{"type": "function", "function": {"name": "a"}}],
    "messages": [
      {"role": "user", "content": "q"},
      {"role": "assistant", "content": null, "tool_calls": [
        {"id": "c1", "type": "function", "function": {"name": "a", "arguments": "{}"}},
        {"id": "c2", "type": "function", "function": {"name": "a", "arguments": "{}"}}]},
      {"role": "tool", "tool_call_id": "c1", "content": "one"},
      {"role": "tool", "tool_call_id": "c2", "content": "two"}]})");
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->tool_results, (std::vector<std::string>{"one", "two"}));
  Completion c = MakeCompletion(*request, std::nullopt, {});
  EXPECT_EQ(c.content, "tool results: one; two");
  EXPECT_TRUE(c.tool_calls.empty());
  EXPECT_EQ(c.finish_reason, "stop");
}

TEST(CompletionTest, AnthropicToolsToolResultsAndImages) {
  absl::StatusOr<ChatRequest> request = ParseChatRequest(ApiFormat::kAnthropic, R"({
    "model": "claude", "max_tokens": 10,
    "tools": [{"name": "a", "input_schema": {"type": "object"}}],
    "tool_choice": {"type": "any", "disable_parallel_tool_use": true},
    "messages": [
      {"role": "user", "content": [{"type": "image", "source": {"type": "base64",
        "media_type": "image/png", "data": "AAAA"}}, {"type": "text", "text": "q"}]},
      {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "a", "input": {}}]},
      {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "r1"},
                                   {"type": "text", "text": "and?"}]}]})");
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->tool_choice, "required");
  EXPECT_FALSE(request->parallel_tool_calls);
  EXPECT_EQ(request->tool_results, (std::vector<std::string>{"r1"}));
  EXPECT_EQ(request->images, 0);  // the last user turn has none
  EXPECT_EQ(MakeCompletion(*request, std::nullopt, {}).content, "tool results: r1");
}

TEST(CompletionTest, RejectsToolMisuseAsProvidersDo) {
  struct Case {
    ApiFormat format;
    const char* body;
    const char* message;
  };
  const Case cases[] = {
      {ApiFormat::kOpenAi,
       R"({"model":"m","tool_choice":"auto","messages":[{"role":"user","content":"x"}]})",
       "'tool_choice' is only allowed when 'tools' are specified"},
      {ApiFormat::kOpenAi,
       R"({"model":"m","parallel_tool_calls":true,"messages":[{"role":"user","content":"x"}]})",
       "'parallel_tool_calls' is only allowed when 'tools' are specified"},
      {ApiFormat::kOpenAi,
       R"({"model":"m","tools":[{"type":"function","function":{"name":"a"}}],
           "tool_choice":{"type":"function","function":{"name":"b"}},
           "messages":[{"role":"user","content":"x"}]})",
       "function 'b' not found"},
      {ApiFormat::kOpenAi, R"({"model":"m","messages":[{"role":"tool","content":"x"}]})",
       "must have a 'tool_call_id'"},
      {ApiFormat::kOpenAi,
       R"({"model":"m","messages":[{"role":"user","content":"x"},{"role":"tool","tool_call_id":"c","content":"x"}]})",
       "must be a response to a preceeding message with 'tool_calls'"},
      {ApiFormat::kOpenAi,
       R"({"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{}}]}]})",
       "image_url.url"},
      {ApiFormat::kOpenAi,
       R"({"model":"m","response_format":{"type":"json_schema","json_schema":{"schema":{}}},"messages":[{"role":"user","content":"x"}]})",
       "json_schema.name"},
      {ApiFormat::kAnthropic,
       R"({"model":"m","max_tokens":5,"messages":[{"role":"user","content":"q"},
           {"role":"assistant","content":[{"type":"tool_use","id":"t","name":"a","input":{}}]},
           {"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":"r"}]}]})",
       "must define tools"},
      {ApiFormat::kAnthropic,
       R"({"model":"m","max_tokens":5,"tools":[{"name":"a","input_schema":{"type":"object"}}],
           "messages":[{"role":"user","content":"q"},
           {"role":"assistant","content":[{"type":"tool_use","id":"t","name":"a","input":{}}]},
           {"role":"user","content":"no results"}]})",
       "`tool_use` ids were found without `tool_result` blocks immediately after: t"},
      {ApiFormat::kAnthropic,
       R"({"model":"m","max_tokens":5,"tools":[{"name":"a"}],"messages":[{"role":"user","content":"q"}]})",
       "tools.0.input_schema: Field required"},
      {ApiFormat::kAnthropic,
       R"({"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"base64","media_type":"image/tiff","data":"AA"}}]}]})",
       "media_type"},
      {ApiFormat::kAnthropic,
       R"({"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"text","text":""}]}]})",
       "text content blocks must be non-empty"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<ChatRequest> request = ParseChatRequest(c.format, c.body);
    ASSERT_FALSE(request.ok()) << c.body;
    EXPECT_NE(request.status().message().find(c.message), absl::string_view::npos)
        << request.status();
  }
}

TEST(CompletionTest, ToolsAreCalledByChoiceAndParallelism) {
  ChatRequest request;
  request.model = "gpt-4o";
  request.last_user_message = "Weather  in Paris?";
  request.tool_names = {"a", "b"};
  Completion c = MakeCompletion(request, std::nullopt, {});
  ASSERT_EQ(c.tool_calls.size(), 2u);  // parallel calls allowed: every tool
  EXPECT_EQ(c.finish_reason, "tool_calls");
  EXPECT_EQ(c.content, "");
  EXPECT_EQ(c.tool_calls[0].id, "fake_1");
  EXPECT_EQ(c.tool_calls[1].name, "b");
  EXPECT_EQ(c.tool_calls[0].arguments, R"({"echo":"Weather  in Paris?"})");
  EXPECT_EQ(c.tool_calls[0].argument_deltas,
            (std::vector<std::string>{R"({"echo":"Weather)", " ", R"( in)", R"( Paris?"})"}));
  EXPECT_EQ(c.usage.completion_tokens, 2 * 3);

  request.parallel_tool_calls = false;
  EXPECT_EQ(MakeCompletion(request, std::nullopt, {}).tool_calls.size(), 1u);
  request.tool_choice = "tool";
  request.tool_choice_name = "b";
  c = MakeCompletion(request, std::nullopt, {});
  ASSERT_EQ(c.tool_calls.size(), 1u);
  EXPECT_EQ(c.tool_calls[0].name, "b");
  request.tool_choice = "none";
  c = MakeCompletion(request, std::nullopt, {});
  EXPECT_TRUE(c.tool_calls.empty());
  EXPECT_EQ(c.content, "echo: Weather in Paris?");
}

TEST(CompletionTest, JsonOutputAndImagesShapeTheReply) {
  ChatRequest request;
  request.model = "gpt-4o";
  request.last_user_message = "a \"song\"";
  request.json_output = true;
  EXPECT_EQ(MakeCompletion(request, std::nullopt, {}).content, R"({"echo":"a \"song\""})");
  request.json_output = false;
  request.images = 2;
  EXPECT_EQ(MakeCompletion(request, std::nullopt, {}).content, "echo: a \"song\" [images: 2]");
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
