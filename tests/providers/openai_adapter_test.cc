#include "libs/providers/openai_adapter.h"

#include <limits>
#include <string>
#include <vector>

#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"
#include "tests/providers/fixtures.h"
#include "tests/providers/stream_test_util.h"

namespace aigw::providers {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;
using testing::ExpectSplitInvariant;
using testing::FeedWhole;

const ProviderAdapter& OpenAi() { return AdapterFor("openai"); }

ChatParams Params() {
  ChatParams p;
  p.model = "gpt-4o";
  p.messages = {{"system", "You write lyrics.", ""},
                {"user", "A verse about \"rain\"\n\tin Paris \xE2\x98\x94", "alice"},
                {"assistant", "Drops on the Seine...", ""},
                {"user", "More!", ""}};
  return p;
}

rapidjson::Document ParseBody(const HttpRequest& request) {
  rapidjson::Document doc;
  doc.Parse(request.body.c_str());
  EXPECT_FALSE(doc.HasParseError()) << request.body;
  return doc;
}

TEST(OpenAiRequestTest, UrlAndHeaders) {
  HttpRequest r = OpenAi().BuildRequest(Params(), "https://api.openai.com/v1", "sk-test");
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.url, "https://api.openai.com/v1/chat/completions");
  EXPECT_THAT(r.headers, ElementsAre(Pair("Authorization", "Bearer sk-test"),
                                     Pair("Content-Type", "application/json")));
}

TEST(OpenAiRequestTest, UrlJoiningForDeepSeekAndCustomBases) {
  const ChatParams p = Params();
  EXPECT_EQ(AdapterFor("deepseek").BuildRequest(p, "https://api.deepseek.com", "k").url,
            "https://api.deepseek.com/chat/completions");
  EXPECT_EQ(OpenAi().BuildRequest(p, "https://api.openai.com/v1/", "k").url,
            "https://api.openai.com/v1/chat/completions");
  EXPECT_EQ(OpenAi().BuildRequest(p, "http://127.0.0.1:8080/v1//", "k").url,
            "http://127.0.0.1:8080/v1/chat/completions");
  EXPECT_EQ(OpenAi().BuildRequest(p, "https://llm.example/openai/chat/completions", "k").url,
            "https://llm.example/openai/chat/completions");
}

TEST(OpenAiRequestTest, BodyCarriesMessagesInOrderWithEscaping) {
  HttpRequest r = OpenAi().BuildRequest(Params(), "https://api.openai.com/v1", "k");
  rapidjson::Document doc = ParseBody(r);
  EXPECT_STREQ(doc["model"].GetString(), "gpt-4o");
  const auto& messages = doc["messages"];
  ASSERT_EQ(messages.Size(), 4u);
  EXPECT_STREQ(messages[0]["role"].GetString(), "system");
  EXPECT_STREQ(messages[0]["content"].GetString(), "You write lyrics.");
  EXPECT_FALSE(messages[0].HasMember("name"));
  EXPECT_STREQ(messages[1]["content"].GetString(), "A verse about \"rain\"\n\tin Paris \xE2\x98\x94");
  EXPECT_STREQ(messages[1]["name"].GetString(), "alice");
  EXPECT_STREQ(messages[2]["role"].GetString(), "assistant");
  EXPECT_STREQ(messages[3]["content"].GetString(), "More!");
  // Nothing the caller did not ask for.
  EXPECT_FALSE(doc.HasMember("max_tokens"));
  EXPECT_FALSE(doc.HasMember("temperature"));
  EXPECT_FALSE(doc.HasMember("top_p"));
  EXPECT_FALSE(doc.HasMember("stop"));
  EXPECT_FALSE(doc.HasMember("stream"));
  EXPECT_FALSE(doc.HasMember("stream_options"));
  EXPECT_FALSE(doc.HasMember("user"));
}

TEST(OpenAiRequestTest, OptionalParameters) {
  ChatParams p = Params();
  p.max_tokens = 1024;
  p.temperature = 0.7;
  p.top_p = 0.95;
  p.stop = {"\n\n", "END"};
  p.user = "user-42";
  rapidjson::Document doc = ParseBody(OpenAi().BuildRequest(p, "https://api.openai.com/v1", "k"));
  EXPECT_EQ(doc["max_tokens"].GetInt64(), 1024);
  EXPECT_DOUBLE_EQ(doc["temperature"].GetDouble(), 0.7);
  EXPECT_DOUBLE_EQ(doc["top_p"].GetDouble(), 0.95);
  ASSERT_TRUE(doc["stop"].IsArray());
  ASSERT_EQ(doc["stop"].Size(), 2u);
  EXPECT_STREQ(doc["stop"][0].GetString(), "\n\n");
  EXPECT_STREQ(doc["stop"][1].GetString(), "END");
  EXPECT_STREQ(doc["user"].GetString(), "user-42");
}

TEST(OpenAiRequestTest, TemperatureZeroIsSentAndNonFiniteIsDropped) {
  ChatParams p = Params();
  p.temperature = 0.0;
  p.top_p = std::numeric_limits<double>::quiet_NaN();
  HttpRequest r = OpenAi().BuildRequest(p, "https://api.openai.com/v1", "k");
  rapidjson::Document doc = ParseBody(r);
  ASSERT_TRUE(doc.HasMember("temperature"));
  EXPECT_EQ(doc["temperature"].GetDouble(), 0.0);
  EXPECT_FALSE(doc.HasMember("top_p"));
}

TEST(OpenAiRequestTest, EscapeHeavyContentBeyondTheSizeEstimate) {
  // Control characters expand up to sixfold ("\u0001"), far past the reserved
  // estimate, so the body must grow while being written.
  std::string content;
  for (int i = 0; i < 20000; ++i) content.push_back(static_cast<char>(1 + i % 31));
  content += "\"\\ end";
  for (const char* format : {"openai", "anthropic"}) {
    ChatParams p;
    p.model = "m";
    p.messages = {{"user", content, ""}, {"user", content, ""}};
    HttpRequest r = AdapterFor(format).BuildRequest(p, "https://x", "k");
    EXPECT_GT(r.body.size(), 4 * 2 * 20000u);
    EXPECT_EQ(r.body.back(), '}') << format;  // no slack left after the JSON
    rapidjson::Document doc = ParseBody(r);
    const auto& messages = doc["messages"];
    const std::string first(messages[0]["content"].GetString(), messages[0]["content"].GetStringLength());
    if (std::string(format) == "openai") {
      EXPECT_EQ(first, content);
    } else {
      EXPECT_EQ(first, content + "\n\n" + content);  // merged same-role run
    }
  }
}

TEST(OpenAiRequestTest, StreamingAsksForUsage) {
  ChatParams p = Params();
  p.stream = true;
  HttpRequest r = OpenAi().BuildRequest(p, "https://api.openai.com/v1", "k");
  rapidjson::Document doc = ParseBody(r);
  EXPECT_TRUE(doc["stream"].GetBool());
  ASSERT_TRUE(doc["stream_options"].IsObject());
  EXPECT_TRUE(doc["stream_options"]["include_usage"].GetBool());
  EXPECT_THAT(r.headers, ::testing::Contains(Pair("Accept", "text/event-stream")));
}

TEST(OpenAiResponseTest, ParsesCompletionWithCachedTokens) {
  absl::StatusOr<Completion> c = OpenAi().ParseResponse(fixtures::kOpenAiResponse);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->id, "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT");
  EXPECT_EQ(c->model, "gpt-4o-2024-08-06");
  EXPECT_EQ(c->content,
            "Verse 1:\nUnder neon skies we \"run\" \xE2\x80\x94 caf\xC3\xA9 lights glow \xE2\x98\x95");
  EXPECT_EQ(c->reasoning_content, "");
  EXPECT_EQ(c->finish_reason, "stop");
  ASSERT_TRUE(c->has_usage);
  EXPECT_EQ(c->usage, (TokenUsage{.prompt = 2006, .completion = 300, .total = 2306,
                                  .cached_prompt = 1920, .cache_creation = 0, .reasoning = 0}));
}

TEST(OpenAiResponseTest, ReasoningTokensStayInsideCompletion) {
  absl::StatusOr<Completion> c = OpenAi().ParseResponse(fixtures::kOpenAiReasoningResponse);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->finish_reason, "length");
  EXPECT_EQ(c->usage, (TokenUsage{.prompt = 34, .completion = 250, .total = 284,
                                  .cached_prompt = 0, .cache_creation = 0, .reasoning = 192}));
}

TEST(OpenAiResponseTest, DeepSeekReasonerContentAndCacheHits) {
  absl::StatusOr<Completion> c = AdapterFor("deepseek").ParseResponse(
      fixtures::kDeepSeekReasonerResponse);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->content, "Hello! How can I assist you today?");
  EXPECT_EQ(c->reasoning_content,
            "Okay, the user wrote \"hello\". I should respond in a friendly manner.");
  EXPECT_EQ(c->usage, (TokenUsage{.prompt = 1000, .completion = 500, .total = 1500,
                                  .cached_prompt = 600, .cache_creation = 0, .reasoning = 400}));
}

TEST(OpenAiResponseTest, DeepSeekCacheFieldsAloneDefinePrompt) {
  // Older DeepSeek responses: only the hit / miss split, no prompt details.
  absl::StatusOr<Completion> c = OpenAi().ParseResponse(
      R"({"id":"x","model":"deepseek-chat","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],
          "usage":{"completion_tokens":5,"prompt_cache_hit_tokens":64,"prompt_cache_miss_tokens":36}})");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->usage, (TokenUsage{.prompt = 100, .completion = 5, .total = 105,
                                  .cached_prompt = 64, .cache_creation = 0, .reasoning = 0}));
}

TEST(OpenAiResponseTest, NullContentAndMissingUsage) {
  absl::StatusOr<Completion> c = OpenAi().ParseResponse(
      R"({"id":"x","choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[]},"finish_reason":"tool_calls"}]})");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->content, "");
  EXPECT_EQ(c->finish_reason, "tool_calls");
  EXPECT_FALSE(c->has_usage);
}

TEST(OpenAiResponseTest, MalformedBodiesAreCleanErrors) {
  const std::vector<std::string> bodies = {
      "", "   ", "{", "null", "[]", "42", "\"text\"", "<html>502 Bad Gateway</html>",
      R"({"choices":5})", R"({"choices":[]})", R"({"choices":[7]})",
      R"({"choices":[{"index":0,"message":"hi"}]})", R"({"choices":[{"index":1,"message":{}}]})",
      R"({"id":"x","choices":[{"index":0,"message":{"content":"cut)"};
  for (const std::string& body : bodies) {
    absl::StatusOr<Completion> c = OpenAi().ParseResponse(body);
    EXPECT_FALSE(c.ok()) << body;
    EXPECT_EQ(c.status().code(), absl::StatusCode::kInternal) << body;
  }
}

TEST(OpenAiResponseTest, WrongTypesAreToleratedNotTrusted) {
  absl::StatusOr<Completion> c = OpenAi().ParseResponse(
      R"({"id":7,"model":null,"choices":[{"index":0,"message":{"content":["x"]},"finish_reason":1}],
          "usage":{"prompt_tokens":"12","completion_tokens":-3,"total_tokens":1.5,"prompt_tokens_details":null}})");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->id, "");
  EXPECT_EQ(c->content, "");
  EXPECT_EQ(c->usage, TokenUsage{});
}

TEST(OpenAiResponseTest, EveryTruncationOfARealBodyFailsCleanly) {
  const std::string body = fixtures::kOpenAiResponse;
  for (size_t i = 0; i < body.size(); ++i) {
    EXPECT_FALSE(OpenAi().ParseResponse(body.substr(0, i)).ok()) << "prefix " << i;
  }
  EXPECT_TRUE(OpenAi().ParseResponse(body).ok());
}

TEST(OpenAiResponseTest, ErrorObjectInA200IsAnError) {
  absl::StatusOr<Completion> c = OpenAi().ParseResponse(
      R"({"error":{"message":"The server had an error","type":"server_error","param":null,"code":null}})");
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("The server had an error"));
}

TEST(OpenAiStreamTest, OpenAiStreamWithUsageChunk) {
  bool done = false;
  EXPECT_THAT(
      FeedWhole(OpenAi(), fixtures::kOpenAiStream, &done),
      ElementsAre("delta content=[Caf\xC3\xA9] reasoning=[] id=chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG "
                  "model=gpt-4o-2024-08-06",
                  "delta content=[ nights \xE2\x98\x95,] reasoning=[]",
                  "delta content=[\n\"neon\" dreams] reasoning=[]", "finish stop",
                  "usage p=2006 c=300 t=2306 cached=1920 creation=0 reasoning=0", "done"));
  EXPECT_TRUE(done);
}

TEST(OpenAiStreamTest, OpenAiStreamIsSplitInvariant) {
  ExpectSplitInvariant(OpenAi(), fixtures::kOpenAiStream);
}

TEST(OpenAiStreamTest, DeepSeekStreamWithKeepAliveAndReasoning) {
  EXPECT_THAT(FeedWhole(AdapterFor("deepseek"), fixtures::kDeepSeekStream),
              ElementsAre("delta content=[] reasoning=[Okay] id=43a31dda-92f6-4cdf-a333-bb399599a824 "
                          "model=deepseek-reasoner",
                          "delta content=[] reasoning=[, the user said \xE4\xBD\xA0\xE5\xA5\xBD.]",
                          "delta content=[\xE4\xBD\xA0\xE5\xA5\xBD] reasoning=[]",
                          "delta content=[\xEF\xBC\x81] reasoning=[]", "finish stop",
                          "usage p=1000 c=500 t=1500 cached=600 creation=0 reasoning=400",
                          "done"));
}

TEST(OpenAiStreamTest, DeepSeekStreamIsSplitInvariant) {
  ExpectSplitInvariant(OpenAi(), fixtures::kDeepSeekStream);
}

TEST(OpenAiStreamTest, CrLfFramingGivesTheSameEvents) {
  const std::string crlf = absl::StrReplaceAll(fixtures::kDeepSeekStream, {{"\n", "\r\n"}});
  EXPECT_EQ(FeedWhole(OpenAi(), crlf), FeedWhole(OpenAi(), fixtures::kDeepSeekStream));
  ExpectSplitInvariant(OpenAi(), crlf);
}

TEST(OpenAiStreamTest, ErrorInsideTheStream) {
  const char kStream[] =
      "data: {\"id\":\"c1\",\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\n\n"
      "data: {\"error\":{\"message\":\"Rate limit reached\",\"type\":\"requests\",\"param\":null,"
      "\"code\":\"rate_limit_exceeded\"}}\n\n";
  bool done = true;
  EXPECT_THAT(FeedWhole(OpenAi(), kStream, &done),
              ElementsAre("delta content=[Hi] reasoning=[] id=c1 model=gpt-4o",
                          "error 429 requests rate_limit_exceeded [Rate limit reached]"));
  EXPECT_FALSE(done);
}

TEST(OpenAiStreamTest, OtherChoicesAndEventsAfterDoneAreIgnored) {
  const char kStream[] =
      "data: {\"id\":\"c1\",\"choices\":[{\"index\":1,\"delta\":{\"content\":\"B\"}}]}\n\n"
      "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"A\"}}]}\n\n"
      "data: [DONE]\n\n"
      "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"late\"}}]}\n\n";
  EXPECT_THAT(FeedWhole(OpenAi(), kStream),
              ElementsAre("delta content=[A] reasoning=[] id=c1", "done"));
}

TEST(OpenAiStreamTest, TruncatedStreamIsNotDone) {
  const std::string stream = fixtures::kOpenAiStream;
  const size_t cut = stream.find("data: [DONE]");
  bool done = true;
  std::vector<std::string> events = FeedWhole(OpenAi(), stream.substr(0, cut), &done);
  EXPECT_FALSE(done);
  EXPECT_EQ(events.back(), "usage p=2006 c=300 t=2306 cached=1920 creation=0 reasoning=0");
}

TEST(OpenAiStreamTest, MalformedChunkIsAnInternalError) {
  for (const char* stream : {"data: {\"choices\":[\n\n", "data: not json\n\n", "data: [1,2]\n\n"}) {
    std::unique_ptr<StreamParser> parser = OpenAi().NewStreamParser();
    std::vector<StreamEvent> events;
    absl::Status status = parser->Feed(stream, &events);
    EXPECT_EQ(status.code(), absl::StatusCode::kInternal) << stream;
  }
}

// --- Tools, images, structured output, pass-through knobs ---------------

ChatParams ToolParams() {
  ChatParams p;
  p.model = "gpt-4o";
  p.messages = {{"user", "Weather in Paris and Oslo?", ""}};
  ChatMessage assistant{"assistant", "", ""};
  assistant.tool_calls = {{"call_1", "get_weather", R"({"city":"Paris"})"},
                          {"call_2", "get_weather", R"({"city":"Oslo"})"}};
  p.messages.push_back(assistant);
  ChatMessage result1{"tool", "18C sunny", ""};
  result1.tool_call_id = "call_1";
  ChatMessage result2{"tool", "3C snow", ""};
  result2.tool_call_id = "call_2";
  p.messages.push_back(result1);
  p.messages.push_back(result2);
  p.tools = {{"get_weather", "Current weather for a city",
              R"({"type":"object","properties":{"city":{"type":"string"}},"required":["city"]})",
              true},
             {"no_args", "", "", false}};
  return p;
}

TEST(OpenAiToolsRequestTest, ToolsAssistantCallsAndToolTurns) {
  ChatParams p = ToolParams();
  p.tool_choice = {"required", ""};
  p.parallel_tool_calls = false;
  rapidjson::Document doc = ParseBody(OpenAi().BuildRequest(p, "https://api.openai.com/v1", "k"));
  const auto& tools = doc["tools"];
  ASSERT_EQ(tools.Size(), 2u);
  EXPECT_STREQ(tools[0]["type"].GetString(), "function");
  const auto& f = tools[0]["function"];
  EXPECT_STREQ(f["name"].GetString(), "get_weather");
  EXPECT_STREQ(f["description"].GetString(), "Current weather for a city");
  EXPECT_STREQ(f["parameters"]["type"].GetString(), "object");
  EXPECT_STREQ(f["parameters"]["properties"]["city"]["type"].GetString(), "string");
  EXPECT_STREQ(f["parameters"]["required"][0].GetString(), "city");
  EXPECT_TRUE(f["strict"].GetBool());
  // No description, parameters or strict: none sent.
  EXPECT_STREQ(tools[1]["function"]["name"].GetString(), "no_args");
  EXPECT_FALSE(tools[1]["function"].HasMember("description"));
  EXPECT_FALSE(tools[1]["function"].HasMember("parameters"));
  EXPECT_FALSE(tools[1]["function"].HasMember("strict"));
  EXPECT_STREQ(doc["tool_choice"].GetString(), "required");
  EXPECT_FALSE(doc["parallel_tool_calls"].GetBool());

  const auto& messages = doc["messages"];
  ASSERT_EQ(messages.Size(), 4u);
  EXPECT_STREQ(messages[0]["content"].GetString(), "Weather in Paris and Oslo?");
  const auto& assistant = messages[1];
  EXPECT_STREQ(assistant["role"].GetString(), "assistant");
  EXPECT_TRUE(assistant["content"].IsNull());
  ASSERT_EQ(assistant["tool_calls"].Size(), 2u);
  const auto& call = assistant["tool_calls"][1];
  EXPECT_STREQ(call["id"].GetString(), "call_2");
  EXPECT_STREQ(call["type"].GetString(), "function");
  EXPECT_STREQ(call["function"]["name"].GetString(), "get_weather");
  EXPECT_STREQ(call["function"]["arguments"].GetString(), R"({"city":"Oslo"})");
  EXPECT_STREQ(messages[2]["role"].GetString(), "tool");
  EXPECT_STREQ(messages[2]["tool_call_id"].GetString(), "call_1");
  EXPECT_STREQ(messages[2]["content"].GetString(), "18C sunny");
  EXPECT_STREQ(messages[3]["tool_call_id"].GetString(), "call_2");
  EXPECT_FALSE(messages[3].HasMember("name"));
}

TEST(OpenAiToolsRequestTest, ToolChoiceForms) {
  ChatParams p = ToolParams();
  for (const char* mode : {"auto", "none", "required"}) {
    p.tool_choice = {mode, ""};
    rapidjson::Document doc = ParseBody(OpenAi().BuildRequest(p, "https://x/v1", "k"));
    EXPECT_STREQ(doc["tool_choice"].GetString(), mode);
    EXPECT_FALSE(doc.HasMember("parallel_tool_calls"));  // unset: the provider's default
  }
  p.tool_choice = {"tool", "get_weather"};
  rapidjson::Document doc = ParseBody(OpenAi().BuildRequest(p, "https://x/v1", "k"));
  EXPECT_STREQ(doc["tool_choice"]["type"].GetString(), "function");
  EXPECT_STREQ(doc["tool_choice"]["function"]["name"].GetString(), "get_weather");
  // Without tools OpenAI refuses tool_choice and parallel_tool_calls.
  p.tools.clear();
  p.parallel_tool_calls = true;
  doc = ParseBody(OpenAi().BuildRequest(p, "https://x/v1", "k"));
  EXPECT_FALSE(doc.HasMember("tools"));
  EXPECT_FALSE(doc.HasMember("tool_choice"));
  EXPECT_FALSE(doc.HasMember("parallel_tool_calls"));
}

TEST(OpenAiToolsRequestTest, ImagePartsWithDetail) {
  ChatParams p;
  p.model = "gpt-4o";
  ChatMessage user{"user", "", ""};
  user.parts = {{ContentPart::Kind::kText, "Describe the cover", "", ""},
                {ContentPart::Kind::kImageUrl, "", "https://example.com/a.png", "high"},
                {ContentPart::Kind::kImageUrl, "", "data:image/jpeg;base64,/9j/4AAQ", ""}};
  p.messages = {user};
  rapidjson::Document doc = ParseBody(OpenAi().BuildRequest(p, "https://x/v1", "k"));
  const auto& content = doc["messages"][0]["content"];
  ASSERT_TRUE(content.IsArray());
  ASSERT_EQ(content.Size(), 3u);
  EXPECT_STREQ(content[0]["type"].GetString(), "text");
  EXPECT_STREQ(content[0]["text"].GetString(), "Describe the cover");
  EXPECT_STREQ(content[1]["type"].GetString(), "image_url");
  EXPECT_STREQ(content[1]["image_url"]["url"].GetString(), "https://example.com/a.png");
  EXPECT_STREQ(content[1]["image_url"]["detail"].GetString(), "high");
  EXPECT_STREQ(content[2]["image_url"]["url"].GetString(), "data:image/jpeg;base64,/9j/4AAQ");
  EXPECT_FALSE(content[2]["image_url"].HasMember("detail"));
}

TEST(OpenAiToolsRequestTest, ResponseFormats) {
  ChatParams p = Params();
  p.response_format = {"json_object", "", "", false};
  rapidjson::Document doc = ParseBody(OpenAi().BuildRequest(p, "https://x/v1", "k"));
  EXPECT_STREQ(doc["response_format"]["type"].GetString(), "json_object");
  EXPECT_FALSE(doc["response_format"].HasMember("json_schema"));

  p.response_format = {"json_schema", "song",
                       R"({"type":"object","properties":{"title":{"type":"string"}}})", true};
  doc = ParseBody(OpenAi().BuildRequest(p, "https://x/v1", "k"));
  const auto& format = doc["response_format"];
  EXPECT_STREQ(format["type"].GetString(), "json_schema");
  EXPECT_STREQ(format["json_schema"]["name"].GetString(), "song");
  EXPECT_STREQ(format["json_schema"]["schema"]["properties"]["title"]["type"].GetString(),
               "string");
  EXPECT_TRUE(format["json_schema"]["strict"].GetBool());
  EXPECT_EQ(doc["messages"].Size(), 4u);  // OpenAI: no instruction added

  p.response_format = {"text", "", "", false};
  doc = ParseBody(OpenAi().BuildRequest(p, "https://x/v1", "k"));
  EXPECT_FALSE(doc.HasMember("response_format"));
}

TEST(OpenAiToolsRequestTest, DeepSeekTurnsASchemaIntoJsonObjectAndAnInstruction) {
  ChatParams p = Params();
  p.model = "deepseek-chat";
  p.seed = 7;
  p.response_format = {"json_schema", "song", R"({"type":"object"})", true};
  rapidjson::Document doc = ParseBody(AdapterFor("deepseek").BuildRequest(p, "https://x", "k"));
  EXPECT_STREQ(doc["response_format"]["type"].GetString(), "json_object");
  EXPECT_FALSE(doc["response_format"].HasMember("json_schema"));
  const auto& messages = doc["messages"];
  ASSERT_EQ(messages.Size(), 5u);
  EXPECT_STREQ(messages[0]["role"].GetString(), "system");
  EXPECT_EQ(std::string(messages[0]["content"].GetString()),
            DeepSeekSchemaInstruction(p.response_format));
  EXPECT_THAT(messages[0]["content"].GetString(), HasSubstr(R"({"type":"object"})"));
  EXPECT_THAT(messages[0]["content"].GetString(), HasSubstr("JSON"));
  EXPECT_STREQ(messages[1]["content"].GetString(), "You write lyrics.");
  EXPECT_FALSE(doc.HasMember("seed"));  // DeepSeek takes none

  p.response_format = {"json_object", "", "", false};
  doc = ParseBody(AdapterFor("deepseek").BuildRequest(p, "https://x", "k"));
  EXPECT_STREQ(doc["response_format"]["type"].GetString(), "json_object");
  EXPECT_EQ(doc["messages"].Size(), 4u);
}

TEST(OpenAiToolsRequestTest, PenaltiesSeedAndUserPassThrough) {
  ChatParams p = Params();
  p.presence_penalty = 0.5;
  p.frequency_penalty = -1.25;
  p.seed = 1234567890123;
  p.user = "u-1";
  rapidjson::Document doc = ParseBody(OpenAi().BuildRequest(p, "https://x/v1", "k"));
  EXPECT_DOUBLE_EQ(doc["presence_penalty"].GetDouble(), 0.5);
  EXPECT_DOUBLE_EQ(doc["frequency_penalty"].GetDouble(), -1.25);
  EXPECT_EQ(doc["seed"].GetInt64(), 1234567890123);
  EXPECT_STREQ(doc["user"].GetString(), "u-1");
  // Unset: not sent.
  doc = ParseBody(OpenAi().BuildRequest(Params(), "https://x/v1", "k"));
  EXPECT_FALSE(doc.HasMember("presence_penalty"));
  EXPECT_FALSE(doc.HasMember("frequency_penalty"));
  EXPECT_FALSE(doc.HasMember("seed"));
  EXPECT_FALSE(doc.HasMember("tools"));
  EXPECT_FALSE(doc.HasMember("response_format"));
}

TEST(OpenAiToolsRequestTest, BrokenSchemaTextStillGivesValidJson) {
  ChatParams p = ToolParams();
  p.tools[0].parameters_json = R"({"type":"object",)";
  p.messages[1].tool_calls[0].arguments_json = "";
  rapidjson::Document doc = ParseBody(OpenAi().BuildRequest(p, "https://x/v1", "k"));
  EXPECT_TRUE(doc["tools"][0]["function"]["parameters"].IsObject());
  EXPECT_STREQ(doc["messages"][1]["tool_calls"][0]["function"]["arguments"].GetString(), "{}");
}

// From OpenAI's function-calling guide (two calls in one turn).
constexpr char kOpenAiToolResponse[] = R"({
  "id": "chatcmpl-AAp6pHyv1BzvBMbdFHLrErBmsvEqK",
  "object": "chat.completion",
  "created": 1727149655,
  "model": "gpt-4o-2024-08-06",
  "choices": [{
    "index": 0,
    "message": {
      "role": "assistant",
      "content": null,
      "tool_calls": [
        {"id": "call_12345xyz", "type": "function",
         "function": {"name": "get_weather", "arguments": "{\"location\":\"Paris, France\"}"}},
        {"id": "call_67890abc", "type": "function",
         "function": {"name": "get_weather", "arguments": "{\"location\":\"Bogot\u00e1, Colombia\"}"}}
      ],
      "refusal": null
    },
    "logprobs": null,
    "finish_reason": "tool_calls"
  }],
  "usage": {"prompt_tokens": 82, "completion_tokens": 49, "total_tokens": 131}
})";

TEST(OpenAiToolsResponseTest, ToolCallsComeBack) {
  absl::StatusOr<Completion> c = OpenAi().ParseResponse(kOpenAiToolResponse);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->content, "");
  EXPECT_EQ(c->finish_reason, "tool_calls");
  EXPECT_EQ(c->tool_calls,
            (std::vector<ToolCall>{
                {"call_12345xyz", "get_weather", R"({"location":"Paris, France"})"},
                {"call_67890abc", "get_weather", "{\"location\":\"Bogot\xC3\xA1, Colombia\"}"}}));
}

// OpenAI's streamed shape: the first chunk of a call has its index, id, type
// and name with empty arguments; later ones only index and argument pieces.
constexpr char kOpenAiToolStream[] =
    "data: {\"id\":\"chatcmpl-t1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"index\":0,\"id\":\"call_a\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"\"}}],\"refusal\":null},\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}\n\n"
    "data: {\"id\":\"chatcmpl-t1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"city\\\":\"}}]},\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}\n\n"
    "data: {\"id\":\"chatcmpl-t1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"\\\"Paris\\\"}\"}}]},\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}\n\n"
    "data: {\"id\":\"chatcmpl-t1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":1,\"id\":\"call_b\",\"type\":\"function\",\"function\":{\"name\":\"get_time\",\"arguments\":\"\"}}]},\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}\n\n"
    "data: {\"id\":\"chatcmpl-t1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":1,\"function\":{\"arguments\":\"{}\"}}]},\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}\n\n"
    "data: {\"id\":\"chatcmpl-t1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":\"tool_calls\"}],\"usage\":null}\n\n"
    "data: {\"id\":\"chatcmpl-t1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o\",\"choices\":[],\"usage\":{\"prompt_tokens\":80,\"completion_tokens\":30,\"total_tokens\":110}}\n\n"
    "data: [DONE]\n\n";

TEST(OpenAiToolsStreamTest, ToolCallDeltasByIndex) {
  EXPECT_THAT(FeedWhole(OpenAi(), kOpenAiToolStream),
              ElementsAre("tool_call 0 id=[call_a] name=[get_weather] args=[] id=chatcmpl-t1 "
                          "model=gpt-4o",
                          "tool_call 0 id=[] name=[] args=[{\"city\":]",
                          "tool_call 0 id=[] name=[] args=[\"Paris\"}]",
                          "tool_call 1 id=[call_b] name=[get_time] args=[]",
                          "tool_call 1 id=[] name=[] args=[{}]", "finish tool_calls",
                          "usage p=80 c=30 t=110 cached=0 creation=0 reasoning=0", "done"));
  ExpectSplitInvariant(OpenAi(), kOpenAiToolStream);
}

TEST(OpenAiToolsStreamTest, SparseUpstreamIndexesAreRenumbered) {
  const char kStream[] =
      "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":5,\"id\":\"c5\",\"function\":{\"name\":\"a\",\"arguments\":\"{\\\"x\\\":1}\"}},{\"index\":2000000000,\"id\":\"c9\",\"function\":{\"name\":\"b\"}}]}}]}\n\n"
      "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":5,\"function\":{\"arguments\":\"\"}}]}}]}\n\n";
  EXPECT_THAT(FeedWhole(OpenAi(), kStream),
              ElementsAre("tool_call 0 id=[c5] name=[a] args=[{\"x\":1}]",
                          "tool_call 1 id=[c9] name=[b] args=[]"));  // the empty piece dropped
}

TEST(OpenAiModelsTest, ListRequestAndParse) {
  HttpRequest r = OpenAi().BuildListModelsRequest("https://api.deepseek.com/", "sk-1");
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(r.url, "https://api.deepseek.com/models");
  EXPECT_THAT(r.headers, ElementsAre(Pair("Authorization", "Bearer sk-1")));
  absl::StatusOr<std::vector<ModelInfo>> models = OpenAi().ParseModelList(
      R"({"object":"list","data":[{"id":"deepseek-chat","object":"model","owned_by":"deepseek"},{"id":"deepseek-reasoner","object":"model","owned_by":"deepseek"},{"object":"model"}]})");
  ASSERT_TRUE(models.ok()) << models.status();
  ASSERT_EQ(models->size(), 2u);
  EXPECT_EQ((*models)[0].id, "deepseek-chat");
  EXPECT_EQ((*models)[1].id, "deepseek-reasoner");
  EXPECT_FALSE(OpenAi().ParseModelList("{\"data\":{}}").ok());
  EXPECT_FALSE(OpenAi().ParseModelList("oops").ok());
}

}  // namespace
}  // namespace aigw::providers
