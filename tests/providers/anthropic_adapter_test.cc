#include "libs/providers/anthropic_adapter.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"
#include "tests/providers/fixtures.h"
#include "tests/providers/stream_test_util.h"

namespace aigw::providers {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;
using testing::ExpectSplitInvariant;
using testing::FeedWhole;

const ProviderAdapter& Claude() { return AdapterFor("anthropic"); }

rapidjson::Document ParseBody(const HttpRequest& request) {
  rapidjson::Document doc;
  doc.Parse(request.body.c_str());
  EXPECT_FALSE(doc.HasParseError()) << request.body;
  return doc;
}

// The messages of a built body as "role: content" lines.
std::vector<std::string> Messages(const rapidjson::Document& doc) {
  std::vector<std::string> out;
  for (const auto& m : doc["messages"].GetArray()) {
    out.push_back(std::string(m["role"].GetString()) + ": " + m["content"].GetString());
  }
  return out;
}

ChatParams Simple() {
  ChatParams p;
  p.model = "claude-3-5-sonnet-20241022";
  p.max_tokens = 1024;
  p.messages = {{"system", "You write lyrics.", ""}, {"user", "A chorus, please.", ""}};
  return p;
}

TEST(AnthropicRequestTest, UrlAndHeaders) {
  HttpRequest r = Claude().BuildRequest(Simple(), "https://api.anthropic.com", "sk-ant-1");
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.url, "https://api.anthropic.com/v1/messages");
  EXPECT_THAT(r.headers, ElementsAre(Pair("x-api-key", "sk-ant-1"),
                                     Pair("anthropic-version", "2023-06-01"),
                                     Pair("content-type", "application/json")));
}

TEST(AnthropicRequestTest, UrlToleratesTrailingSlashAndVersionedBase) {
  for (const char* base : {"https://api.anthropic.com/", "https://api.anthropic.com/v1",
                           "https://api.anthropic.com/v1/", "https://api.anthropic.com/v1/messages"}) {
    EXPECT_EQ(Claude().BuildRequest(Simple(), base, "k").url, "https://api.anthropic.com/v1/messages")
        << base;
  }
  EXPECT_EQ(Claude().BuildRequest(Simple(), "http://127.0.0.1:9000", "k").url,
            "http://127.0.0.1:9000/v1/messages");
}

TEST(AnthropicRequestTest, SystemMovesToTopLevel) {
  rapidjson::Document doc = ParseBody(Claude().BuildRequest(Simple(), "https://api.anthropic.com", "k"));
  EXPECT_STREQ(doc["model"].GetString(), "claude-3-5-sonnet-20241022");
  EXPECT_EQ(doc["max_tokens"].GetInt64(), 1024);
  EXPECT_STREQ(doc["system"].GetString(), "You write lyrics.");
  EXPECT_THAT(Messages(doc), ElementsAre("user: A chorus, please."));
  EXPECT_FALSE(doc.HasMember("temperature"));
  EXPECT_FALSE(doc.HasMember("top_p"));
  EXPECT_FALSE(doc.HasMember("stop_sequences"));
  EXPECT_FALSE(doc.HasMember("stream"));
  EXPECT_FALSE(doc.HasMember("metadata"));
}

TEST(AnthropicRequestTest, NoSystemMessageMeansNoSystemField) {
  ChatParams p = Simple();
  p.messages.erase(p.messages.begin());
  rapidjson::Document doc = ParseBody(Claude().BuildRequest(p, "https://api.anthropic.com", "k"));
  EXPECT_FALSE(doc.HasMember("system"));
}

TEST(AnthropicRequestTest, SystemMessagesJoinAndSameRoleRunsMerge) {
  ChatParams p;
  p.model = "claude-3-5-haiku-20241022";
  p.max_tokens = 300;
  p.messages = {{"system", "Be brief.", ""},
                {"user", "Hi", ""},
                {"user", "Write a haiku", ""},
                {"system", "Use English.", ""},
                {"user", "about \"rain\"", ""},
                {"assistant", "Soft rain", ""},
                {"assistant", "on tin roofs", ""},
                {"user", "Another", ""}};
  rapidjson::Document doc = ParseBody(Claude().BuildRequest(p, "https://api.anthropic.com", "k"));
  EXPECT_STREQ(doc["system"].GetString(), "Be brief.\n\nUse English.");
  // A system message inside a user run does not split it.
  EXPECT_THAT(Messages(doc), ElementsAre("user: Hi\n\nWrite a haiku\n\nabout \"rain\"",
                                         "assistant: Soft rain\n\non tin roofs", "user: Another"));
}

TEST(AnthropicRequestTest, MaxTokensFallsBackToTheDefault) {
  ChatParams p = Simple();
  p.max_tokens.reset();
  rapidjson::Document doc = ParseBody(Claude().BuildRequest(p, "https://api.anthropic.com", "k"));
  EXPECT_EQ(doc["max_tokens"].GetInt64(), AnthropicAdapter::kDefaultMaxTokens);
}

TEST(AnthropicRequestTest, OptionalParametersAndStopSequences) {
  ChatParams p = Simple();
  p.temperature = 0.3;
  p.top_p = 0.9;
  p.stop = {"\n\nHuman:", "END"};
  p.stream = true;
  p.user = "user-42";
  HttpRequest r = Claude().BuildRequest(p, "https://api.anthropic.com", "k");
  rapidjson::Document doc = ParseBody(r);
  EXPECT_DOUBLE_EQ(doc["temperature"].GetDouble(), 0.3);
  EXPECT_DOUBLE_EQ(doc["top_p"].GetDouble(), 0.9);
  ASSERT_TRUE(doc["stop_sequences"].IsArray());
  ASSERT_EQ(doc["stop_sequences"].Size(), 2u);
  EXPECT_STREQ(doc["stop_sequences"][0].GetString(), "\n\nHuman:");
  EXPECT_STREQ(doc["stop_sequences"][1].GetString(), "END");
  EXPECT_FALSE(doc.HasMember("stop"));
  EXPECT_TRUE(doc["stream"].GetBool());
  EXPECT_FALSE(doc.HasMember("stream_options"));  // an OpenAI-only field
  EXPECT_STREQ(doc["metadata"]["user_id"].GetString(), "user-42");
  EXPECT_THAT(r.headers, Contains(Pair("accept", "text/event-stream")));
}

TEST(AnthropicRequestTest, TemperatureIsClampedToAnthropicsRange) {
  ChatParams p = Simple();
  p.temperature = 1.8;
  rapidjson::Document doc = ParseBody(Claude().BuildRequest(p, "https://api.anthropic.com", "k"));
  EXPECT_EQ(doc["temperature"].GetDouble(), 1.0);
}

TEST(AnthropicResponseTest, TextThinkingAndCacheUsage) {
  absl::StatusOr<Completion> c = Claude().ParseResponse(fixtures::kAnthropicResponse);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->id, "msg_01XFDUDYJgAACzvnptvVoYEL");
  EXPECT_EQ(c->model, "claude-3-7-sonnet-20250219");
  EXPECT_EQ(c->content, "Chorus:\nSing it \"loud\" \xE2\x80\x94 tonight!");
  EXPECT_EQ(c->reasoning_content, "A chorus should repeat the hook.");
  EXPECT_EQ(c->finish_reason, "stop");
  ASSERT_TRUE(c->has_usage);
  // prompt = 50 uncached + 1000 written + 2000 read.
  EXPECT_EQ(c->usage, (TokenUsage{.prompt = 3050, .completion = 503, .total = 3553,
                                  .cached_prompt = 2000, .cache_creation = 1000, .reasoning = 0}));
}

TEST(AnthropicResponseTest, StopReasonMapping) {
  EXPECT_EQ(MapAnthropicStopReason("end_turn"), "stop");
  EXPECT_EQ(MapAnthropicStopReason("stop_sequence"), "stop");
  EXPECT_EQ(MapAnthropicStopReason("max_tokens"), "length");
  EXPECT_EQ(MapAnthropicStopReason("tool_use"), "tool_calls");
  EXPECT_EQ(MapAnthropicStopReason("refusal"), "content_filter");
  EXPECT_EQ(MapAnthropicStopReason("something_new"), "something_new");

  absl::StatusOr<Completion> c = Claude().ParseResponse(
      R"({"id":"msg_1","type":"message","role":"assistant","model":"claude-3-5-sonnet-20241022",
          "content":[{"type":"text","text":"Let me check."},{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"location":"Paris"}}],
          "stop_reason":"tool_use","stop_sequence":null,"usage":{"input_tokens":472,"output_tokens":89}})");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->content, "Let me check.");
  EXPECT_EQ(c->finish_reason, "tool_calls");
  EXPECT_EQ(c->usage, (TokenUsage{.prompt = 472, .completion = 89, .total = 561}));

  c = Claude().ParseResponse(
      R"({"id":"msg_2","type":"message","content":[{"type":"text","text":"Roses"}],"stop_reason":"max_tokens","usage":{"input_tokens":5,"output_tokens":1}})");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->finish_reason, "length");
}

TEST(AnthropicResponseTest, MalformedBodiesAreCleanErrors) {
  const std::vector<std::string> bodies = {
      "", "{", "null", "[]", "<html></html>", R"({"id":"msg"})", R"({"content":{"type":"text"}})",
      R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})"};
  for (const std::string& body : bodies) {
    absl::StatusOr<Completion> c = Claude().ParseResponse(body);
    EXPECT_EQ(c.status().code(), absl::StatusCode::kInternal) << body;
  }
  const std::string body = fixtures::kAnthropicResponse;
  for (size_t i = 0; i < body.size(); ++i) {
    EXPECT_FALSE(Claude().ParseResponse(body.substr(0, i)).ok()) << "prefix " << i;
  }
}

TEST(AnthropicResponseTest, ErrorBodyIn2xxCarriesTheMessage) {
  absl::StatusOr<Completion> c = Claude().ParseResponse(
      R"({"type":"error","error":{"type":"api_error","message":"Internal server error"}})");
  EXPECT_THAT(c.status().message(), HasSubstr("Internal server error"));
}

TEST(AnthropicResponseTest, BlocksOfUnexpectedShapeAreSkipped) {
  absl::StatusOr<Completion> c = Claude().ParseResponse(
      R"({"id":"m","content":[7,null,{"type":"text"},{"type":"text","text":5},{"type":"text","text":"ok"},{"type":"redacted_thinking","data":"xx"}],"usage":{"input_tokens":"3"}})");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->content, "ok");
  EXPECT_EQ(c->reasoning_content, "");
  EXPECT_EQ(c->usage, TokenUsage{});
}

TEST(AnthropicStreamTest, ThinkingTextAndUsage) {
  bool done = false;
  EXPECT_THAT(
      FeedWhole(Claude(), fixtures::kAnthropicStream, &done),
      ElementsAre("delta content=[] reasoning=[Let me think:\n\n1. 27 * 453] "
                  "id=msg_01DfGoUwMtftE8VM22axQ2Jc model=claude-3-7-sonnet-20250219",
                  "delta content=[] reasoning=[ = 12,231]",
                  "delta content=[27 \xC3\x97 453] reasoning=[]",
                  "delta content=[ = 12,231 \xE2\x9C\x94] reasoning=[]", "finish stop",
                  "usage p=3050 c=503 t=3553 cached=2000 creation=1000 reasoning=0", "done"));
  EXPECT_TRUE(done);
}

TEST(AnthropicStreamTest, StreamIsSplitInvariant) {
  ExpectSplitInvariant(Claude(), fixtures::kAnthropicStream);
}

TEST(AnthropicStreamTest, ErrorEventMidStream) {
  bool done = true;
  EXPECT_THAT(FeedWhole(Claude(), fixtures::kAnthropicErrorStream, &done),
              ElementsAre("delta content=[Hel] reasoning=[] id=msg_01Abc model=claude-3-5-haiku-20241022",
                          "error 529 overloaded_error  [Overloaded]"));
  EXPECT_FALSE(done);
  ExpectSplitInvariant(Claude(), fixtures::kAnthropicErrorStream);
}

TEST(AnthropicStreamTest, UsageWithoutMessageDeltaUsageIsReportedAtStop) {
  // The extended-thinking example in Anthropic's docs has a message_delta
  // without usage; message_start's counts must still come out.
  const char kStream[] =
      "event: message_start\n"
      "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_9\",\"model\":\"claude-x\","
      "\"usage\":{\"input_tokens\":25,\"output_tokens\":1}}}\n\n"
      "event: content_block_delta\n"
      "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}\n\n"
      "event: message_delta\n"
      "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"stop_sequence\",\"stop_sequence\":\"END\"}}\n\n"
      "event: message_stop\n"
      "data: {\"type\":\"message_stop\"}\n\n";
  EXPECT_THAT(FeedWhole(Claude(), kStream),
              ElementsAre("delta content=[Hi] reasoning=[] id=msg_9 model=claude-x", "finish stop",
                          "usage p=25 c=1 t=26 cached=0 creation=0 reasoning=0", "done"));
}

TEST(AnthropicStreamTest, NewerMessageDeltaUsageOverridesInputCounts) {
  const char kStream[] =
      "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_9\",\"model\":\"claude-x\","
      "\"usage\":{\"input_tokens\":25,\"cache_read_input_tokens\":100,\"output_tokens\":1}}}\n\n"
      "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"max_tokens\"},"
      "\"usage\":{\"input_tokens\":30,\"output_tokens\":64}}\n\n"
      "data: {\"type\":\"message_stop\"}\n\n";
  // No `event:` lines: the data's own "type" decides.
  EXPECT_THAT(FeedWhole(Claude(), kStream),
              ElementsAre("finish length id=msg_9 model=claude-x",
                          "usage p=130 c=64 t=194 cached=100 creation=0 reasoning=0", "done"));
}

TEST(AnthropicStreamTest, UnknownEventsAndOrphanToolDeltasAreIgnored) {
  const char kStream[] =
      "event: brand_new_event\ndata: {\"type\":\"brand_new_event\",\"x\":1}\n\n"
      "event: content_block_delta\n"
      "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"a\\\"\"}}\n\n"
      "event: ping\ndata: {\"type\": \"ping\"}\n\n";
  EXPECT_TRUE(FeedWhole(Claude(), kStream).empty());
}

TEST(AnthropicStreamTest, MalformedEventIsAnInternalError) {
  std::unique_ptr<StreamParser> parser = Claude().NewStreamParser();
  std::vector<StreamEvent> events;
  absl::Status status = parser->Feed("event: content_block_delta\ndata: {\"type\":\n\n", &events);
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
}

// --- Tools, images, structured output ------------------------------------

ChatParams ToolConversation() {
  ChatParams p = Simple();
  p.messages = {{"system", "You check the weather.", ""},
                {"user", "Weather in Paris and Oslo?", ""}};
  ChatMessage assistant{"assistant", "Checking both.", ""};
  assistant.tool_calls = {{"toolu_1", "get_weather", R"({"city":"Paris"})"},
                          {"toolu_2", "get_weather", R"({"city":"Oslo"})"}};
  p.messages.push_back(assistant);
  ChatMessage result1{"tool", "18C sunny", ""};
  result1.tool_call_id = "toolu_1";
  ChatMessage result2{"tool", "3C snow", ""};
  result2.tool_call_id = "toolu_2";
  p.messages.push_back(result1);
  p.messages.push_back(result2);
  p.tools = {{"get_weather", "Current weather for a city",
              R"({"type":"object","properties":{"city":{"type":"string"}},"required":["city"]})",
              true},
             {"no_args", "", "", false}};
  return p;
}

TEST(AnthropicToolsRequestTest, ToolsToolUseAndMergedToolResults) {
  ChatParams p = ToolConversation();
  ChatMessage follow_up{"user", "And Rome?", ""};
  p.messages.push_back(follow_up);
  rapidjson::Document doc = ParseBody(Claude().BuildRequest(p, "https://api.anthropic.com", "k"));
  const auto& tools = doc["tools"];
  ASSERT_EQ(tools.Size(), 2u);
  EXPECT_STREQ(tools[0]["name"].GetString(), "get_weather");
  EXPECT_STREQ(tools[0]["description"].GetString(), "Current weather for a city");
  EXPECT_STREQ(tools[0]["input_schema"]["properties"]["city"]["type"].GetString(), "string");
  EXPECT_FALSE(tools[0].HasMember("strict"));
  EXPECT_FALSE(tools[0].HasMember("type"));
  EXPECT_STREQ(tools[1]["name"].GetString(), "no_args");
  EXPECT_FALSE(tools[1].HasMember("description"));
  EXPECT_STREQ(tools[1]["input_schema"]["type"].GetString(), "object");  // Anthropic needs one
  EXPECT_FALSE(doc.HasMember("tool_choice"));  // unset: Anthropic's default (auto)

  const auto& messages = doc["messages"];
  ASSERT_EQ(messages.Size(), 3u);
  EXPECT_STREQ(messages[0]["content"].GetString(), "Weather in Paris and Oslo?");
  const auto& assistant = messages[1];
  EXPECT_STREQ(assistant["role"].GetString(), "assistant");
  ASSERT_EQ(assistant["content"].Size(), 3u);
  EXPECT_STREQ(assistant["content"][0]["type"].GetString(), "text");
  EXPECT_STREQ(assistant["content"][0]["text"].GetString(), "Checking both.");
  const auto& use = assistant["content"][2];
  EXPECT_STREQ(use["type"].GetString(), "tool_use");
  EXPECT_STREQ(use["id"].GetString(), "toolu_2");
  EXPECT_STREQ(use["name"].GetString(), "get_weather");
  EXPECT_STREQ(use["input"]["city"].GetString(), "Oslo");  // an object, not text
  // Both results and the next question in one user turn, results first.
  const auto& user = messages[2];
  EXPECT_STREQ(user["role"].GetString(), "user");
  ASSERT_EQ(user["content"].Size(), 3u);
  EXPECT_STREQ(user["content"][0]["type"].GetString(), "tool_result");
  EXPECT_STREQ(user["content"][0]["tool_use_id"].GetString(), "toolu_1");
  EXPECT_STREQ(user["content"][0]["content"].GetString(), "18C sunny");
  EXPECT_STREQ(user["content"][1]["tool_use_id"].GetString(), "toolu_2");
  EXPECT_STREQ(user["content"][1]["content"].GetString(), "3C snow");
  EXPECT_STREQ(user["content"][2]["type"].GetString(), "text");
  EXPECT_STREQ(user["content"][2]["text"].GetString(), "And Rome?");
}

TEST(AnthropicToolsRequestTest, AssistantTurnWithOnlyToolCallsHasNoTextBlock) {
  ChatParams p = ToolConversation();
  p.messages[2].content.clear();
  rapidjson::Document doc = ParseBody(Claude().BuildRequest(p, "https://api.anthropic.com", "k"));
  const auto& content = doc["messages"][1]["content"];
  ASSERT_EQ(content.Size(), 2u);
  EXPECT_STREQ(content[0]["type"].GetString(), "tool_use");
}

std::string ToolChoiceJson(const ChatParams& p) {
  rapidjson::Document doc = ParseBody(Claude().BuildRequest(p, "https://api.anthropic.com", "k"));
  if (!doc.HasMember("tool_choice")) return doc.HasMember("tools") ? "absent" : "no tools";
  std::string out = doc["tool_choice"]["type"].GetString();
  if (doc["tool_choice"].HasMember("name")) out += std::string(":") + doc["tool_choice"]["name"].GetString();
  if (doc["tool_choice"].HasMember("disable_parallel_tool_use")) {
    out += doc["tool_choice"]["disable_parallel_tool_use"].GetBool() ? " serial" : " parallel";
  }
  return out;
}

TEST(AnthropicToolsRequestTest, ToolChoiceAndParallelToolUse) {
  ChatParams p = Simple();
  p.tools = {{"get_weather", "", R"({"type":"object"})", false}};
  EXPECT_EQ(ToolChoiceJson(p), "absent");
  p.tool_choice = {"auto", ""};
  EXPECT_EQ(ToolChoiceJson(p), "auto");
  p.tool_choice = {"required", ""};
  EXPECT_EQ(ToolChoiceJson(p), "any");
  p.tool_choice = {"tool", "get_weather"};
  EXPECT_EQ(ToolChoiceJson(p), "tool:get_weather");
  p.parallel_tool_calls = false;
  EXPECT_EQ(ToolChoiceJson(p), "tool:get_weather serial");
  p.tool_choice = {};
  EXPECT_EQ(ToolChoiceJson(p), "auto serial");
  p.parallel_tool_calls = true;  // Anthropic's default: nothing to say
  EXPECT_EQ(ToolChoiceJson(p), "absent");
  // none: no tools offered at all...
  p.tool_choice = {"none", ""};
  EXPECT_EQ(ToolChoiceJson(p), "no tools");
  // ...unless earlier turns hold tool blocks, which need the definitions.
  ChatParams history = ToolConversation();
  history.tool_choice = {"none", ""};
  history.parallel_tool_calls = false;
  EXPECT_EQ(ToolChoiceJson(history), "none");
}

TEST(AnthropicToolsRequestTest, ImagesAsBase64AndUrlSources) {
  ChatParams p = Simple();
  ChatMessage user{"user", "", ""};
  user.parts = {{ContentPart::Kind::kImageUrl, "", "data:image/png;base64,iVBORw0KGgo=", "high"},
                {ContentPart::Kind::kImageUrl, "", "https://example.com/cover.jpg", "low"},
                {ContentPart::Kind::kText, "Describe both covers", "", ""},
                {ContentPart::Kind::kText, "", "", ""}};
  p.messages = {{"system", "You review album art.", ""}, user};
  rapidjson::Document doc = ParseBody(Claude().BuildRequest(p, "https://api.anthropic.com", "k"));
  const auto& content = doc["messages"][0]["content"];
  ASSERT_EQ(content.Size(), 3u);  // the empty text part left out
  EXPECT_STREQ(content[0]["type"].GetString(), "image");
  EXPECT_STREQ(content[0]["source"]["type"].GetString(), "base64");
  EXPECT_STREQ(content[0]["source"]["media_type"].GetString(), "image/png");
  EXPECT_STREQ(content[0]["source"]["data"].GetString(), "iVBORw0KGgo=");
  EXPECT_FALSE(content[0].HasMember("detail"));
  EXPECT_STREQ(content[1]["source"]["type"].GetString(), "url");
  EXPECT_STREQ(content[1]["source"]["url"].GetString(), "https://example.com/cover.jpg");
  EXPECT_STREQ(content[2]["type"].GetString(), "text");
  EXPECT_STREQ(content[2]["text"].GetString(), "Describe both covers");
  EXPECT_STREQ(doc["system"].GetString(), "You review album art.");
}

TEST(AnthropicToolsRequestTest, ResponseFormatBecomesAForcedTool) {
  ChatParams p = Simple();
  p.response_format = {"json_schema", "song",
                       R"({"type":"object","properties":{"title":{"type":"string"}}})", true};
  rapidjson::Document doc = ParseBody(Claude().BuildRequest(p, "https://api.anthropic.com", "k"));
  EXPECT_FALSE(doc.HasMember("response_format"));
  ASSERT_EQ(doc["tools"].Size(), 1u);
  const auto& tool = doc["tools"][0];
  EXPECT_EQ(std::string(tool["name"].GetString()), AnthropicAdapter::kStructuredOutputTool);
  EXPECT_STREQ(tool["input_schema"]["properties"]["title"]["type"].GetString(), "string");
  EXPECT_EQ(ToolChoiceJson(p), absl::StrCat("tool:", AnthropicAdapter::kStructuredOutputTool));

  p.response_format = {"json_object", "", "", false};
  doc = ParseBody(Claude().BuildRequest(p, "https://api.anthropic.com", "k"));
  EXPECT_STREQ(doc["tools"][0]["input_schema"]["type"].GetString(), "object");

  // With the caller's own tools their choice stands; both tools are offered.
  p.tools = {{"lookup", "", "", false}};
  p.tool_choice = {"auto", ""};
  doc = ParseBody(Claude().BuildRequest(p, "https://api.anthropic.com", "k"));
  ASSERT_EQ(doc["tools"].Size(), 2u);
  EXPECT_STREQ(doc["tools"][0]["name"].GetString(), "lookup");
  EXPECT_EQ(ToolChoiceJson(p), "auto");
}

TEST(AnthropicToolsRequestTest, PenaltiesAndSeedAreNotSent) {
  ChatParams p = Simple();
  p.presence_penalty = 0.5;
  p.frequency_penalty = 0.5;
  p.seed = 3;
  rapidjson::Document doc = ParseBody(Claude().BuildRequest(p, "https://api.anthropic.com", "k"));
  EXPECT_FALSE(doc.HasMember("presence_penalty"));
  EXPECT_FALSE(doc.HasMember("frequency_penalty"));
  EXPECT_FALSE(doc.HasMember("seed"));
  EXPECT_FALSE(doc.HasMember("tools"));
}

// From Anthropic's tool-use guide.
constexpr char kAnthropicToolResponse[] = R"({
  "id": "msg_01Aq9w938a90dw8q",
  "type": "message",
  "model": "claude-3-5-sonnet-20241022",
  "stop_reason": "tool_use",
  "stop_sequence": null,
  "role": "assistant",
  "content": [
    {"type": "text", "text": "I'll check the current weather in San Francisco for you."},
    {"type": "tool_use", "id": "toolu_01A09q90qw90lq917835lq9", "name": "get_weather",
     "input": {"location": "San Francisco, CA", "unit": "celsius"}}
  ],
  "usage": {"input_tokens": 384, "output_tokens": 94}
})";

TEST(AnthropicToolsResponseTest, ToolUseBlocksBecomeToolCalls) {
  absl::StatusOr<Completion> c = Claude().ParseResponse(kAnthropicToolResponse);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->content, "I'll check the current weather in San Francisco for you.");
  EXPECT_EQ(c->finish_reason, "tool_calls");
  EXPECT_EQ(c->tool_calls, (std::vector<ToolCall>{
                               {"toolu_01A09q90qw90lq917835lq9", "get_weather",
                                R"({"location":"San Francisco, CA","unit":"celsius"})"}}));
}

TEST(AnthropicToolsResponseTest, StructuredOutputToolIsTheContent) {
  const std::string body = absl::StrCat(
      R"({"id":"msg_s","type":"message","model":"claude-x","role":"assistant","stop_reason":"tool_use",
          "content":[{"type":"tool_use","id":"toolu_s","name":")",
      AnthropicAdapter::kStructuredOutputTool,
      R"(","input":{"title":"Rain","bpm":92}}],"usage":{"input_tokens":10,"output_tokens":5}})");
  absl::StatusOr<Completion> c = Claude().ParseResponse(body);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->content, R"({"title":"Rain","bpm":92})");
  EXPECT_TRUE(c->tool_calls.empty());
  EXPECT_EQ(c->finish_reason, "stop");
}

// Anthropic's streamed tool use: content_block_start carries the id and
// name (input {}), input_json_delta pieces the arguments.
constexpr char kAnthropicToolStream[] =
    "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_t\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-x\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":472,\"output_tokens\":2}}}\n\n"
    "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"
    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Checking.\"}}\n\n"
    "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
    "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_a\",\"name\":\"get_weather\",\"input\":{}}}\n\n"
    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"\"}}\n\n"
    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"city\\\": \\\"Par\"}}\n\n"
    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"is\\\"}\"}}\n\n"
    "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}\n\n"
    "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":2,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_b\",\"name\":\"get_time\",\"input\":{}}}\n\n"
    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{}\"}}\n\n"
    "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":2}\n\n"
    "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":89}}\n\n"
    "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";

TEST(AnthropicToolsStreamTest, ToolUseBlocksBecomeToolCallDeltas) {
  EXPECT_THAT(FeedWhole(Claude(), kAnthropicToolStream),
              ElementsAre("delta content=[Checking.] reasoning=[] id=msg_t model=claude-x",
                          "tool_call 0 id=[toolu_a] name=[get_weather] args=[]",
                          "tool_call 0 id=[] name=[] args=[{\"city\": \"Par]",
                          "tool_call 0 id=[] name=[] args=[is\"}]",
                          "tool_call 1 id=[toolu_b] name=[get_time] args=[]",
                          "tool_call 1 id=[] name=[] args=[{}]", "finish tool_calls",
                          "usage p=472 c=89 t=561 cached=0 creation=0 reasoning=0", "done"));
  ExpectSplitInvariant(Claude(), kAnthropicToolStream);
}

TEST(AnthropicToolsStreamTest, StructuredOutputToolStreamsAsContent) {
  const std::string stream = absl::StrCat(
      "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_s\",\"model\":\"claude-x\",\"usage\":{\"input_tokens\":10,\"output_tokens\":1}}}\n\n"
      "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_s\",\"name\":\"",
      AnthropicAdapter::kStructuredOutputTool,
      "\",\"input\":{}}}\n\n"
      "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"title\\\":\"}}\n\n"
      "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\" \\\"Rain\\\"}\"}}\n\n"
      "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\"},\"usage\":{\"output_tokens\":7}}\n\n"
      "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n");
  EXPECT_THAT(FeedWhole(Claude(), stream),
              ElementsAre("delta content=[{\"title\":] reasoning=[] id=msg_s model=claude-x",
                          "delta content=[ \"Rain\"}] reasoning=[]", "finish stop",
                          "usage p=10 c=7 t=17 cached=0 creation=0 reasoning=0", "done"));
}

TEST(AnthropicModelsTest, ListRequestAndParse) {
  HttpRequest r = Claude().BuildListModelsRequest("https://api.anthropic.com/", "sk-ant");
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(r.url, "https://api.anthropic.com/v1/models?limit=1000");
  EXPECT_THAT(r.headers,
              ElementsAre(Pair("x-api-key", "sk-ant"), Pair("anthropic-version", "2023-06-01")));
  absl::StatusOr<std::vector<ModelInfo>> models = Claude().ParseModelList(
      R"({"data":[{"type":"model","id":"claude-3-5-sonnet-20241022","display_name":"Claude 3.5 Sonnet","created_at":"2024-10-22T00:00:00Z"}],"has_more":false,"first_id":"claude-3-5-sonnet-20241022","last_id":"claude-3-5-sonnet-20241022"})");
  ASSERT_TRUE(models.ok()) << models.status();
  ASSERT_EQ(models->size(), 1u);
  EXPECT_EQ((*models)[0].id, "claude-3-5-sonnet-20241022");
  EXPECT_EQ((*models)[0].display_name, "Claude 3.5 Sonnet");
}

}  // namespace
}  // namespace aigw::providers
