// Tools, images, structured output and the pass-through knobs through the
// pipeline against the fake upstream (real HTTP) and the real keypool: each
// provider format, unary and streamed, with the upstream request bodies
// checked field by field and the answers mapped back.

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "libs/providers/anthropic_adapter.h"
#include "libs/providers/openai_adapter.h"
#include "rapidjson/document.h"
#include "tests/gateway/gateway_harness.h"

namespace aigw::gateway::testing {
namespace {

// A whole 1 x 1 PNG: the gateway reads an image's header (its size counts
// in tokens; a cut image is refused).
#define AIGW_TEST_PNG_BASE64 \
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4//8/AAX+Av4N70a4AAAAAElFTkSuQmCC"
constexpr char kPngBase64[] = AIGW_TEST_PNG_BASE64;
constexpr char kPngDataUrl[] = "data:image/png;base64," AIGW_TEST_PNG_BASE64;

constexpr char kGetWeatherSchema[] =
    R"({"type":"object","properties":{"city":{"type":"string"}},"required":["city"]})";

class ChatFeaturesPipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::Status st = h_.Start({{"openai", "sk-openai-000000000001", 100},
                                {"deepseek", "sk-deepseek-000000000001", 100},
                                {"anthropic", "sk-ant-000000000000001", 100}});
    ASSERT_TRUE(st.ok()) << st;
  }

  // The body of the only upstream request, parsed.
  rapidjson::Document UpstreamBody() {
    auto requests = h_.upstream().requests().Requests();
    EXPECT_EQ(requests.size(), 1u);
    rapidjson::Document doc;
    if (requests.empty()) return doc;
    body_ = requests.back().body;
    doc.Parse(body_.c_str());
    EXPECT_FALSE(doc.HasParseError()) << body_;
    // Not the recorded status: for a stream the fake records it after its
    // last byte, which the gateway may have relayed before that. Each test
    // checks the call's own result instead.
    return doc;
  }

  static void AddTools(aigw::v1::ChatCompletionRequest* r) {
    auto* weather = r->add_tools();
    weather->set_name("get_weather");
    weather->set_description("Current weather for a city");
    weather->set_parameters_json(kGetWeatherSchema);
    weather->set_strict(true);
    auto* time = r->add_tools();
    time->set_name("get_time");
  }

  // user question, assistant calls both tools, both results.
  static aigw::v1::ChatCompletionRequest ToolConversation(const std::string& provider) {
    auto r = UserRequest(provider, "", "Weather and time in Paris?");
    AddTools(&r);
    auto* assistant = r.add_messages();
    assistant->set_role("assistant");
    auto* c1 = assistant->add_tool_calls();
    c1->set_id("call_w");
    c1->set_name("get_weather");
    c1->set_arguments_json(R"({"city":"Paris"})");
    auto* c2 = assistant->add_tool_calls();
    c2->set_id("call_t");
    c2->set_name("get_time");
    c2->set_arguments_json("{}");
    auto* r1 = r.add_messages();
    r1->set_role("tool");
    r1->set_tool_call_id("call_w");
    r1->set_content("18C sunny");
    auto* r2 = r.add_messages();
    r2->set_role("tool");
    r2->set_tool_call_id("call_t");
    r2->set_content("14:05");
    return r;
  }

  static aigw::v1::ChatCompletionRequest ImageRequest(const std::string& provider) {
    aigw::v1::ChatCompletionRequest r = UserRequest(provider, "", "");
    auto* m = r.mutable_messages(0);
    m->add_parts()->set_text("Describe both covers");
    auto* remote = m->add_parts()->mutable_image_url();
    remote->set_url("https://example.com/cover.png");
    remote->set_detail("low");
    m->add_parts()->mutable_image_url()->set_url(kPngDataUrl);
    return r;
  }

  // The tool calls a stream's chunks amount to, checking that each call's
  // first delta has its id and name and the later ones only arguments.
  static std::vector<aigw::v1::ToolCall> StreamedToolCalls(const CallResult& r) {
    std::vector<aigw::v1::ToolCall> calls;
    for (const auto& chunk : r.chunks) {
      for (const auto& d : chunk.tool_call_deltas()) {
        EXPECT_LE(d.index(), static_cast<int>(calls.size()));
        if (d.index() == static_cast<int>(calls.size())) {
          EXPECT_FALSE(d.id().empty());
          EXPECT_FALSE(d.name().empty());
          calls.emplace_back().set_id(d.id());
          calls.back().set_name(d.name());
        } else {
          EXPECT_TRUE(d.id().empty());
          EXPECT_TRUE(d.name().empty());
        }
        calls[d.index()].mutable_arguments_json()->append(d.arguments_delta());
      }
    }
    return calls;
  }

  static std::string StreamedText(const CallResult& r) {
    std::string text;
    for (const auto& c : r.chunks) text += c.delta_content();
    return text;
  }

  GatewayHarness h_;
  std::string body_;  // keeps the parsed body's strings alive
};

// --- OpenAI / DeepSeek ---------------------------------------------------------

TEST_F(ChatFeaturesPipelineTest, OpenAiToolCallsUnary) {
  auto req = UserRequest("openai", "gpt-4o", "Weather in Paris?");
  AddTools(&req);
  req.mutable_tool_choice()->set_mode("required");
  req.set_parallel_tool_calls(true);
  CallResult r = h_.Run(req);
  ASSERT_TRUE(r.status.ok()) << r.status;

  rapidjson::Document body = UpstreamBody();
  const auto& tools = body["tools"];
  ASSERT_EQ(tools.Size(), 2u);
  EXPECT_STREQ(tools[0]["type"].GetString(), "function");
  EXPECT_STREQ(tools[0]["function"]["name"].GetString(), "get_weather");
  EXPECT_STREQ(tools[0]["function"]["description"].GetString(), "Current weather for a city");
  EXPECT_STREQ(tools[0]["function"]["parameters"]["properties"]["city"]["type"].GetString(),
               "string");
  EXPECT_TRUE(tools[0]["function"]["strict"].GetBool());
  EXPECT_STREQ(tools[1]["function"]["name"].GetString(), "get_time");
  EXPECT_FALSE(tools[1]["function"].HasMember("parameters"));
  EXPECT_STREQ(body["tool_choice"].GetString(), "required");
  EXPECT_TRUE(body["parallel_tool_calls"].GetBool());

  EXPECT_EQ(r.completion.finish_reason(), "tool_calls");
  EXPECT_EQ(r.completion.content(), "");
  ASSERT_EQ(r.completion.tool_calls_size(), 2);
  EXPECT_EQ(r.completion.tool_calls(0).id(), "call_fake_1");
  EXPECT_EQ(r.completion.tool_calls(0).name(), "get_weather");
  EXPECT_EQ(r.completion.tool_calls(0).arguments_json(), R"({"echo":"Weather in Paris?"})");
  EXPECT_EQ(r.completion.tool_calls(1).id(), "call_fake_2");
  EXPECT_EQ(r.completion.tool_calls(1).name(), "get_time");

  auto events = h_.events().events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].tool_calls(), 2);
  EXPECT_EQ(events[0].images(), 0);
}

TEST_F(ChatFeaturesPipelineTest, OpenAiToolCallsStreamed) {
  auto req = UserRequest("openai", "gpt-4o", "Weather in Paris?");
  AddTools(&req);
  req.mutable_tool_choice()->set_mode("tool");
  req.mutable_tool_choice()->set_name("get_weather");
  CallResult r = h_.Run(req, /*stream=*/true);
  ASSERT_TRUE(r.status.ok()) << r.status;

  rapidjson::Document body = UpstreamBody();
  EXPECT_STREQ(body["tool_choice"]["type"].GetString(), "function");
  EXPECT_STREQ(body["tool_choice"]["function"]["name"].GetString(), "get_weather");
  EXPECT_FALSE(body.HasMember("parallel_tool_calls"));

  std::vector<aigw::v1::ToolCall> calls = StreamedToolCalls(r);
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].id(), "call_fake_1");
  EXPECT_EQ(calls[0].name(), "get_weather");
  EXPECT_EQ(calls[0].arguments_json(), R"({"echo":"Weather in Paris?"})");
  EXPECT_GT(r.chunks.size(), 3u);  // the arguments came in pieces
  EXPECT_EQ(r.chunks.back().finish_reason(), "tool_calls");
  EXPECT_EQ(StreamedText(r), "");
  auto events = h_.events().events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].tool_calls(), 1);
}

TEST_F(ChatFeaturesPipelineTest, OpenAiToolResultsGoBackAsToolTurns) {
  CallResult r = h_.Run(ToolConversation("openai"));
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_EQ(r.completion.content(), "tool results: 18C sunny; 14:05");
  EXPECT_EQ(r.completion.finish_reason(), "stop");
  EXPECT_EQ(r.completion.tool_calls_size(), 0);

  rapidjson::Document body = UpstreamBody();
  const auto& messages = body["messages"];
  ASSERT_EQ(messages.Size(), 4u);
  const auto& assistant = messages[1];
  EXPECT_STREQ(assistant["role"].GetString(), "assistant");
  EXPECT_TRUE(assistant["content"].IsNull());
  ASSERT_EQ(assistant["tool_calls"].Size(), 2u);
  EXPECT_STREQ(assistant["tool_calls"][0]["id"].GetString(), "call_w");
  EXPECT_STREQ(assistant["tool_calls"][0]["type"].GetString(), "function");
  EXPECT_STREQ(assistant["tool_calls"][0]["function"]["name"].GetString(), "get_weather");
  EXPECT_STREQ(assistant["tool_calls"][0]["function"]["arguments"].GetString(),
               R"({"city":"Paris"})");
  EXPECT_STREQ(messages[2]["role"].GetString(), "tool");
  EXPECT_STREQ(messages[2]["tool_call_id"].GetString(), "call_w");
  EXPECT_STREQ(messages[2]["content"].GetString(), "18C sunny");
  EXPECT_STREQ(messages[3]["tool_call_id"].GetString(), "call_t");
}

TEST_F(ChatFeaturesPipelineTest, OpenAiImagePartsUnaryAndStreamed) {
  for (bool stream : {false, true}) {
    SCOPED_TRACE(stream ? "streamed" : "unary");
    h_.upstream().requests().ClearRequests();
    CallResult r = h_.Run(ImageRequest("openai"), stream);
    ASSERT_TRUE(r.status.ok()) << r.status;
    EXPECT_EQ(stream ? StreamedText(r) : r.completion.content(),
              "echo: Describe both covers [images: 2]");
    rapidjson::Document body = UpstreamBody();
    const auto& content = body["messages"][0]["content"];
    ASSERT_TRUE(content.IsArray());
    ASSERT_EQ(content.Size(), 3u);
    EXPECT_STREQ(content[0]["type"].GetString(), "text");
    EXPECT_STREQ(content[0]["text"].GetString(), "Describe both covers");
    EXPECT_STREQ(content[1]["type"].GetString(), "image_url");
    EXPECT_STREQ(content[1]["image_url"]["url"].GetString(), "https://example.com/cover.png");
    EXPECT_STREQ(content[1]["image_url"]["detail"].GetString(), "low");
    EXPECT_STREQ(content[2]["image_url"]["url"].GetString(), kPngDataUrl);
    EXPECT_FALSE(content[2]["image_url"].HasMember("detail"));
  }
  auto events = h_.events().events();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].images(), 2);
  EXPECT_EQ(events[1].images(), 2);
}

TEST_F(ChatFeaturesPipelineTest, OpenAiJsonSchemaAndKnobs) {
  auto req = UserRequest("openai", "gpt-4o", "name a song");
  auto* format = req.mutable_response_format();
  format->set_type("json_schema");
  format->set_name("song");
  format->set_schema_json(R"({"type":"object","properties":{"echo":{"type":"string"}}})");
  format->set_strict(true);
  req.set_presence_penalty(0.5);
  req.set_frequency_penalty(-0.25);
  req.set_seed(42);
  CallResult r = h_.Run(req);
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_EQ(r.completion.content(), R"({"echo":"name a song"})");

  rapidjson::Document body = UpstreamBody();
  EXPECT_STREQ(body["response_format"]["type"].GetString(), "json_schema");
  EXPECT_STREQ(body["response_format"]["json_schema"]["name"].GetString(), "song");
  EXPECT_STREQ(
      body["response_format"]["json_schema"]["schema"]["properties"]["echo"]["type"].GetString(),
      "string");
  EXPECT_TRUE(body["response_format"]["json_schema"]["strict"].GetBool());
  EXPECT_DOUBLE_EQ(body["presence_penalty"].GetDouble(), 0.5);
  EXPECT_DOUBLE_EQ(body["frequency_penalty"].GetDouble(), -0.25);
  EXPECT_EQ(body["seed"].GetInt64(), 42);
  EXPECT_STREQ(body["user"].GetString(), "user-7");
}

TEST_F(ChatFeaturesPipelineTest, DeepSeekJsonSchemaBecomesJsonObjectStreamed) {
  auto req = UserRequest("deepseek", "deepseek-chat", "name a song");
  req.mutable_response_format()->set_type("json_schema");
  req.mutable_response_format()->set_name("song");
  req.mutable_response_format()->set_schema_json(R"({"type":"object"})");
  req.set_seed(42);
  req.set_presence_penalty(1);
  CallResult r = h_.Run(req, /*stream=*/true);
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_EQ(StreamedText(r), R"({"echo":"name a song"})");

  rapidjson::Document body = UpstreamBody();
  EXPECT_STREQ(body["response_format"]["type"].GetString(), "json_object");
  const auto& messages = body["messages"];
  ASSERT_EQ(messages.Size(), 2u);
  EXPECT_STREQ(messages[0]["role"].GetString(), "system");
  EXPECT_EQ(std::string(messages[0]["content"].GetString()),
            providers::DeepSeekSchemaInstruction(
                {"json_schema", "song", R"({"type":"object"})", false}));
  EXPECT_FALSE(body.HasMember("seed"));
  EXPECT_DOUBLE_EQ(body["presence_penalty"].GetDouble(), 1.0);
}

TEST_F(ChatFeaturesPipelineTest, DeepSeekToolCallsStreamed) {
  auto req = UserRequest("deepseek", "deepseek-chat", "Weather in Paris?");
  AddTools(&req);
  req.set_parallel_tool_calls(false);
  CallResult r = h_.Run(req, /*stream=*/true);
  ASSERT_TRUE(r.status.ok()) << r.status;
  std::vector<aigw::v1::ToolCall> calls = StreamedToolCalls(r);
  ASSERT_EQ(calls.size(), 1u);  // parallel calls off: one call
  EXPECT_EQ(calls[0].name(), "get_weather");
  EXPECT_EQ(calls[0].arguments_json(), R"({"echo":"Weather in Paris?"})");
  EXPECT_EQ(r.chunks.back().finish_reason(), "tool_calls");
  EXPECT_FALSE(UpstreamBody()["parallel_tool_calls"].GetBool());
}

// --- Anthropic ------------------------------------------------------------------

TEST_F(ChatFeaturesPipelineTest, AnthropicToolCallsUnary) {
  auto req = UserRequest("anthropic", "", "Weather in Paris?");
  AddTools(&req);
  req.mutable_tool_choice()->set_mode("required");
  req.set_parallel_tool_calls(false);
  CallResult r = h_.Run(req);
  ASSERT_TRUE(r.status.ok()) << r.status;

  rapidjson::Document body = UpstreamBody();
  const auto& tools = body["tools"];
  ASSERT_EQ(tools.Size(), 2u);
  EXPECT_STREQ(tools[0]["name"].GetString(), "get_weather");
  EXPECT_STREQ(tools[0]["description"].GetString(), "Current weather for a city");
  EXPECT_STREQ(tools[0]["input_schema"]["properties"]["city"]["type"].GetString(), "string");
  EXPECT_STREQ(tools[1]["input_schema"]["type"].GetString(), "object");
  EXPECT_STREQ(body["tool_choice"]["type"].GetString(), "any");
  EXPECT_TRUE(body["tool_choice"]["disable_parallel_tool_use"].GetBool());

  EXPECT_EQ(r.completion.finish_reason(), "tool_calls");
  ASSERT_EQ(r.completion.tool_calls_size(), 1);
  EXPECT_EQ(r.completion.tool_calls(0).id(), "toolu_fake_1");
  EXPECT_EQ(r.completion.tool_calls(0).name(), "get_weather");
  EXPECT_EQ(r.completion.tool_calls(0).arguments_json(), R"({"echo":"Weather in Paris?"})");
  auto events = h_.events().events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].tool_calls(), 1);
}

TEST_F(ChatFeaturesPipelineTest, AnthropicToolCallsStreamed) {
  auto req = UserRequest("anthropic", "", "Weather in Paris?");
  AddTools(&req);
  CallResult r = h_.Run(req, /*stream=*/true);
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_FALSE(UpstreamBody().HasMember("tool_choice"));
  std::vector<aigw::v1::ToolCall> calls = StreamedToolCalls(r);
  ASSERT_EQ(calls.size(), 2u);  // parallel calls allowed: every tool
  EXPECT_EQ(calls[0].id(), "toolu_fake_1");
  EXPECT_EQ(calls[0].name(), "get_weather");
  EXPECT_EQ(calls[0].arguments_json(), R"({"echo":"Weather in Paris?"})");
  EXPECT_EQ(calls[1].id(), "toolu_fake_2");
  EXPECT_EQ(calls[1].name(), "get_time");
  EXPECT_EQ(r.chunks.back().finish_reason(), "tool_calls");
  ASSERT_TRUE(r.chunks.back().has_usage());
  EXPECT_GT(r.chunks.back().usage().completion_tokens(), 0);
}

TEST_F(ChatFeaturesPipelineTest, AnthropicToolResultsMergeIntoOneUserTurn) {
  for (bool stream : {false, true}) {
    SCOPED_TRACE(stream ? "streamed" : "unary");
    h_.upstream().requests().ClearRequests();
    CallResult r = h_.Run(ToolConversation("anthropic"), stream);
    ASSERT_TRUE(r.status.ok()) << r.status;
    EXPECT_EQ(stream ? StreamedText(r) : r.completion.content(), "tool results: 18C sunny; 14:05");

    rapidjson::Document body = UpstreamBody();
    const auto& messages = body["messages"];
    ASSERT_EQ(messages.Size(), 3u);
    const auto& assistant = messages[1]["content"];
    ASSERT_EQ(assistant.Size(), 2u);
    EXPECT_STREQ(assistant[0]["type"].GetString(), "tool_use");
    EXPECT_STREQ(assistant[0]["id"].GetString(), "call_w");
    EXPECT_STREQ(assistant[0]["name"].GetString(), "get_weather");
    EXPECT_STREQ(assistant[0]["input"]["city"].GetString(), "Paris");
    EXPECT_TRUE(assistant[1]["input"].IsObject());
    const auto& user = messages[2];
    EXPECT_STREQ(user["role"].GetString(), "user");
    ASSERT_EQ(user["content"].Size(), 2u);
    EXPECT_STREQ(user["content"][0]["type"].GetString(), "tool_result");
    EXPECT_STREQ(user["content"][0]["tool_use_id"].GetString(), "call_w");
    EXPECT_STREQ(user["content"][0]["content"].GetString(), "18C sunny");
    EXPECT_STREQ(user["content"][1]["tool_use_id"].GetString(), "call_t");
    EXPECT_STREQ(user["content"][1]["content"].GetString(), "14:05");
  }
}

TEST_F(ChatFeaturesPipelineTest, AnthropicImageBlocksUnaryAndStreamed) {
  for (bool stream : {false, true}) {
    SCOPED_TRACE(stream ? "streamed" : "unary");
    h_.upstream().requests().ClearRequests();
    CallResult r = h_.Run(ImageRequest("anthropic"), stream);
    ASSERT_TRUE(r.status.ok()) << r.status;
    EXPECT_EQ(stream ? StreamedText(r) : r.completion.content(),
              "echo: Describe both covers [images: 2]");
    rapidjson::Document body = UpstreamBody();
    const auto& content = body["messages"][0]["content"];
    ASSERT_EQ(content.Size(), 3u);
    EXPECT_STREQ(content[0]["type"].GetString(), "text");
    EXPECT_STREQ(content[1]["type"].GetString(), "image");
    EXPECT_STREQ(content[1]["source"]["type"].GetString(), "url");
    EXPECT_STREQ(content[1]["source"]["url"].GetString(), "https://example.com/cover.png");
    EXPECT_STREQ(content[2]["source"]["type"].GetString(), "base64");
    EXPECT_STREQ(content[2]["source"]["media_type"].GetString(), "image/png");
    EXPECT_STREQ(content[2]["source"]["data"].GetString(), kPngBase64);
  }
  for (const auto& ev : h_.events().events()) EXPECT_EQ(ev.images(), 2);
}

TEST_F(ChatFeaturesPipelineTest, AnthropicJsonSchemaIsAForcedToolUnaryAndStreamed) {
  auto req = UserRequest("anthropic", "", "name a song");
  req.mutable_response_format()->set_type("json_schema");
  req.mutable_response_format()->set_name("song");
  req.mutable_response_format()->set_schema_json(
      R"({"type":"object","properties":{"echo":{"type":"string"}}})");
  req.set_presence_penalty(0.5);
  req.set_seed(42);
  for (bool stream : {false, true}) {
    SCOPED_TRACE(stream ? "streamed" : "unary");
    h_.upstream().requests().ClearRequests();
    CallResult r = h_.Run(req, stream);
    ASSERT_TRUE(r.status.ok()) << r.status;
    EXPECT_EQ(stream ? StreamedText(r) : r.completion.content(), R"({"echo":"name a song"})");
    EXPECT_EQ(stream ? r.chunks.back().finish_reason() : r.completion.finish_reason(), "stop");
    EXPECT_EQ(r.completion.tool_calls_size(), 0);

    rapidjson::Document body = UpstreamBody();
    ASSERT_EQ(body["tools"].Size(), 1u);
    EXPECT_EQ(std::string(body["tools"][0]["name"].GetString()),
              providers::AnthropicAdapter::kStructuredOutputTool);
    EXPECT_STREQ(body["tools"][0]["input_schema"]["properties"]["echo"]["type"].GetString(),
                 "string");
    EXPECT_STREQ(body["tool_choice"]["type"].GetString(), "tool");
    EXPECT_EQ(std::string(body["tool_choice"]["name"].GetString()),
              providers::AnthropicAdapter::kStructuredOutputTool);
    EXPECT_FALSE(body.HasMember("response_format"));
    EXPECT_FALSE(body.HasMember("presence_penalty"));
    EXPECT_FALSE(body.HasMember("seed"));
    EXPECT_STREQ(body["metadata"]["user_id"].GetString(), "user-7");
  }
  for (const auto& ev : h_.events().events()) EXPECT_EQ(ev.tool_calls(), 0);
}

// --- Fallbacks and capabilities ------------------------------------------------

// The seed catalogue's deepseek-reasoner has no function calling and
// deepseek-chat no vision: as fallbacks of requests that need them they are
// passed over, each with an event saying why, and the call goes on.
TEST_F(ChatFeaturesPipelineTest, AFallbackWithoutACapabilityIsSkippedWithItsReasonRecorded) {
  h_.AddRule(R"({"path":"/v1/chat/completions","status":403,)"
             R"("message":"Country, region, or territory not supported"})");
  auto req = UserRequest("openai", "gpt-4o-mini", "Weather in Paris?");
  AddTools(&req);
  auto* reasoner = req.add_fallbacks();
  reasoner->set_provider_code("deepseek");
  reasoner->set_model("deepseek-reasoner");
  auto* chat = req.add_fallbacks();
  chat->set_provider_code("deepseek");
  chat->set_model("deepseek-chat");
  CallResult r = h_.Run(req);
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_EQ(r.completion.model(), "deepseek-chat");
  auto requests = h_.upstream().requests().Requests();
  ASSERT_EQ(requests.size(), 2u);  // openai, then deepseek-chat: the reasoner never
  EXPECT_NE(requests[1].body.find(R"("model":"deepseek-chat")"), std::string::npos)
      << requests[1].body;
  auto events = h_.events().events();
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[1].model(), "deepseek-reasoner");
  EXPECT_EQ(events[1].outcome(), aigw::v1::NOT_SENT);
  EXPECT_EQ(events[1].error_code(), "UNSUPPORTED_CAPABILITY");
  EXPECT_EQ(events[1].key_id(), 0);
  EXPECT_NE(events[1].error_message().find(
                "fallbacks[0]: model 'deepseek-reasoner' of provider 'deepseek' does not "
                "support function calling"),
            std::string::npos)
      << events[1].error_message();
  EXPECT_EQ(events[2].outcome(), aigw::v1::SUCCESS);
  EXPECT_TRUE(events[2].is_final());

  // Images: the only fallback cannot see them; the caller hears why the
  // first target failed and why the fallback was not tried.
  h_.upstream().requests().ClearRequests();
  auto images = ImageRequest("openai");
  images.add_fallbacks()->set_provider_code("deepseek");
  CallResult refused = h_.Run(images);
  EXPECT_EQ(refused.status.code(), absl::StatusCode::kPermissionDenied) << refused.status;
  EXPECT_NE(refused.status.message().find(
                "fallbacks[0]: model 'deepseek-chat' of provider 'deepseek' does not support "
                "images (supports_vision is off in its catalogue entry)"),
            std::string::npos)
      << refused.status;
  EXPECT_EQ(h_.upstream().requests().Requests().size(), 1u);
}

}  // namespace
}  // namespace aigw::gateway::testing
