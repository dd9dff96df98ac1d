#include "libs/tokenizer/token_counter.h"

#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/tokenizer/registry.h"

namespace aigw::tokenizer {
namespace {


// The example conversation of OpenAI's cookbook
// (How_to_count_tokens_with_tiktoken.ipynb), whose counts the OpenAI API
// confirmed: 129 prompt tokens for gpt-3.5-turbo / gpt-4, 124 for gpt-4o and
// gpt-4o-mini.
const std::vector<ChatMessage>& CookbookMessages() {
  static const auto* messages = new std::vector<ChatMessage>{
      {"system",
       "You are a helpful, pattern-following assistant that translates "
       "corporate jargon into plain English.",
       ""},
      {"system", "New synergies will help drive top-line growth.",
       "example_user"},
      {"system", "Things working well together will increase revenue.",
       "example_assistant"},
      {"system",
       "Let's circle back when we have more bandwidth to touch base on "
       "opportunities for increased leverage.",
       "example_user"},
      {"system",
       "Let's talk later when we're less busy about how to do better.",
       "example_assistant"},
      {"user",
       "This late pivot means we don't have time to boil the ocean for the "
       "client deliverable.",
       ""},
  };
  return *messages;
}

TokenCount Chat(absl::string_view model, absl::Span<const ChatMessage> messages,
                absl::string_view provider = {}) {
  absl::StatusOr<TokenCount> c = CountChatTokens(model, messages, provider);
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? *c : TokenCount{};
}

TokenCount Text(absl::string_view model, absl::string_view text,
                absl::string_view provider = {}) {
  absl::StatusOr<TokenCount> c = CountTextTokens(model, text, provider);
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? *c : TokenCount{};
}

TEST(ChatCountTest, MatchesCookbookForCl100kModels) {
  for (absl::string_view model :
       {"gpt-3.5-turbo", "gpt-4-0613", "gpt-4", "gpt-4-turbo"}) {
    const TokenCount c = Chat(model, CookbookMessages());
    EXPECT_EQ(c.tokens, 129) << model;
    EXPECT_EQ(c.encoding, "cl100k_base") << model;
    EXPECT_FALSE(c.is_estimate) << model;
  }
}

TEST(ChatCountTest, MatchesCookbookForO200kModels) {
  for (absl::string_view model :
       {"gpt-4o", "gpt-4o-mini", "gpt-4o-2024-08-06", "o1", "o3-mini", "gpt-4.1"}) {
    const TokenCount c = Chat(model, CookbookMessages());
    EXPECT_EQ(c.tokens, 124) << model;
    EXPECT_EQ(c.encoding, "o200k_base") << model;
    EXPECT_FALSE(c.is_estimate) << model;
  }
}

TEST(ChatCountTest, OverheadPerMessageAndName) {
  // "hi" and "user" are one token each in o200k_base.
  const std::vector<ChatMessage> one = {{"user", "hi", ""}};
  EXPECT_EQ(Chat("gpt-4o", one).tokens, 3 + 1 + 1 + 3);
  const std::vector<ChatMessage> named = {{"user", "hi", "bob"}};
  EXPECT_EQ(Chat("gpt-4o", named).tokens, 3 + 1 + 1 + (1 + 1) + 3);
  EXPECT_EQ(Chat("gpt-4o", {}).tokens, 3);
}

// Section 7 of the cookbook: two messages and one function, whose counts the
// OpenAI API confirmed: 105 prompt tokens for gpt-3.5-turbo and gpt-4, 101
// for gpt-4o and gpt-4o-mini.
constexpr absl::string_view kWeatherParameters = R"({
  "type": "object",
  "properties": {
    "location": {"type": "string", "description": "The city and state, e.g. San Francisco, CA"},
    "unit": {"type": "string", "description": "The unit of temperature to return",
             "enum": ["celsius", "fahrenheit"]}
  },
  "required": ["location"]
})";

const std::vector<ChatMessage>& WeatherMessages() {
  static const auto* messages = new std::vector<ChatMessage>{
      {"system", "You are a helpful assistant that can answer to questions about the weather.", ""},
      {"user", "What's the weather like in San Francisco?", ""},
  };
  return *messages;
}

TokenCount Prompt(absl::string_view model, absl::Span<const ChatMessage> messages,
                  absl::Span<const ToolDefinition> tools, absl::string_view provider = {}) {
  absl::StatusOr<TokenCount> c = CountPromptTokens(model, messages, tools, provider);
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? *c : TokenCount{};
}

TEST(PromptCountTest, ToolsMatchTheCookbook) {
  const ToolDefinition weather{"get_current_weather", "Get the current weather in a given location",
                               kWeatherParameters};
  for (absl::string_view model : {"gpt-3.5-turbo", "gpt-4"}) {
    const TokenCount c = Prompt(model, WeatherMessages(), {weather});
    EXPECT_EQ(c.tokens, 105) << model;
    EXPECT_FALSE(c.is_estimate) << model;
  }
  for (absl::string_view model : {"gpt-4o", "gpt-4o-mini"}) {
    EXPECT_EQ(Prompt(model, WeatherMessages(), {weather}).tokens, 101) << model;
  }
  // Without tools it is the messages' count.
  EXPECT_EQ(Prompt("gpt-4o", WeatherMessages(), {}).tokens,
            Chat("gpt-4o", WeatherMessages()).tokens);
}

TEST(PromptCountTest, ToolsCountInEstimatesToo) {
  const ToolDefinition weather{"get_current_weather", "Get the current weather in a given location",
                               kWeatherParameters};
  const int64_t bare = Prompt("claude-3-5-sonnet", WeatherMessages(), {}).tokens;
  const int64_t with_tool = Prompt("claude-3-5-sonnet", WeatherMessages(), {weather}).tokens;
  // gpt-4o's 101 minus its messages, scaled by 1.2 (rounded once).
  EXPECT_NEAR(with_tool - bare, (101 - Chat("gpt-4o", WeatherMessages()).tokens) * 1.2, 1.0);
  EXPECT_GT(Prompt("deepseek-chat", WeatherMessages(), {weather}).tokens,
            Prompt("deepseek-chat", WeatherMessages(), {}).tokens + 31);
}

TEST(PromptCountTest, ToolCallsAndResults) {
  const std::vector<ToolCallText> calls = {{"get_current_weather", R"({"location":"Paris"})"}};
  std::vector<ChatMessage> messages = WeatherMessages();
  const int64_t before = Chat("gpt-4o", messages).tokens;
  messages.push_back(ChatMessage{"assistant", "", "", {}, {}, calls});
  const int64_t with_call = Chat("gpt-4o", messages).tokens;
  EXPECT_EQ(with_call - before, kTokensPerMessage + Text("gpt-4o", "assistant").tokens +
                                    kTokensPerToolCall +
                                    Text("gpt-4o", "get_current_weather").tokens +
                                    Text("gpt-4o", R"({"location":"Paris"})").tokens);
  messages.push_back(ChatMessage{"tool", R"({"temperature": 21})", ""});
  EXPECT_EQ(Chat("gpt-4o", messages).tokens - with_call,
            kTokensPerMessage + Text("gpt-4o", "tool").tokens +
                Text("gpt-4o", R"({"temperature": 21})").tokens);
}

TEST(PromptCountTest, ImagesByOpenAisRule) {
  const std::vector<absl::string_view> text = {"What is on this cover?"};
  const std::vector<ImagePart> low = {{"https://example.com/a.png", ImageDetail::kLow}};
  const std::vector<ChatMessage> text_only = {{"user", "", "", text}};
  const int64_t base = Chat("gpt-4o", text_only).tokens;
  EXPECT_EQ(base, kTokensPerMessage + Text("gpt-4o", "user").tokens +
                      Text("gpt-4o", "What is on this cover?").tokens + kReplyPrimingTokens);

  TokenCount c = Chat("gpt-4o", {{"user", "", "", text, low}});
  EXPECT_EQ(c.tokens, base + 85);
  EXPECT_FALSE(c.is_estimate);
  // A 2048 x 4096 PNG in a data: URL at high detail: 1105.
  const std::string png = absl::StrCat(
      "data:image/png;base64,",
      absl::Base64Escape(absl::StrCat(std::string("\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR", 16),
                                      std::string("\0\0\x08\0\0\0\x10\0", 8))));
  const std::vector<ImagePart> high = {{png, ImageDetail::kHigh}, {png, ImageDetail::kLow}};
  c = Chat("gpt-4o", {{"user", "", "", text, high}});
  EXPECT_EQ(c.tokens, base + 1105 + 85);
  EXPECT_FALSE(c.is_estimate);
  // A remote image at high detail: its size is unknown.
  const std::vector<ImagePart> remote = {{"https://example.com/a.png", ImageDetail::kHigh}};
  c = Chat("gpt-4o", {{"user", "", "", text, remote}});
  EXPECT_EQ(c.tokens, base + kUnknownImageTokens);
  EXPECT_TRUE(c.is_estimate);
  // Estimates add images as they are, not scaled like text.
  const int64_t deepseek = Chat("deepseek-chat", text_only).tokens;
  EXPECT_EQ(Chat("deepseek-chat", {{"user", "", "", text, low}}).tokens, deepseek + 85);
}

TEST(PromptCountTest, ClaudeModelsCountImagesByAnthropicsRule) {
  const std::vector<absl::string_view> text = {"What is on this cover?"};
  const std::vector<ChatMessage> text_only = {{"user", "", "", text}};
  const int64_t claude = Chat("claude-3-5-sonnet", text_only).tokens;
  // Detail means nothing to Anthropic; a remote image's size is unknown.
  const std::vector<ImagePart> remote = {{"https://example.com/a.png", ImageDetail::kLow}};
  EXPECT_EQ(Chat("claude-3-5-sonnet", {{"user", "", "", text, remote}}).tokens,
            claude + kAnthropicUnknownImageTokens);
  // A 2048 x 4096 PNG: pixels / 750 after the scaling, added unscaled.
  const std::string png = absl::StrCat(
      "data:image/png;base64,",
      absl::Base64Escape(absl::StrCat(std::string("\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR", 16),
                                      std::string("\0\0\x08\0\0\0\x10\0", 8))));
  const std::vector<ImagePart> tall = {{png, ImageDetail::kHigh}};
  EXPECT_EQ(Chat("claude-3-5-sonnet", {{"user", "", "", text, tall}}).tokens,
            claude + AnthropicImageTokens(2048, 4096));
  // An unknown model of provider anthropic too; a caller may name the rule.
  EXPECT_EQ(ImageRuleForModel("house-model", "anthropic"), ImageRule::kAnthropic);
  EXPECT_EQ(ImageRuleForModel("gpt-4o", "anthropic"), ImageRule::kOpenAi);
  const std::vector<ChatMessage> with_remote = {{"user", "", "", text, remote}};
  absl::StatusOr<TokenCount> openai_rule =
      CountPromptTokens("claude-3-5-sonnet", with_remote, {}, "", ImageRule::kOpenAi);
  ASSERT_TRUE(openai_rule.ok());
  EXPECT_EQ(openai_rule->tokens, claude + 85);
}

TEST(TextCountTest, ExactForOpenAiModels) {
  const TokenCount c = Text("gpt-4o", "tiktoken is great!");
  EXPECT_EQ(c.tokens, 6);
  EXPECT_EQ(c.encoding, "o200k_base");
  EXPECT_FALSE(c.is_estimate);
  EXPECT_EQ(Text("gpt-4o", "").tokens, 0);
  const TokenCount d = Text("gpt-3.5-turbo", "お誕生日おめでとう");
  EXPECT_EQ(d.tokens, 9);
  EXPECT_EQ(d.encoding, "cl100k_base");
}

TEST(TextCountTest, SpecialTokensAreOrdinaryText) {
  // tiktoken's encode_ordinary: "<|endoftext|>" is not token 199999/100257
  // but several ordinary tokens.
  absl::StatusOr<const Encoding*> o200k = GetEncoding(kO200kBase);
  ASSERT_TRUE(o200k.ok()) << o200k.status();
  const std::vector<uint32_t> ids = (*o200k)->Encode("<|endoftext|>");
  EXPECT_GT(ids.size(), 1u);
  for (uint32_t id : ids) EXPECT_LT(id, 199998u);
  absl::StatusOr<const Encoding*> cl100k = GetEncoding(kCl100kBase);
  ASSERT_TRUE(cl100k.ok()) << cl100k.status();
  for (uint32_t id : (*cl100k)->Encode("<|endoftext|><|im_start|>")) {
    EXPECT_LT(id, 100256u);
  }
  // Decoding the special ids themselves still works.
  absl::StatusOr<std::string> s = (*o200k)->Decode({199999, 200018});
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(*s, "<|endoftext|><|endofprompt|>");
  EXPECT_FALSE((*o200k)->Decode({199998}).ok());  // unused id
}

TEST(TextCountTest, InvalidUtf8CountsAsReplacementCharacters) {
  absl::StatusOr<const Encoding*> e = GetEncoding(kO200kBase);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ((*e)->Encode("ab\xFF" "cd"), (*e)->Encode("ab\xEF\xBF\xBD" "cd"));
}

TEST(EstimateTest, AnthropicScalesO200kUp) {
  absl::StatusOr<const Encoding*> e = GetEncoding(kO200kBase);
  ASSERT_TRUE(e.ok());
  const std::string text(
      "The quick brown fox jumps over the lazy dog, again and again.");
  const int64_t base = static_cast<int64_t>((*e)->CountTokens(text));
  for (absl::string_view model :
       {"claude-3-5-sonnet-20241022", "claude-sonnet-4-5", "anthropic/claude-3-haiku"}) {
    const TokenCount c = Text(model, text);
    EXPECT_TRUE(c.is_estimate) << model;
    EXPECT_EQ(c.encoding, "estimate") << model;
    EXPECT_EQ(c.tokens, (base * 12 + 9) / 10) << model;
  }
  // Provider decides for a model name that says nothing.
  EXPECT_EQ(Text("my-sonnet-alias", text, "anthropic").tokens, (base * 12 + 9) / 10);
  EXPECT_EQ(Chat("claude-3-opus", CookbookMessages()).tokens,
            (124 * 12 + 9) / 10);
}

TEST(EstimateTest, DeepSeekUsesItsPublishedCharacterRatios) {
  // 10 ASCII characters x 0.3 = 3; 5 Chinese characters x 0.6 = 3.
  TokenCount c = Text("deepseek-chat", "abcdefghij");
  EXPECT_EQ(c.tokens, 3);
  EXPECT_TRUE(c.is_estimate);
  EXPECT_EQ(c.encoding, "estimate");
  EXPECT_EQ(Text("deepseek-reasoner", "人工智能网").tokens, 3);
  // Mixed: 4 x 0.3 + 2 x 0.6 = 2.4 -> 3 (rounded up).
  EXPECT_EQ(Text("DeepSeek-V3", "ab c中文").tokens, 3);
  EXPECT_EQ(Text("anything", "abcdefghij", "deepseek").tokens, 3);
  // Chat: (3 + 0.3*4 ("user") + 0.3*10) + 3 = 10.2 -> 11.
  const std::vector<ChatMessage> m = {{"user", "abcdefghij", ""}};
  EXPECT_EQ(Chat("deepseek-chat", m).tokens, 11);
}

TEST(EstimateTest, UnknownModelsUseO200kAsIs) {
  const TokenCount c = Text("qwen-max", "tiktoken is great!");
  EXPECT_EQ(c.tokens, 6);
  EXPECT_TRUE(c.is_estimate);
  EXPECT_EQ(c.encoding, "estimate");
  EXPECT_EQ(Text("gpt-9-ultra", "tiktoken is great!", "openai").tokens, 6);
  EXPECT_EQ(Chat("llama-3-70b", CookbookMessages()).tokens, 124);
}

TEST(MethodTest, ModelNameBeatsProvider) {
  EXPECT_EQ(MethodForModel("gpt-4o", "anthropic"), CountingMethod::kExact);
  EXPECT_EQ(MethodForModel("claude-3-haiku", "openai"),
            CountingMethod::kAnthropicEstimate);
  EXPECT_EQ(MethodForModel("deepseek-chat", "openai"),
            CountingMethod::kDeepSeekEstimate);
  EXPECT_EQ(MethodForModel("", "deepseek"), CountingMethod::kDeepSeekEstimate);
  EXPECT_EQ(MethodForModel("mistral-large", "mistral"),
            CountingMethod::kGenericEstimate);
}

TEST(CompletionCounterTest, CountsTheJoinedStream) {
  CompletionTokenCounter counter("gpt-4o");
  // Chunk boundaries inside words and inside a multi-byte character.
  const std::string text = "Hello, wor" "ld! 你好" "\xE4\xB8" "\x96" "界 done.";
  counter.Append("Hello, wor");
  counter.Append("ld! 你好\xE4\xB8");
  counter.Append("\x96界 done.");
  absl::StatusOr<TokenCount> got = counter.Count();
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->tokens, Text("gpt-4o", text).tokens);
  EXPECT_EQ(counter.text(), text);
}

}  // namespace
}  // namespace aigw::tokenizer
