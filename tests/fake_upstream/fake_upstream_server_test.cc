#include "tools/fake-upstream/fake_upstream_server.h"

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "rapidjson/document.h"
#include "rapidjson/pointer.h"

namespace aigw::fake_upstream {
namespace {

// --- reading answers ---------------------------------------------------------

rapidjson::Document ParseJson(const std::string& text) {
  rapidjson::Document doc;
  doc.Parse(text.c_str());
  EXPECT_FALSE(doc.HasParseError()) << text;
  return doc;
}

const rapidjson::Value* At(const rapidjson::Value& doc, const char* pointer) {
  return rapidjson::Pointer(pointer).Get(doc);
}
bool Has(const rapidjson::Value& doc, const char* pointer) { return At(doc, pointer) != nullptr; }
bool IsNull(const rapidjson::Value& doc, const char* pointer) {
  const rapidjson::Value* v = At(doc, pointer);
  return v != nullptr && v->IsNull();
}
std::string Str(const rapidjson::Value& doc, const char* pointer) {
  const rapidjson::Value* v = At(doc, pointer);
  return v != nullptr && v->IsString() ? v->GetString() : "<missing>";
}
int64_t Int(const rapidjson::Value& doc, const char* pointer) {
  const rapidjson::Value* v = At(doc, pointer);
  return v != nullptr && v->IsInt64() ? v->GetInt64() : -1;
}
size_t Size(const rapidjson::Value& doc, const char* pointer) {
  const rapidjson::Value* v = At(doc, pointer);
  return v != nullptr && v->IsArray() ? v->Size() : 999;
}

struct SseItem {
  bool comment = false;
  std::string event;  // the "event:" line, if any
  std::string data;   // the "data:" line
};

std::vector<SseItem> ParseSse(const std::string& body) {
  std::vector<SseItem> items;
  for (absl::string_view block : absl::StrSplit(body, "\n\n", absl::SkipEmpty())) {
    SseItem item;
    for (absl::string_view line : absl::StrSplit(block, '\n')) {
      if (absl::ConsumePrefix(&line, ":")) {
        item.comment = true;
        item.data = std::string(absl::StripLeadingAsciiWhitespace(line));
      } else if (absl::ConsumePrefix(&line, "event: ")) {
        item.event = std::string(line);
      } else if (absl::ConsumePrefix(&line, "data: ")) {
        item.data = std::string(line);
      } else {
        ADD_FAILURE() << "unexpected SSE line: " << line;
      }
    }
    items.push_back(std::move(item));
  }
  EXPECT_TRUE(absl::EndsWith(body, "\n\n")) << "stream must end with a complete frame";
  return items;
}

std::vector<SseItem> DataOnly(const std::vector<SseItem>& items) {
  std::vector<SseItem> data;
  for (const SseItem& item : items) {
    if (!item.comment) data.push_back(item);
  }
  return data;
}

// Polls for something another thread of the server does; never a timing
// assertion: it fails only if the condition is still false after 10 s.
bool Eventually(const std::function<bool()>& condition) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return condition();
}

constexpr char kChatBody[] = R"({"model":"gpt-4o","messages":[
    {"role":"system","content":"You are terse."},
    {"role":"user","content":"hello big world"}]})";
// (3 + 3) + (3 + 3) prompt tokens; "echo: hello big world" is 4 words.
constexpr int64_t kChatPromptTokens = 12;
constexpr int64_t kChatCompletionTokens = 4;

std::string StreamBody(absl::string_view model, absl::string_view extra = "") {
  return absl::StrCat(R"({"model":")", model, R"(","stream":true,)", extra,
                      R"("messages":[{"role":"user","content":"one two three four"}]})");
}

class FakeUpstreamServerTest : public ::testing::Test {
 protected:
  void SetUp() override { StartServer(ServerOptions()); }

  void StartServer(ServerOptions options) {
    options.threads = 8;
    server_ = std::make_unique<FakeUpstreamServer>(std::move(options));
    absl::Status started = server_->Start();
    ASSERT_TRUE(started.ok()) << started;
    ASSERT_GT(server_->port(), 0);
  }

  std::unique_ptr<httplib::Client> Client() {
    auto client = std::make_unique<httplib::Client>("127.0.0.1", server_->port());
    client->set_read_timeout(30);
    return client;
  }

  httplib::Result OpenAi(const std::string& path, const std::string& body,
                         const std::string& key = "sk-test") {
    httplib::Headers headers;
    if (!key.empty()) headers.emplace("Authorization", "Bearer " + key);
    return Client()->Post(path.c_str(), headers, body, "application/json");
  }

  httplib::Result Anthropic(const std::string& body, const std::string& key = "sk-ant",
                            bool version = true) {
    httplib::Headers headers;
    if (!key.empty()) headers.emplace("x-api-key", key);
    if (version) headers.emplace("anthropic-version", "2023-06-01");
    return Client()->Post("/v1/messages", headers, body, "application/json");
  }

  httplib::Result Control(const std::string& method, const std::string& path,
                          const std::string& body = "") {
    auto client = Client();
    if (method == "GET") return client->Get(path.c_str());
    if (method == "DELETE") return client->Delete(path.c_str());
    if (method == "PUT") return client->Put(path.c_str(), body, "application/json");
    return client->Post(path.c_str(), body, "application/json");
  }

  void AddRule(const std::string& json) {
    httplib::Result res = Control("POST", "/_control/rules", json);
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200) << res->body;
  }

  rapidjson::Document Stats() { return ParseJson(Control("GET", "/_control/stats")->body); }

  std::unique_ptr<FakeUpstreamServer> server_;
};

// --- OpenAI ------------------------------------------------------------------

TEST_F(FakeUpstreamServerTest, OpenAiJsonAnswer) {
  httplib::Result res = OpenAi("/v1/chat/completions", kChatBody);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
  rapidjson::Document doc = ParseJson(res->body);
  EXPECT_TRUE(absl::StartsWith(Str(doc, "/id"), "chatcmpl-"));
  EXPECT_EQ(Str(doc, "/object"), "chat.completion");
  EXPECT_GT(Int(doc, "/created"), 0);
  EXPECT_EQ(Str(doc, "/model"), "gpt-4o");
  EXPECT_EQ(Int(doc, "/choices/0/index"), 0);
  EXPECT_EQ(Str(doc, "/choices/0/message/role"), "assistant");
  EXPECT_EQ(Str(doc, "/choices/0/message/content"), "echo: hello big world");
  EXPECT_EQ(Str(doc, "/choices/0/finish_reason"), "stop");
  EXPECT_EQ(Int(doc, "/usage/prompt_tokens"), kChatPromptTokens);
  EXPECT_EQ(Int(doc, "/usage/completion_tokens"), kChatCompletionTokens);
  EXPECT_EQ(Int(doc, "/usage/total_tokens"), kChatPromptTokens + kChatCompletionTokens);
  EXPECT_EQ(Int(doc, "/usage/prompt_tokens_details/cached_tokens"), 0);
  EXPECT_EQ(Int(doc, "/usage/completion_tokens_details/reasoning_tokens"), 0);
  EXPECT_FALSE(Has(doc, "/usage/prompt_cache_hit_tokens"));
  EXPECT_FALSE(Has(doc, "/choices/0/message/reasoning_content"));
}

TEST_F(FakeUpstreamServerTest, OpenAiStreamWithIncludeUsage) {
  httplib::Result res = OpenAi("/v1/chat/completions",
                               StreamBody("gpt-4o", R"("stream_options":{"include_usage":true},)"));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_TRUE(absl::StartsWith(res->get_header_value("Content-Type"), "text/event-stream"));
  std::vector<SseItem> items = ParseSse(res->body);
  for (const SseItem& item : items) EXPECT_FALSE(item.comment) << "OpenAI sends no comments";
  ASSERT_GE(items.size(), 5u);
  EXPECT_EQ(items.back().data, "[DONE]");

  std::string content;
  int content_chunks = 0;
  std::string id;
  for (size_t i = 0; i + 2 < items.size(); ++i) {
    rapidjson::Document chunk = ParseJson(items[i].data);
    EXPECT_EQ(Str(chunk, "/object"), "chat.completion.chunk");
    EXPECT_TRUE(IsNull(chunk, "/usage")) << "every chunk but the last has usage: null";
    if (i == 0) {
      id = Str(chunk, "/id");
      EXPECT_EQ(Str(chunk, "/choices/0/delta/role"), "assistant");
    }
    EXPECT_EQ(Str(chunk, "/id"), id);
    if (Has(chunk, "/choices/0/delta/content")) {
      content += Str(chunk, "/choices/0/delta/content");
      if (i > 0) ++content_chunks;
    }
    if (i + 3 == items.size()) {
      EXPECT_EQ(Str(chunk, "/choices/0/finish_reason"), "stop");
    } else {
      EXPECT_TRUE(IsNull(chunk, "/choices/0/finish_reason"));
    }
  }
  EXPECT_EQ(content, "echo: one two three four");
  EXPECT_EQ(content_chunks, 5);

  rapidjson::Document usage = ParseJson(items[items.size() - 2].data);
  EXPECT_EQ(Size(usage, "/choices"), 0u);
  EXPECT_EQ(Int(usage, "/usage/prompt_tokens"), 4 + 3);
  EXPECT_EQ(Int(usage, "/usage/completion_tokens"), 5);
  EXPECT_EQ(Int(usage, "/usage/total_tokens"), 12);
}

TEST_F(FakeUpstreamServerTest, OpenAiStreamWithoutIncludeUsageHasNoUsage) {
  httplib::Result res = OpenAi("/v1/chat/completions", StreamBody("gpt-4o"));
  ASSERT_TRUE(res);
  std::vector<SseItem> items = ParseSse(res->body);
  ASSERT_GE(items.size(), 3u);
  EXPECT_EQ(items.back().data, "[DONE]");
  for (size_t i = 0; i + 1 < items.size(); ++i) {
    rapidjson::Document chunk = ParseJson(items[i].data);
    EXPECT_FALSE(Has(chunk, "/usage")) << items[i].data;
    EXPECT_EQ(Size(chunk, "/choices"), 1u);
  }
}

TEST_F(FakeUpstreamServerTest, MaxTokensCutsTheReplyWithFinishReasonLength) {
  httplib::Result res =
      OpenAi("/v1/chat/completions",
             R"({"model":"gpt-4o","max_tokens":2,"messages":[{"role":"user","content":"a b c"}]})");
  ASSERT_TRUE(res);
  rapidjson::Document doc = ParseJson(res->body);
  EXPECT_EQ(Str(doc, "/choices/0/message/content"), "echo: a");
  EXPECT_EQ(Str(doc, "/choices/0/finish_reason"), "length");
  EXPECT_EQ(Int(doc, "/usage/completion_tokens"), 2);
}

// --- DeepSeek ----------------------------------------------------------------

TEST_F(FakeUpstreamServerTest, DeepSeekChatAddsCacheFieldsOnPathWithoutV1) {
  AddRule(R"({"model":"deepseek-chat","usage":{"prompt_tokens":100,"cached_tokens":64}})");
  httplib::Result res =
      OpenAi("/chat/completions",
             R"({"model":"deepseek-chat","messages":[{"role":"user","content":"hi"}]})");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  rapidjson::Document doc = ParseJson(res->body);
  EXPECT_EQ(Str(doc, "/choices/0/message/content"), "echo: hi");
  EXPECT_FALSE(Has(doc, "/choices/0/message/reasoning_content"));
  EXPECT_EQ(Int(doc, "/usage/prompt_tokens"), 100);
  EXPECT_EQ(Int(doc, "/usage/prompt_cache_hit_tokens"), 64);
  EXPECT_EQ(Int(doc, "/usage/prompt_cache_miss_tokens"), 36);
  EXPECT_EQ(Int(doc, "/usage/prompt_tokens_details/cached_tokens"), 64);
}

TEST_F(FakeUpstreamServerTest, DeepSeekReasonerJsonHasReasoning) {
  httplib::Result res =
      OpenAi("/chat/completions",
             R"({"model":"deepseek-reasoner","messages":[{"role":"user","content":"why"}]})");
  ASSERT_TRUE(res);
  rapidjson::Document doc = ParseJson(res->body);
  EXPECT_EQ(Str(doc, "/choices/0/message/reasoning_content"), "Reasoning about: why");
  EXPECT_EQ(Str(doc, "/choices/0/message/content"), "echo: why");
  EXPECT_EQ(Int(doc, "/usage/completion_tokens_details/reasoning_tokens"), 3);
  EXPECT_EQ(Int(doc, "/usage/completion_tokens"), 3 + 2);
  EXPECT_EQ(Int(doc, "/usage/prompt_cache_hit_tokens"), 0);
  EXPECT_EQ(Int(doc, "/usage/prompt_cache_miss_tokens"), 1 + 3);
}

TEST_F(FakeUpstreamServerTest, DeepSeekReasonerStreamReasonsFirstWithKeepAlives) {
  httplib::Result res = OpenAi("/chat/completions", StreamBody("deepseek-reasoner"));
  ASSERT_TRUE(res);
  std::vector<SseItem> items = ParseSse(res->body);
  ASSERT_FALSE(items.empty());
  EXPECT_TRUE(items.front().comment);
  EXPECT_EQ(items.front().data, "keep-alive");
  // A keep-alive also arrives between two data events.
  bool keep_alive_between = false;
  for (size_t i = 1; i + 1 < items.size(); ++i) {
    if (items[i].comment && !items[i - 1].comment && !items[i + 1].comment) {
      keep_alive_between = true;
    }
  }
  EXPECT_TRUE(keep_alive_between);

  std::vector<SseItem> data = DataOnly(items);
  ASSERT_GE(data.size(), 3u);
  EXPECT_EQ(data.back().data, "[DONE]");
  std::string reasoning;
  std::string content;
  for (size_t i = 0; i + 1 < data.size(); ++i) {
    rapidjson::Document chunk = ParseJson(data[i].data);
    const std::string r = Str(chunk, "/choices/0/delta/reasoning_content");
    const std::string c = Str(chunk, "/choices/0/delta/content");
    if (r != "<missing>") {
      EXPECT_TRUE(content.empty()) << "reasoning after content: " << data[i].data;
      reasoning += r;
    }
    if (c != "<missing>") content += c;
  }
  EXPECT_EQ(reasoning, "Reasoning about: one two three four");
  EXPECT_EQ(content, "echo: one two three four");

  // DeepSeek puts usage on the finish chunk, with its cache figures.
  rapidjson::Document finish = ParseJson(data[data.size() - 2].data);
  EXPECT_EQ(Str(finish, "/choices/0/finish_reason"), "stop");
  EXPECT_EQ(Int(finish, "/usage/completion_tokens_details/reasoning_tokens"), 6);
  EXPECT_EQ(Int(finish, "/usage/completion_tokens"), 6 + 5);
  EXPECT_EQ(Int(finish, "/usage/prompt_cache_hit_tokens"), 0);
  EXPECT_EQ(Int(finish, "/usage/prompt_cache_miss_tokens"), 7);
}

// --- Anthropic ---------------------------------------------------------------

constexpr char kAnthropicBody[] = R"({"model":"claude-3-5-sonnet-20241022","max_tokens":100,
    "system":"Be brief.","messages":[{"role":"user","content":"hello there"}]})";

TEST_F(FakeUpstreamServerTest, AnthropicJsonAnswer) {
  AddRule(R"({"usage":{"cached_tokens":5,"cache_creation_tokens":9}})");
  httplib::Result res = Anthropic(kAnthropicBody);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;
  rapidjson::Document doc = ParseJson(res->body);
  EXPECT_TRUE(absl::StartsWith(Str(doc, "/id"), "msg_"));
  EXPECT_EQ(Str(doc, "/type"), "message");
  EXPECT_EQ(Str(doc, "/role"), "assistant");
  EXPECT_EQ(Str(doc, "/model"), "claude-3-5-sonnet-20241022");
  EXPECT_EQ(Size(doc, "/content"), 1u);
  EXPECT_EQ(Str(doc, "/content/0/type"), "text");
  EXPECT_EQ(Str(doc, "/content/0/text"), "echo: hello there");
  EXPECT_EQ(Str(doc, "/stop_reason"), "end_turn");
  // Anthropic's input_tokens excludes cache reads and writes; here they
  // exceed the whole prompt, so the uncached remainder is 0.
  EXPECT_EQ(Int(doc, "/usage/input_tokens"), 0);
  EXPECT_EQ(Int(doc, "/usage/output_tokens"), 3);
  EXPECT_EQ(Int(doc, "/usage/cache_read_input_tokens"), 5);
  EXPECT_EQ(Int(doc, "/usage/cache_creation_input_tokens"), 9);
}

TEST_F(FakeUpstreamServerTest, AnthropicStreamEventSequence) {
  std::string body = kAnthropicBody;
  body.insert(1, R"("stream":true,)");
  httplib::Result res = Anthropic(body);
  ASSERT_TRUE(res);
  EXPECT_TRUE(absl::StartsWith(res->get_header_value("Content-Type"), "text/event-stream"));
  std::vector<SseItem> items = ParseSse(res->body);
  std::vector<std::string> events;
  std::string text;
  for (const SseItem& item : items) {
    ASSERT_FALSE(item.comment);
    rapidjson::Document data = ParseJson(item.data);
    EXPECT_EQ(Str(data, "/type"), item.event) << "event: line and data type agree";
    events.push_back(item.event);
    if (item.event == "content_block_delta") {
      EXPECT_EQ(Str(data, "/delta/type"), "text_delta");
      text += Str(data, "/delta/text");
    }
    if (item.event == "message_start") {
      EXPECT_EQ(Int(data, "/message/usage/input_tokens"), 10);
      EXPECT_EQ(Int(data, "/message/usage/cache_read_input_tokens"), 0);
      EXPECT_EQ(Int(data, "/message/usage/cache_creation_input_tokens"), 0);
      EXPECT_TRUE(IsNull(data, "/message/stop_reason"));
    }
    if (item.event == "message_delta") {
      EXPECT_EQ(Str(data, "/delta/stop_reason"), "end_turn");
      EXPECT_EQ(Int(data, "/usage/output_tokens"), 3);
    }
  }
  EXPECT_EQ(text, "echo: hello there");
  EXPECT_EQ(events, (std::vector<std::string>{"message_start", "content_block_start", "ping",
                                              "content_block_delta", "content_block_delta",
                                              "content_block_delta", "content_block_stop",
                                              "message_delta", "message_stop"}));
}

// --- tool calls, in each provider's shape ------------------------------------

constexpr char kOpenAiToolBody[] = R"({"model":"gpt-4o","messages":[{"role":"user","content":"hi there"}],
  "tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}},
           {"type":"function","function":{"name":"get_time"}}]})";

TEST_F(FakeUpstreamServerTest, OpenAiToolCallsJson) {
  httplib::Result res = OpenAi("/v1/chat/completions", kOpenAiToolBody);
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  rapidjson::Document doc = ParseJson(res->body);
  EXPECT_TRUE(IsNull(doc, "/choices/0/message/content"));
  EXPECT_EQ(Str(doc, "/choices/0/finish_reason"), "tool_calls");
  EXPECT_EQ(Size(doc, "/choices/0/message/tool_calls"), 2u);
  EXPECT_EQ(Str(doc, "/choices/0/message/tool_calls/0/id"), "call_fake_1");
  EXPECT_EQ(Str(doc, "/choices/0/message/tool_calls/0/type"), "function");
  EXPECT_EQ(Str(doc, "/choices/0/message/tool_calls/0/function/name"), "get_weather");
  EXPECT_EQ(Str(doc, "/choices/0/message/tool_calls/0/function/arguments"),
            R"({"echo":"hi there"})");
  EXPECT_EQ(Str(doc, "/choices/0/message/tool_calls/1/function/name"), "get_time");
}

TEST_F(FakeUpstreamServerTest, OpenAiToolCallsStream) {
  std::string body = kOpenAiToolBody;
  body.insert(1, R"("stream":true,"stream_options":{"include_usage":true},)");
  httplib::Result res = OpenAi("/v1/chat/completions", body);
  ASSERT_TRUE(res);
  std::vector<SseItem> items = ParseSse(res->body);
  ASSERT_GE(items.size(), 4u);
  std::vector<std::string> arguments(2);
  std::vector<std::string> heads;
  std::string finish;
  for (const SseItem& item : items) {
    if (item.data == "[DONE]") continue;
    rapidjson::Document data = ParseJson(item.data);
    if (Has(data, "/choices/0/finish_reason") && !IsNull(data, "/choices/0/finish_reason")) {
      finish = Str(data, "/choices/0/finish_reason");
    }
    const rapidjson::Value* calls = At(data, "/choices/0/delta/tool_calls");
    if (calls == nullptr) continue;
    ASSERT_EQ(calls->Size(), 1u);
    const int64_t index = Int(data, "/choices/0/delta/tool_calls/0/index");
    ASSERT_TRUE(index == 0 || index == 1) << item.data;
    if (Has(data, "/choices/0/delta/tool_calls/0/id")) {
      heads.push_back(absl::StrCat(index, " ", Str(data, "/choices/0/delta/tool_calls/0/id"), " ",
                                   Str(data, "/choices/0/delta/tool_calls/0/function/name")));
      EXPECT_EQ(Str(data, "/choices/0/delta/tool_calls/0/type"), "function");
      EXPECT_EQ(Str(data, "/choices/0/delta/tool_calls/0/function/arguments"), "");
    } else {
      EXPECT_FALSE(Has(data, "/choices/0/delta/tool_calls/0/function/name"));
      arguments[index] += Str(data, "/choices/0/delta/tool_calls/0/function/arguments");
    }
  }
  EXPECT_EQ(heads, (std::vector<std::string>{"0 call_fake_1 get_weather", "1 call_fake_2 get_time"}));
  EXPECT_EQ(arguments[0], R"({"echo":"hi there"})");
  EXPECT_EQ(arguments[1], R"({"echo":"hi there"})");
  EXPECT_EQ(finish, "tool_calls");
}

constexpr char kAnthropicToolBody[] = R"({"model":"claude-3-5-sonnet-20241022","max_tokens":50,
  "tools":[{"name":"get_weather","input_schema":{"type":"object"}}],
  "tool_choice":{"type":"tool","name":"get_weather"},
  "messages":[{"role":"user","content":"hi there"}]})";

TEST_F(FakeUpstreamServerTest, AnthropicToolUseJson) {
  httplib::Result res = Anthropic(kAnthropicToolBody);
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  rapidjson::Document doc = ParseJson(res->body);
  EXPECT_EQ(Size(doc, "/content"), 1u);
  EXPECT_EQ(Str(doc, "/content/0/type"), "tool_use");
  EXPECT_EQ(Str(doc, "/content/0/id"), "toolu_fake_1");
  EXPECT_EQ(Str(doc, "/content/0/name"), "get_weather");
  EXPECT_EQ(Str(doc, "/content/0/input/echo"), "hi there");  // an object, not text
  EXPECT_EQ(Str(doc, "/stop_reason"), "tool_use");
}

TEST_F(FakeUpstreamServerTest, AnthropicToolUseStream) {
  std::string body = kAnthropicToolBody;
  body.insert(1, R"("stream":true,)");
  httplib::Result res = Anthropic(body);
  ASSERT_TRUE(res);
  std::vector<std::string> events;
  std::string partial;
  for (const SseItem& item : ParseSse(res->body)) {
    rapidjson::Document data = ParseJson(item.data);
    EXPECT_EQ(Str(data, "/type"), item.event);
    events.push_back(item.event);
    if (item.event == "content_block_start") {
      EXPECT_EQ(Int(data, "/index"), 0);
      EXPECT_EQ(Str(data, "/content_block/type"), "tool_use");
      EXPECT_EQ(Str(data, "/content_block/id"), "toolu_fake_1");
      EXPECT_EQ(Str(data, "/content_block/name"), "get_weather");
      ASSERT_TRUE(Has(data, "/content_block/input"));
      EXPECT_TRUE(At(data, "/content_block/input")->IsObject());
    }
    if (item.event == "content_block_delta") {
      EXPECT_EQ(Str(data, "/delta/type"), "input_json_delta");
      partial += Str(data, "/delta/partial_json");
    }
    if (item.event == "message_delta") EXPECT_EQ(Str(data, "/delta/stop_reason"), "tool_use");
  }
  EXPECT_EQ(partial, R"({"echo":"hi there"})");
  EXPECT_EQ(events, (std::vector<std::string>{"message_start", "content_block_start", "ping",
                                              "content_block_delta", "content_block_delta",
                                              "content_block_delta", "content_block_stop",
                                              "message_delta", "message_stop"}));
}

TEST_F(FakeUpstreamServerTest, ToolResultsAndImagesAreAnsweredInText) {
  httplib::Result res = Anthropic(R"({"model":"claude-3-5-sonnet-20241022","max_tokens":50,
    "tools":[{"name":"get_weather","input_schema":{"type":"object"}}],
    "messages":[{"role":"user","content":"weather?"},
      {"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{}}]},
      {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"sunny"}]}]})");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(Str(ParseJson(res->body), "/content/0/text"), "tool results: sunny");

  res = OpenAi("/v1/chat/completions", R"({"model":"gpt-4o","messages":[{"role":"user","content":[
    {"type":"text","text":"look"},{"type":"image_url","image_url":{"url":"https://x/a.png"}}]}]})");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(Str(ParseJson(res->body), "/choices/0/message/content"), "echo: look [images: 1]");

  // What a provider refuses is a 400 in its format.
  res = Anthropic(R"({"model":"claude-3-5-sonnet-20241022","max_tokens":50,
    "messages":[{"role":"user","content":"q"},
      {"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"a","input":{}}]},
      {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"r"}]}]})");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  EXPECT_EQ(Str(ParseJson(res->body), "/error/type"), "invalid_request_error");
  EXPECT_TRUE(absl::StrContains(res->body, "must define tools")) << res->body;
}

TEST_F(FakeUpstreamServerTest, AnthropicRequiresVersionKeyAndMaxTokens) {
  struct Case {
    httplib::Result res;
    int status;
    const char* type;
    const char* message;
  };
  Case cases[] = {
      {Anthropic(kAnthropicBody, "sk-ant", /*version=*/false), 400, "invalid_request_error",
       "anthropic-version: header is required"},
      {Anthropic(kAnthropicBody, /*key=*/""), 401, "authentication_error",
       "x-api-key header is required"},
      {Anthropic(R"({"model":"claude","messages":[{"role":"user","content":"x"}]})"), 400,
       "invalid_request_error", "max_tokens: Field required"},
  };
  for (const Case& c : cases) {
    ASSERT_TRUE(c.res);
    EXPECT_EQ(c.res->status, c.status);
    rapidjson::Document doc = ParseJson(c.res->body);
    EXPECT_EQ(Str(doc, "/type"), "error");
    EXPECT_EQ(Str(doc, "/error/type"), c.type);
    EXPECT_EQ(Str(doc, "/error/message"), c.message);
  }
}

// --- auth, validation --------------------------------------------------------

TEST_F(FakeUpstreamServerTest, OpenAiAuthMustBeBearer) {
  auto check = [&](httplib::Result res) {
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 401);
    rapidjson::Document doc = ParseJson(res->body);
    EXPECT_EQ(Str(doc, "/error/type"), "invalid_request_error");
    EXPECT_TRUE(IsNull(doc, "/error/param"));
    EXPECT_TRUE(absl::StrContains(Str(doc, "/error/message"), "didn't provide an API key"));
  };
  check(OpenAi("/v1/chat/completions", kChatBody, /*key=*/""));
  check(Client()->Post("/v1/chat/completions", {{"Authorization", "Basic dXNlcg=="}}, kChatBody,
                       "application/json"));
  check(Client()->Get("/models"));
  // Anthropic's header does not authenticate an OpenAI call.
  check(Client()->Post("/v1/chat/completions", {{"x-api-key", "sk-ant"}}, kChatBody,
                       "application/json"));
}

TEST_F(FakeUpstreamServerTest, AnthropicAuthMustBeXApiKey) {
  httplib::Result res = Client()->Post(
      "/v1/messages", {{"Authorization", "Bearer sk-ant"}, {"anthropic-version", "2023-06-01"}},
      kAnthropicBody, "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401);
  EXPECT_EQ(Str(ParseJson(res->body), "/error/type"), "authentication_error");
}

TEST_F(FakeUpstreamServerTest, BadBodyIsOpenAi400) {
  httplib::Result res = OpenAi("/v1/chat/completions", "{not json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  rapidjson::Document doc = ParseJson(res->body);
  EXPECT_EQ(Str(doc, "/error/type"), "invalid_request_error");
  EXPECT_TRUE(IsNull(doc, "/error/code"));
}

TEST_F(FakeUpstreamServerTest, StrictModelsAnswer404ForUnknownModels) {
  ServerOptions options;
  options.models = {"gpt-4o"};
  options.strict_models = true;
  StartServer(options);
  EXPECT_EQ(OpenAi("/v1/chat/completions", kChatBody)->status, 200);
  httplib::Result res = OpenAi("/v1/chat/completions",
                               R"({"model":"gpt-9","messages":[{"role":"user","content":"x"}]})");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
  EXPECT_EQ(Str(ParseJson(res->body), "/error/code"), "model_not_found");
}

// --- model lists -------------------------------------------------------------

TEST_F(FakeUpstreamServerTest, ModelListsInBothFormatsFollowTheControlApi) {
  ASSERT_EQ(Control("PUT", "/_control/models", R"({"models":["gpt-4o","claude-x"]})")->status, 200);
  ASSERT_EQ(Control("POST", "/_control/models", R"({"id":"deepseek-chat"})")->status, 200);
  ASSERT_EQ(Control("DELETE", "/_control/models/gpt-4o")->status, 200);
  EXPECT_EQ(Control("DELETE", "/_control/models/gpt-4o")->status, 404);

  for (const char* path : {"/v1/models", "/models"}) {
    httplib::Result res = Client()->Get(path, {{"Authorization", "Bearer sk-test"}});
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200);
    rapidjson::Document doc = ParseJson(res->body);
    EXPECT_EQ(Str(doc, "/object"), "list");
    ASSERT_EQ(Size(doc, "/data"), 2u) << res->body;
    EXPECT_EQ(Str(doc, "/data/0/id"), "claude-x");
    EXPECT_EQ(Str(doc, "/data/0/object"), "model");
    EXPECT_GT(Int(doc, "/data/0/created"), 0);
    EXPECT_EQ(Str(doc, "/data/1/id"), "deepseek-chat");
    EXPECT_EQ(Str(doc, "/data/1/owned_by"), "deepseek");
  }

  httplib::Result res =
      Client()->Get("/v1/models", {{"x-api-key", "sk-ant"}, {"anthropic-version", "2023-06-01"}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  rapidjson::Document doc = ParseJson(res->body);
  ASSERT_EQ(Size(doc, "/data"), 2u) << res->body;
  EXPECT_EQ(Str(doc, "/data/0/type"), "model");
  EXPECT_EQ(Str(doc, "/data/0/id"), "claude-x");
  EXPECT_EQ(Str(doc, "/data/0/display_name"), "Claude X");
  EXPECT_TRUE(Has(doc, "/data/0/created_at"));
  EXPECT_FALSE(At(doc, "/has_more")->GetBool());
  EXPECT_EQ(Str(doc, "/first_id"), "claude-x");
  EXPECT_EQ(Str(doc, "/last_id"), "deepseek-chat");
}

// --- error rules -------------------------------------------------------------

TEST_F(FakeUpstreamServerTest, ErrorRulesAnswerInTheProviderFormat) {
  struct Case {
    const char* rule;
    bool anthropic;
    int status;
    const char* type;
    const char* code;  // OpenAI only; "" = null
    const char* retry_after;
    const char* message;  // substring
  };
  const Case cases[] = {
      {R"({"status":429,"retry_after":7})", false, 429, "requests", "rate_limit_exceeded", "7",
       "Rate limit"},
      {R"({"status":429,"retry_after":3})", true, 429, "rate_limit_error", "", "3", "rate limit"},
      {R"({"status":401})", false, 401, "invalid_request_error", "invalid_api_key", "",
       "Incorrect API key"},
      {R"({"status":401})", true, 401, "authentication_error", "", "", "invalid x-api-key"},
      {R"({"status":500})", false, 500, "server_error", "", "", "The server had an error"},
      {R"({"status":500})", true, 500, "api_error", "", "", "Internal server error"},
      {R"({"status":503})", false, 503, "server_error", "", "", "overloaded"},
      {R"({"status":503})", true, 503, "overloaded_error", "", "", "Overloaded"},
      {R"({"status":400,"message":"context too long"})", false, 400, "invalid_request_error", "",
       "", "context too long"},
      {R"({"status":400,"message":"bad thing","error_type":"custom"})", true, 400, "custom", "", "",
       "bad thing"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.rule);
    ASSERT_EQ(Control("DELETE", "/_control/rules")->status, 200);
    AddRule(c.rule);
    httplib::Result res =
        c.anthropic ? Anthropic(kAnthropicBody) : OpenAi("/v1/chat/completions", kChatBody);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, c.status);
    EXPECT_EQ(res->get_header_value("Retry-After"), c.retry_after);
    rapidjson::Document doc = ParseJson(res->body);
    if (c.anthropic) {
      EXPECT_EQ(Str(doc, "/type"), "error");
      EXPECT_EQ(Str(doc, "/error/type"), c.type);
      EXPECT_TRUE(absl::StrContains(Str(doc, "/error/message"), c.message)) << res->body;
    } else {
      EXPECT_EQ(Str(doc, "/error/type"), c.type);
      EXPECT_TRUE(IsNull(doc, "/error/param"));
      if (*c.code == '\0') {
        EXPECT_TRUE(IsNull(doc, "/error/code")) << res->body;
      } else {
        EXPECT_EQ(Str(doc, "/error/code"), c.code);
      }
      EXPECT_TRUE(absl::StrContains(Str(doc, "/error/message"), c.message)) << res->body;
    }
  }
}

TEST_F(FakeUpstreamServerTest, PerKeyRuleAffectsOnlyThatKey) {
  AddRule(R"({"api_key":"sk-bad","status":401})");
  EXPECT_EQ(OpenAi("/v1/chat/completions", kChatBody, "sk-bad")->status, 401);
  EXPECT_EQ(OpenAi("/v1/chat/completions", kChatBody, "sk-good")->status, 200);
  EXPECT_EQ(Anthropic(kAnthropicBody, "sk-bad")->status, 401);
  EXPECT_EQ(Anthropic(kAnthropicBody, "sk-other")->status, 200);
}

TEST_F(FakeUpstreamServerTest, PerPathRuleAffectsOnlyThatPath) {
  AddRule(R"({"path":"/v1/models","status":500})");
  EXPECT_EQ(Client()->Get("/v1/models", {{"Authorization", "Bearer k"}})->status, 500);
  EXPECT_EQ(Client()->Get("/models", {{"Authorization", "Bearer k"}})->status, 200);
  EXPECT_EQ(OpenAi("/v1/chat/completions", kChatBody)->status, 200);
}

TEST_F(FakeUpstreamServerTest, NextNRuleExpires) {
  AddRule(R"({"status":429,"times":2})");
  EXPECT_EQ(OpenAi("/v1/chat/completions", kChatBody)->status, 429);
  EXPECT_EQ(OpenAi("/v1/chat/completions", kChatBody)->status, 429);
  EXPECT_EQ(OpenAi("/v1/chat/completions", kChatBody)->status, 200);
  EXPECT_EQ(Size(ParseJson(Control("GET", "/_control/rules")->body), "/rules"), 0u);
}

TEST_F(FakeUpstreamServerTest, ControlApiRejectsBadRulesAndRemovesById) {
  httplib::Result bad = Control("POST", "/_control/rules", R"({"stauts":429})");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  EXPECT_TRUE(absl::StrContains(bad->body, "stauts"));

  httplib::Result added = Control("POST", "/_control/rules", R"([{"status":500},{"status":503}])");
  ASSERT_TRUE(added);
  rapidjson::Document ids = ParseJson(added->body);
  ASSERT_EQ(Size(ids, "/ids"), 2u);
  const int64_t newest = Int(ids, "/ids/1");
  EXPECT_EQ(OpenAi("/v1/chat/completions", kChatBody)->status, 503);
  EXPECT_EQ(Control("DELETE", absl::StrCat("/_control/rules/", newest))->status, 200);
  EXPECT_EQ(OpenAi("/v1/chat/completions", kChatBody)->status, 500);
  EXPECT_EQ(Control("DELETE", absl::StrCat("/_control/rules/", newest))->status, 404);
  EXPECT_EQ(Control("POST", "/_control/reset")->status, 200);
  EXPECT_EQ(OpenAi("/v1/chat/completions", kChatBody)->status, 200);
}

// --- usage rules -------------------------------------------------------------

TEST_F(FakeUpstreamServerTest, UsageOverrideReachesEveryFormat) {
  AddRule(R"({"usage":{"prompt_tokens":1000,"completion_tokens":50,"cached_tokens":400,
              "cache_creation_tokens":30,"reasoning_tokens":20}})");
  rapidjson::Document openai = ParseJson(OpenAi("/v1/chat/completions", kChatBody)->body);
  EXPECT_EQ(Int(openai, "/usage/prompt_tokens"), 1000);
  EXPECT_EQ(Int(openai, "/usage/completion_tokens"), 50);
  EXPECT_EQ(Int(openai, "/usage/total_tokens"), 1050);
  EXPECT_EQ(Int(openai, "/usage/prompt_tokens_details/cached_tokens"), 400);
  EXPECT_EQ(Int(openai, "/usage/completion_tokens_details/reasoning_tokens"), 20);

  rapidjson::Document anthropic = ParseJson(Anthropic(kAnthropicBody)->body);
  EXPECT_EQ(Int(anthropic, "/usage/input_tokens"), 1000 - 400 - 30);
  EXPECT_EQ(Int(anthropic, "/usage/output_tokens"), 50);
  EXPECT_EQ(Int(anthropic, "/usage/cache_read_input_tokens"), 400);
  EXPECT_EQ(Int(anthropic, "/usage/cache_creation_input_tokens"), 30);

  std::vector<SseItem> stream =
      DataOnly(ParseSse(OpenAi("/chat/completions", StreamBody("deepseek-chat"))->body));
  ASSERT_GE(stream.size(), 2u);
  rapidjson::Document finish = ParseJson(stream[stream.size() - 2].data);
  EXPECT_EQ(Int(finish, "/usage/prompt_cache_hit_tokens"), 400);
  EXPECT_EQ(Int(finish, "/usage/prompt_cache_miss_tokens"), 600);
}

TEST_F(FakeUpstreamServerTest, OmitUsageLeavesStreamsWithoutUsage) {
  AddRule(R"({"omit_usage":true})");
  std::vector<SseItem> openai =
      ParseSse(OpenAi("/v1/chat/completions",
                      StreamBody("gpt-4o", R"("stream_options":{"include_usage":true},)"))
                   ->body);
  ASSERT_GE(openai.size(), 2u);
  EXPECT_EQ(openai.back().data, "[DONE]");
  for (size_t i = 0; i + 1 < openai.size(); ++i) {
    rapidjson::Document chunk = ParseJson(openai[i].data);
    EXPECT_TRUE(!Has(chunk, "/usage") || IsNull(chunk, "/usage")) << openai[i].data;
    EXPECT_EQ(Size(chunk, "/choices"), 1u);
  }

  std::string body = kAnthropicBody;
  body.insert(1, R"("stream":true,)");
  for (const SseItem& item : ParseSse(Anthropic(body)->body)) {
    rapidjson::Document data = ParseJson(item.data);
    EXPECT_FALSE(Has(data, "/usage")) << item.data;
    EXPECT_FALSE(Has(data, "/message/usage")) << item.data;
  }
}

TEST_F(FakeUpstreamServerTest, ContentRuleFixesTheReply) {
  AddRule(R"({"content":"a fixed answer"})");
  rapidjson::Document doc = ParseJson(OpenAi("/v1/chat/completions", kChatBody)->body);
  EXPECT_EQ(Str(doc, "/choices/0/message/content"), "a fixed answer");
  EXPECT_EQ(Int(doc, "/usage/completion_tokens"), 3);
}

// --- recording ---------------------------------------------------------------

TEST_F(FakeUpstreamServerTest, RecordsRequestsWithTheirKeys) {
  ASSERT_EQ(OpenAi("/v1/chat/completions", kChatBody, "sk-openai")->status, 200);
  ASSERT_EQ(Anthropic(kAnthropicBody, "sk-claude")->status, 200);
  AddRule(R"({"status":429,"times":1})");
  ASSERT_EQ(OpenAi("/chat/completions", kChatBody, "sk-deep")->status, 429);
  ASSERT_EQ(Control("GET", "/_control/health")->status, 200);  // not recorded

  rapidjson::Document doc = ParseJson(Control("GET", "/_control/requests")->body);
  ASSERT_EQ(Size(doc, "/requests"), 3u);
  EXPECT_EQ(Str(doc, "/requests/0/method"), "POST");
  EXPECT_EQ(Str(doc, "/requests/0/path"), "/v1/chat/completions");
  EXPECT_EQ(Str(doc, "/requests/0/api_key"), "sk-openai");
  EXPECT_EQ(Str(doc, "/requests/0/body"), kChatBody);
  EXPECT_EQ(Str(doc, "/requests/0/headers/Authorization"), "Bearer sk-openai");
  EXPECT_EQ(Int(doc, "/requests/0/status"), 200);
  EXPECT_EQ(Str(doc, "/requests/0/outcome"), "ok");
  EXPECT_GT(Int(doc, "/requests/0/time_unix_ms"), 0);
  EXPECT_EQ(Str(doc, "/requests/1/api_key"), "sk-claude");
  EXPECT_EQ(Str(doc, "/requests/1/headers/anthropic-version"), "2023-06-01");
  EXPECT_EQ(Str(doc, "/requests/2/path"), "/chat/completions");
  EXPECT_EQ(Str(doc, "/requests/2/api_key"), "sk-deep");
  EXPECT_EQ(Int(doc, "/requests/2/status"), 429);
  EXPECT_EQ(Str(doc, "/requests/2/outcome"), "error");

  rapidjson::Document stats = Stats();
  EXPECT_EQ(Int(stats, "/requests_total"), 3);
  EXPECT_EQ(Int(stats, "/requests_by_path/~1v1~1chat~1completions"), 1);
  EXPECT_EQ(Int(stats, "/requests_by_path/~1chat~1completions"), 1);
  EXPECT_EQ(Int(stats, "/requests_by_path/~1v1~1messages"), 1);
  EXPECT_EQ(Int(stats, "/responses_by_status/429"), 1);

  ASSERT_EQ(Control("DELETE", "/_control/requests")->status, 200);
  EXPECT_EQ(Size(ParseJson(Control("GET", "/_control/requests")->body), "/requests"), 0u);
  EXPECT_EQ(Int(Stats(), "/requests_total"), 3) << "clearing requests keeps the counters";
}

// --- slow, dropped and cancelled ---------------------------------------------

TEST_F(FakeUpstreamServerTest, DelayedAnswerArrivesNoSoonerThanTheDelay) {
  AddRule(R"({"delay_ms":30,"times":1})");
  auto start = std::chrono::steady_clock::now();
  httplib::Result res = OpenAi("/v1/chat/completions", kChatBody);
  auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_GE(elapsed, std::chrono::milliseconds(30));
}

TEST_F(FakeUpstreamServerTest, ChunkDelayPacesTheStream) {
  AddRule(R"({"chunk_delay_ms":10})");
  auto start = std::chrono::steady_clock::now();
  httplib::Result res = OpenAi("/v1/chat/completions", StreamBody("gpt-4o"));
  auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(res);
  std::vector<SseItem> items = ParseSse(res->body);
  EXPECT_EQ(items.back().data, "[DONE]");
  EXPECT_GE(elapsed, std::chrono::milliseconds(10) * (items.size() - 1));
}

TEST_F(FakeUpstreamServerTest, DroppedConnectionIsATransportError) {
  AddRule(R"({"drop":true,"times":1})");
  httplib::Result res = OpenAi("/v1/chat/completions", kChatBody);
  EXPECT_FALSE(res);
  EXPECT_NE(res.error(), httplib::Error::Success);
  EXPECT_EQ(OpenAi("/v1/chat/completions", kChatBody)->status, 200);
  rapidjson::Document stats = Stats();
  EXPECT_EQ(Int(stats, "/dropped_connections"), 1);
  rapidjson::Document doc = ParseJson(Control("GET", "/_control/requests")->body);
  EXPECT_EQ(Str(doc, "/requests/0/outcome"), "dropped");
}

TEST_F(FakeUpstreamServerTest, StreamDroppedAfterKChunks) {
  AddRule(R"({"drop_after_chunks":2})");
  std::string received;
  httplib::Request req;
  req.method = "POST";
  req.path = "/v1/chat/completions";
  req.headers = {{"Authorization", "Bearer sk-test"}, {"Content-Type", "application/json"}};
  req.body = StreamBody("gpt-4o");
  req.content_receiver = [&](const char* data, size_t size, uint64_t, uint64_t) {
    received.append(data, size);
    return true;
  };
  httplib::Result res = Client()->send(req);
  EXPECT_FALSE(res) << "the stream must end in a transport error, not a clean end";
  std::vector<SseItem> items = ParseSse(received);
  ASSERT_EQ(items.size(), 2u) << received;
  EXPECT_EQ(Str(ParseJson(items[1].data), "/choices/0/delta/content"), "echo:");
  EXPECT_TRUE(Eventually([&] { return Int(Stats(), "/dropped_connections") == 1; }));
}

TEST_F(FakeUpstreamServerTest, ClientThatLeavesMidStreamIsCounted) {
  // Long enough that the client is certainly gone before the stream ends.
  AddRule(R"({"chunk_delay_ms":200})");
  httplib::Request req;
  req.method = "POST";
  req.path = "/v1/chat/completions";
  req.headers = {{"Authorization", "Bearer sk-test"}, {"Content-Type", "application/json"}};
  req.body = StreamBody("gpt-4o");
  int calls = 0;
  req.content_receiver = [&](const char*, size_t, uint64_t, uint64_t) {
    ++calls;
    return false;  // hang up after the first chunk
  };
  httplib::Result res = Client()->send(req);
  EXPECT_FALSE(res);
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(Eventually([&] { return Int(Stats(), "/client_disconnects") == 1; }));
  EXPECT_EQ(server_->requests().client_disconnects(), 1);
  rapidjson::Document doc = ParseJson(Control("GET", "/_control/requests")->body);
  EXPECT_EQ(Str(doc, "/requests/0/outcome"), "client_disconnected");
  EXPECT_EQ(Int(Stats(), "/in_flight"), 0);
}

TEST_F(FakeUpstreamServerTest, CompletedStreamIsNotADisconnect) {
  ASSERT_TRUE(OpenAi("/v1/chat/completions", StreamBody("gpt-4o")));
  ASSERT_TRUE(Eventually([&] { return Int(Stats(), "/in_flight") == 0; }));
  EXPECT_EQ(Int(Stats(), "/client_disconnects"), 0);
  rapidjson::Document doc = ParseJson(Control("GET", "/_control/requests")->body);
  EXPECT_EQ(Str(doc, "/requests/0/outcome"), "ok");
}

TEST_F(FakeUpstreamServerTest, StopEndsDelayedAnswers) {
  AddRule(R"({"delay_ms":600000})");
  bool answered = true;
  std::thread caller(
      [&] { answered = static_cast<bool>(OpenAi("/v1/chat/completions", kChatBody)); });
  ASSERT_TRUE(Eventually([&] { return Int(Stats(), "/in_flight") == 1; }));
  server_->Stop();  // would hang for ten minutes if the delay ignored it
  caller.join();
  EXPECT_FALSE(answered);
}

TEST(FakeUpstreamServerStartTest, InitialRulesApplyAndBusyPortFails) {
  ServerOptions options;
  Rule rule;
  rule.status = 503;
  options.rules = {rule};
  FakeUpstreamServer first(options);
  ASSERT_TRUE(first.Start().ok());
  httplib::Client client("127.0.0.1", first.port());
  httplib::Result res = client.Get("/models", {{"Authorization", "Bearer k"}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 503);

  ServerOptions same_port;
  same_port.port = first.port();
  FakeUpstreamServer second(same_port);
  EXPECT_FALSE(second.Start().ok());
}

}  // namespace
}  // namespace aigw::fake_upstream
