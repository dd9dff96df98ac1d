#include "services/gateway/chat_params.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace aigw::gateway {
namespace {

using providers::ContentPart;
using providers::ToolCall;

const ModelEntry kGpt{.id = 1, .code = "gpt-4o", .max_output_tokens = 16384};
const ModelEntry kClaude{.id = 2, .code = "claude-3-5-sonnet", .max_output_tokens = 8192};
const ModelEntry kUnknownLimits{.id = 3, .code = "custom-model"};

aigw::v1::ChatCompletionRequest Plain() {
  aigw::v1::ChatCompletionRequest r;
  r.set_provider_code("openai");
  auto* system = r.add_messages();
  system->set_role("system");
  system->set_content("be terse");
  auto* user = r.add_messages();
  user->set_role("user");
  user->set_content("write a chorus");
  user->set_name("ana");
  r.mutable_caller()->set_user_id("user-7");
  return r;
}

TEST(ChatParamsTest, PlainRequestCopiesTextAndKnobs) {
  auto r = Plain();
  r.set_temperature(0.5);
  r.set_top_p(0.9);
  r.add_stop("END");
  r.set_presence_penalty(0.25);
  r.set_frequency_penalty(-0.5);
  r.set_seed(42);
  providers::ChatParams p = BuildChatParams(r, kGpt, /*stream=*/true);
  EXPECT_EQ(p.model, "gpt-4o");
  ASSERT_EQ(p.messages.size(), 2u);
  EXPECT_EQ(p.messages[0].role, "system");
  EXPECT_EQ(p.messages[0].content, "be terse");
  EXPECT_EQ(p.messages[1].name, "ana");
  EXPECT_TRUE(p.messages[1].IsPlainText());
  EXPECT_EQ(p.temperature, 0.5);
  EXPECT_EQ(p.top_p, 0.9);
  EXPECT_THAT(p.stop, testing::ElementsAre("END"));
  EXPECT_TRUE(p.stream);
  EXPECT_EQ(p.user, "user-7");
  EXPECT_EQ(p.presence_penalty, 0.25);
  EXPECT_EQ(p.frequency_penalty, -0.5);
  EXPECT_EQ(p.seed, 42);
  EXPECT_FALSE(p.max_tokens.has_value());  // OpenAI: the model's own default
  EXPECT_TRUE(p.tools.empty());
  EXPECT_EQ(p.tool_choice.mode, "");
  EXPECT_FALSE(p.parallel_tool_calls.has_value());
  EXPECT_EQ(p.response_format.type, "");
}

TEST(ChatParamsTest, UnsetKnobsStayUnset) {
  providers::ChatParams p = BuildChatParams(Plain(), kGpt, /*stream=*/false);
  EXPECT_FALSE(p.temperature.has_value());
  EXPECT_FALSE(p.top_p.has_value());
  EXPECT_FALSE(p.presence_penalty.has_value());
  EXPECT_FALSE(p.frequency_penalty.has_value());
  EXPECT_FALSE(p.seed.has_value());
  EXPECT_FALSE(p.stream);
}

TEST(ChatParamsTest, MaxTokensIsCappedAtTheModelsLimit) {
  auto r = Plain();
  r.set_max_tokens(10000);
  EXPECT_EQ(BuildChatParams(r, kGpt, false).max_tokens, 10000);
  EXPECT_EQ(BuildChatParams(r, kClaude, false).max_tokens, 8192);
  EXPECT_EQ(BuildChatParams(r, kUnknownLimits, false).max_tokens, 10000);
}

TEST(ChatParamsTest, TheModelsOutputLimitTravelsForFormatsThatNeedOne) {
  EXPECT_FALSE(BuildChatParams(Plain(), kClaude, false).max_tokens.has_value());
  EXPECT_EQ(BuildChatParams(Plain(), kClaude, false).model_max_output_tokens, 8192);
  EXPECT_EQ(BuildChatParams(Plain(), kUnknownLimits, false).model_max_output_tokens, 0);
}

TEST(ChatParamsTest, PartsToolCallsAndToolResultsAreCopied) {
  aigw::v1::ChatCompletionRequest r;
  auto* user = r.add_messages();
  user->set_role("user");
  user->add_parts()->set_text("what is on the cover?");
  auto* image = user->add_parts()->mutable_image_url();
  image->set_url("https://example.com/cover.png");
  image->set_detail("low");
  auto* assistant = r.add_messages();
  assistant->set_role("assistant");
  auto* call = assistant->add_tool_calls();
  call->set_id("call_1");
  call->set_name("lookup");
  call->set_arguments_json(R"({"q":"cover"})");
  auto* tool = r.add_messages();
  tool->set_role("tool");
  tool->set_tool_call_id("call_1");
  tool->set_content("a red guitar");

  providers::ChatParams p = BuildChatParams(r, kGpt, false);
  ASSERT_EQ(p.messages.size(), 3u);
  EXPECT_THAT(p.messages[0].parts,
              testing::ElementsAre(
                  ContentPart{ContentPart::Kind::kText, "what is on the cover?", "", ""},
                  ContentPart{ContentPart::Kind::kImageUrl, "", "https://example.com/cover.png",
                              "low"}));
  EXPECT_FALSE(p.messages[0].IsPlainText());
  EXPECT_THAT(p.messages[1].tool_calls,
              testing::ElementsAre(ToolCall{"call_1", "lookup", R"({"q":"cover"})"}));
  EXPECT_FALSE(p.messages[1].IsPlainText());
  EXPECT_EQ(p.messages[2].role, "tool");
  EXPECT_EQ(p.messages[2].tool_call_id, "call_1");
  EXPECT_EQ(p.messages[2].content, "a red guitar");
  EXPECT_FALSE(p.messages[2].IsPlainText());
}

TEST(ChatParamsTest, ToolsChoiceParallelAndResponseFormatAreCopied) {
  auto r = Plain();
  auto* tool = r.add_tools();
  tool->set_name("get_weather");
  tool->set_description("Weather for a city");
  tool->set_parameters_json(R"({"type":"object","properties":{"city":{"type":"string"}}})");
  tool->set_strict(true);
  r.mutable_tool_choice()->set_mode("tool");
  r.mutable_tool_choice()->set_name("get_weather");
  r.set_parallel_tool_calls(false);
  auto* format = r.mutable_response_format();
  format->set_type("json_schema");
  format->set_name("song");
  format->set_schema_json(R"({"type":"object"})");
  format->set_strict(true);

  providers::ChatParams p = BuildChatParams(r, kGpt, false);
  ASSERT_EQ(p.tools.size(), 1u);
  EXPECT_EQ(p.tools[0].name, "get_weather");
  EXPECT_EQ(p.tools[0].description, "Weather for a city");
  EXPECT_EQ(p.tools[0].parameters_json, tool->parameters_json());
  EXPECT_TRUE(p.tools[0].strict);
  EXPECT_EQ(p.tool_choice.mode, "tool");
  EXPECT_EQ(p.tool_choice.name, "get_weather");
  EXPECT_EQ(p.parallel_tool_calls, false);
  EXPECT_EQ(p.response_format.type, "json_schema");
  EXPECT_EQ(p.response_format.name, "song");
  EXPECT_EQ(p.response_format.schema_json, R"({"type":"object"})");
  EXPECT_TRUE(p.response_format.strict);
  EXPECT_TRUE(p.response_format.IsJson());
}

TEST(ChatParamsTest, CountImagesCountsImagePartsOnly) {
  aigw::v1::ChatCompletionRequest r = Plain();
  EXPECT_EQ(CountImages(r), 0);
  auto* m = r.add_messages();
  m->set_role("user");
  m->add_parts()->set_text("two covers");
  m->add_parts()->mutable_image_url()->set_url("https://example.com/a.png");
  m->add_parts()->mutable_image_url()->set_url("data:image/png;base64,AAAA");
  r.add_messages()->add_parts()->mutable_image_url()->set_url("https://example.com/b.png");
  EXPECT_EQ(CountImages(r), 3);
}

TEST(ChatParamsTest, SetDeltaCarriesTextOrAToolCallPiece) {
  providers::StreamEvent text;
  text.kind = providers::StreamEvent::Kind::kDelta;
  text.delta_content = "Hel";
  text.delta_reasoning = "hmm";
  aigw::v1::ChatCompletionChunk chunk;
  SetDelta(text, &chunk);
  EXPECT_EQ(chunk.delta_content(), "Hel");
  EXPECT_EQ(chunk.delta_reasoning_content(), "hmm");
  EXPECT_EQ(chunk.tool_call_deltas_size(), 0);

  providers::StreamEvent call;
  call.kind = providers::StreamEvent::Kind::kToolCall;
  call.tool_call = {1, "call_b", "get_time", R"({"tz":)"};
  aigw::v1::ChatCompletionChunk tool_chunk;
  SetDelta(call, &tool_chunk);
  ASSERT_EQ(tool_chunk.tool_call_deltas_size(), 1);
  EXPECT_EQ(tool_chunk.tool_call_deltas(0).index(), 1);
  EXPECT_EQ(tool_chunk.tool_call_deltas(0).id(), "call_b");
  EXPECT_EQ(tool_chunk.tool_call_deltas(0).name(), "get_time");
  EXPECT_EQ(tool_chunk.tool_call_deltas(0).arguments_delta(), R"({"tz":)");
  EXPECT_EQ(tool_chunk.delta_content(), "");
}

TEST(ChatParamsTest, SetToolCallsCopiesEveryCallInOrder) {
  aigw::v1::ChatCompletion out;
  SetToolCalls({{"call_a", "get_weather", R"({"city":"Paris"})"}, {"call_b", "get_time", "{}"}},
               &out);
  ASSERT_EQ(out.tool_calls_size(), 2);
  EXPECT_EQ(out.tool_calls(0).id(), "call_a");
  EXPECT_EQ(out.tool_calls(0).name(), "get_weather");
  EXPECT_EQ(out.tool_calls(0).arguments_json(), R"({"city":"Paris"})");
  EXPECT_EQ(out.tool_calls(1).name(), "get_time");
}

}  // namespace
}  // namespace aigw::gateway
