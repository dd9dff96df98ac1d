#include "services/admin/model_capabilities.h"

#include "gtest/gtest.h"

namespace aigw::admin {
namespace {

void Expect(absl::string_view code, bool tools, bool vision) {
  const ModelCapabilities c = KnownCapabilities(code);
  EXPECT_EQ(c.function_call, tools) << code;
  EXPECT_EQ(c.vision, vision) << code;
}

TEST(KnownCapabilitiesTest, OpenAiFamilies) {
  for (absl::string_view m : {"gpt-4o", "gpt-4o-2024-08-06", "gpt-4o-mini", "chatgpt-4o-latest",
                              "gpt-4.1", "gpt-4.1-nano-2025-04-14", "gpt-5", "gpt-5-mini",
                              "gpt-4-turbo-2024-04-09", "o1", "o1-2024-12-17", "o3", "o4-mini",
                              "GPT-4o", "openai/gpt-4o"}) {
    Expect(m, true, true);
  }
  for (absl::string_view m : {"gpt-4", "gpt-4-0613", "gpt-3.5-turbo", "gpt-3.5-turbo-0125",
                              "o3-mini", "o3-mini-2025-01-31"}) {
    Expect(m, true, false);
  }
  for (absl::string_view m : {"o1-mini", "o1-preview", "text-embedding-3-small", "dall-e-3",
                              "whisper-1", "gpt-4o-realtime-preview", "gpt-4o-mini-tts",
                              "gpt-3.5-turbo-instruct", "omni-moderation-latest", "o10"}) {
    Expect(m, false, false);
  }
}

TEST(KnownCapabilitiesTest, AnthropicAndDeepSeekFamilies) {
  for (absl::string_view m : {"claude-3-opus-20240229", "claude-3-5-sonnet-20241022",
                              "claude-3-7-sonnet-20250219", "claude-sonnet-4-20250514",
                              "claude-opus-4-1-20250805", "claude-haiku-4-5"}) {
    Expect(m, true, true);
  }
  Expect("claude-3-5-haiku-20241022", true, false);
  Expect("deepseek-chat", true, false);
  Expect("deepseek-coder", true, false);
  Expect("deepseek-reasoner", false, false);
  Expect("my-finetune", false, false);
  Expect("", false, false);
}

}  // namespace
}  // namespace aigw::admin
