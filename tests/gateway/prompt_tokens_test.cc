#include "services/gateway/prompt_tokens.h"

#include <string>

#include "gtest/gtest.h"
#include "tests/tokenizer/image_fixtures.h"

namespace aigw::gateway {
namespace {

using ::aigw::tokenizer::testing::DataUrl;
using ::aigw::tokenizer::testing::PngHeader;
constexpr tokenizer::ImageRule kOpenAi = tokenizer::ImageRule::kOpenAi;
constexpr tokenizer::ImageRule kAnthropic = tokenizer::ImageRule::kAnthropic;

// The cookbook's tool-counting example (How_to_count_tokens_with_tiktoken,
// section 7): 101 prompt tokens for gpt-4o, 105 for gpt-4, per the API.
aigw::v1::ChatCompletionRequest CookbookWeatherRequest() {
  aigw::v1::ChatCompletionRequest r;
  auto* system = r.add_messages();
  system->set_role("system");
  system->set_content("You are a helpful assistant that can answer to questions about the weather.");
  auto* user = r.add_messages();
  user->set_role("user");
  user->set_content("What's the weather like in San Francisco?");
  auto* tool = r.add_tools();
  tool->set_name("get_current_weather");
  tool->set_description("Get the current weather in a given location");
  tool->set_parameters_json(R"({"type": "object", "properties": {
      "location": {"type": "string", "description": "The city and state, e.g. San Francisco, CA"},
      "unit": {"type": "string", "description": "The unit of temperature to return",
               "enum": ["celsius", "fahrenheit"]}}, "required": ["location"]})");
  return r;
}

int64_t Count(absl::string_view model, const aigw::v1::ChatCompletionRequest& r) {
  absl::StatusOr<tokenizer::TokenCount> c =
      CountPromptTokens(model, "openai", r.messages(), r.tools(), kOpenAi);
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? c->tokens : -1;
}

TEST(CountPromptTokensTest, ToolsAsTheCookbookCountsThem) {
  const aigw::v1::ChatCompletionRequest r = CookbookWeatherRequest();
  EXPECT_EQ(Count("gpt-4o", r), 101);
  EXPECT_EQ(Count("gpt-4", r), 105);
}

TEST(CountPromptTokensTest, PartsImagesToolCallsAndResults) {
  aigw::v1::ChatCompletionRequest r = CookbookWeatherRequest();
  const int64_t base = Count("gpt-4o", r);
  auto* user = r.add_messages();
  user->set_role("user");
  user->add_parts()->set_text("and this picture?");
  auto* image = user->add_parts()->mutable_image_url();
  image->set_url(DataUrl("image/png", PngHeader(1024, 1024)));
  image->set_detail("high");
  const int64_t with_image = Count("gpt-4o", r);
  // 3 per message, "user", the text part (4 tokens), and the 765-token image.
  EXPECT_EQ(with_image - base, 3 + 1 + 4 + 765);

  auto* assistant = r.add_messages();
  assistant->set_role("assistant");
  auto* call = assistant->add_tool_calls();
  call->set_id("call_1");
  call->set_name("get_current_weather");
  call->set_arguments_json(R"({"location":"Paris"})");
  auto* result = r.add_messages();
  result->set_role("tool");
  result->set_tool_call_id("call_1");
  result->set_content("18C");
  EXPECT_GT(Count("gpt-4o", r), with_image + 3 + 3 + 3);
}

TEST(EstimatePromptTokensTest, TextAtFourBytesATokenPlusOverheads) {
  aigw::v1::ChatCompletionRequest r;
  auto* m = r.add_messages();
  m->set_role("user");
  m->set_content(std::string(400, 'a'));
  EXPECT_EQ(EstimatePromptTokens(r, kOpenAi), 100 + 3 + 3);

  // Images by their rule: a remote one at high detail as the most it may
  // cost, a data: URL by its size.
  m->add_parts()->mutable_image_url()->set_url("https://a.example/a.png");
  EXPECT_EQ(EstimatePromptTokens(r, kOpenAi), 106 + 1445);
  m->mutable_parts(0)->mutable_image_url()->set_detail("low");
  EXPECT_EQ(EstimatePromptTokens(r, kOpenAi), 106 + 85);
  m->mutable_parts(0)->mutable_image_url()->set_url(DataUrl("image/png", PngHeader(2048, 4096)));
  m->mutable_parts(0)->mutable_image_url()->set_detail("auto");
  EXPECT_EQ(EstimatePromptTokens(r, kOpenAi), 106 + 1105);
  m->clear_parts();

  // Tools: 10 per function, 12 once, their text at 4 bytes a token.
  auto* tool = r.add_tools();
  tool->set_name("abcd");
  tool->set_description("efgh");
  tool->set_parameters_json(std::string(392, ' '));
  EXPECT_EQ(EstimatePromptTokens(r, kOpenAi), 106 + 10 + 12 + 100);
  // Tool calls: 3 each and their text.
  auto* a = r.add_messages();
  a->set_role("assistant");
  auto* call = a->add_tool_calls();
  call->set_name("abcd");
  call->set_arguments_json(std::string(396, ' '));
  EXPECT_EQ(EstimatePromptTokens(r, kOpenAi), 106 + 10 + 12 + 100 + 3 + 3 + 100);
}

// Anthropic-format models count images by Anthropic's rule: pixels / 750
// after its scaling, whatever the detail; an image of unknown size as the
// most the rule gives.
TEST(EstimatePromptTokensTest, AnthropicImagesByAnthropicsRule) {
  aigw::v1::ChatCompletionRequest r;
  auto* m = r.add_messages();
  m->set_role("user");
  m->set_content(std::string(400, 'a'));
  auto* image = m->add_parts()->mutable_image_url();
  image->set_url(DataUrl("image/png", PngHeader(1000, 1000)));
  EXPECT_EQ(EstimatePromptTokens(r, kAnthropic), 106 + 1334);
  image->set_detail("low");  // Anthropic takes no detail
  EXPECT_EQ(EstimatePromptTokens(r, kAnthropic), 106 + 1334);
  EXPECT_EQ(EstimatePromptTokens(r, kOpenAi), 106 + 85);
  image->set_url("https://a.example/a.png");
  EXPECT_EQ(EstimatePromptTokens(r, kAnthropic), 106 + 1608);

  // CountTokens' count too (the text is Anthropic's estimate either way).
  image->set_url(DataUrl("image/png", PngHeader(200, 200)));
  m->clear_content();
  m->add_parts()->set_text("hi");
  absl::StatusOr<tokenizer::TokenCount> anthropic = CountPromptTokens(
      "claude-3-5-sonnet-20241022", "anthropic", r.messages(), r.tools(), kAnthropic);
  absl::StatusOr<tokenizer::TokenCount> openai = CountPromptTokens(
      "claude-3-5-sonnet-20241022", "anthropic", r.messages(), r.tools(), kOpenAi);
  ASSERT_TRUE(anthropic.ok() && openai.ok());
  EXPECT_EQ(anthropic->tokens - openai->tokens, 54 - 85);  // 200 x 200: ~54 vs 85 (low)
}

TEST(ImageRuleForTest, TheAnthropicFormatOrAClaudeModelCountsByAnthropicsRule) {
  auto rule = [](const char* provider, const char* api_format, const char* model) {
    ProviderEntry p;
    p.code = provider;
    p.api_format = api_format;
    ModelEntry m;
    m.code = model;
    return ImageRuleFor(p, m);
  };
  EXPECT_EQ(rule("anthropic", "anthropic", "claude-3-5-sonnet-20241022"), kAnthropic);
  EXPECT_EQ(rule("claude-proxy", "anthropic", "house-model"), kAnthropic);
  EXPECT_EQ(rule("openrouter", "openai", "anthropic/claude-3.5-sonnet"), kAnthropic);
  EXPECT_EQ(rule("openrouter", "openai", "meta/llama-3"), kOpenAi);
  EXPECT_EQ(rule("openai", "openai", "gpt-4o"), kOpenAi);
}

TEST(EstimatePromptTokensTest, NeverBelowTheCountForTheCookbookExample) {
  const aigw::v1::ChatCompletionRequest r = CookbookWeatherRequest();
  EXPECT_GE(EstimatePromptTokens(r, kOpenAi), 105);
}

}  // namespace
}  // namespace aigw::gateway
