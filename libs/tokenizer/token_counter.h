#ifndef AIGW_LIBS_TOKENIZER_TOKEN_COUNTER_H_
#define AIGW_LIBS_TOKENIZER_TOKEN_COUNTER_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "libs/tokenizer/image_tokens.h"
#include "libs/tokenizer/tool_tokens.h"

namespace aigw::tokenizer {

// Token counting per model, for the CountTokens RPC and for completions whose
// provider sent no usage.
//
// OpenAI models (see EncodingNameForModel) are counted exactly with their
// tiktoken encoding. Other vendors' tokenizers are not public or not shipped
// here, so their counts are estimates (is_estimate = true, encoding =
// "estimate"):
//  - Anthropic (model contains "claude", or provider "anthropic" with an
//    unknown model): o200k_base count x 1.2, rounded up. Measurements of
//    Claude 3.5 Sonnet against GPT-4o on the same inputs found 16% more
//    tokens for English prose, 21% for math and 30% for code (VentureBeat,
//    May 2025, "Hidden costs in AI deployment: why Claude models may be
//    20-30% more expensive than GPT"); 1.2 is the middle, and over- rather
//    than under-estimates prose.
//  - DeepSeek (model contains "deepseek", or provider "deepseek"): DeepSeek's
//    own published rule of thumb (api-docs.deepseek.com, "Token & Token
//    Usage"): 0.3 token per character, 0.6 per Chinese character; we apply
//    0.6 to all CJK ideographs, kana, hangul and full-width forms. Rounded up.
//  - Anything else: the o200k_base count unchanged, the most recent general
//    purpose BPE vocabulary.
// Chat overhead follows OpenAI's cookbook (How_to_count_tokens_with_tiktoken):
// 3 tokens per message, +1 when it has a name, +3 priming the reply; the role
// and name strings are counted as text. Estimates use the same structure.
//
// Beyond plain text (OpenAI publishes no rule for these; ours):
//  - text parts count like content, each on its own;
//  - image parts count by libs/tokenizer/image_tokens.h (never scaled by an
//    estimate's factor: the rule is per image, not per text token):
//    Anthropic's rule for the models counted as Anthropic's, OpenAI's for
//    the rest, unless the caller names the rule (the gateway does: a
//    provider in the Anthropic format counts by Anthropic's);
//  - each tool call of an assistant turn: kTokensPerToolCall + its name and
//    its arguments as text (its id is not shown to the model);
//  - a tool turn: like any message, its content the result (its
//    tool_call_id is not counted, like a call's id);
//  - tool definitions: libs/tokenizer/tool_tokens.h.

// An image_url part.
struct ImagePart {
  absl::string_view url;
  ImageDetail detail = ImageDetail::kAuto;
};

// A tool call on an assistant turn.
struct ToolCallText {
  absl::string_view name;
  absl::string_view arguments;
};

// A chat message for counting; the views and spans must outlive the call.
struct ChatMessage {
  absl::string_view role;
  absl::string_view content;
  absl::string_view name;  // empty: no name
  absl::Span<const absl::string_view> text_parts = {};
  absl::Span<const ImagePart> images = {};
  absl::Span<const ToolCallText> tool_calls = {};
};

struct TokenCount {
  int64_t tokens = 0;
  // o200k_base | cl100k_base | estimate (the values of CountTokensResponse).
  std::string encoding;
  // No exact tokenizer for the model, or an image of unknown size counted
  // as kUnknownImageTokens.
  bool is_estimate = false;
};

inline constexpr int kTokensPerMessage = 3;
inline constexpr int kTokensPerName = 1;
inline constexpr int kReplyPrimingTokens = 3;
inline constexpr int kTokensPerToolCall = 3;
inline constexpr double kAnthropicFactor = 1.2;
inline constexpr double kDeepSeekTokensPerChar = 0.3;
inline constexpr double kDeepSeekTokensPerCjkChar = 0.6;

enum class CountingMethod {
  kExact,              // an OpenAI model: its tiktoken encoding
  kAnthropicEstimate,  // o200k_base x kAnthropicFactor
  kDeepSeekEstimate,   // characters x DeepSeek's ratios
  kGenericEstimate,    // o200k_base as is
};

// How `model` is counted. `provider_code` (openai | anthropic | deepseek |
// any configured code) only decides when the model name does not.
CountingMethod MethodForModel(absl::string_view model,
                              absl::string_view provider_code = {});

// The rule that counts `model`'s images: ImageRule::kAnthropic when
// MethodForModel says kAnthropicEstimate, else kOpenAi.
ImageRule ImageRuleForModel(absl::string_view model, absl::string_view provider_code = {});

// Fails only when a needed rank file cannot be loaded (see DataDir()).
absl::StatusOr<TokenCount> CountTextTokens(absl::string_view model,
                                           absl::string_view text,
                                           absl::string_view provider_code = {});
absl::StatusOr<TokenCount> CountChatTokens(absl::string_view model,
                                           absl::Span<const ChatMessage> messages,
                                           absl::string_view provider_code = {});
// Messages and the tool definitions offered with them; images by
// `image_rule`, or ImageRuleForModel when unset.
absl::StatusOr<TokenCount> CountPromptTokens(absl::string_view model,
                                             absl::Span<const ChatMessage> messages,
                                             absl::Span<const ToolDefinition> tools,
                                             absl::string_view provider_code = {},
                                             std::optional<ImageRule> image_rule = std::nullopt);

// Counts a streamed completion when the provider reports no usage. Token
// boundaries do not respect chunk boundaries, so the deltas are kept and
// counted as one text at the end. Not thread-safe.
class CompletionTokenCounter {
 public:
  CompletionTokenCounter(absl::string_view model,
                         absl::string_view provider_code = {})
      : model_(model), provider_code_(provider_code) {}

  void Append(absl::string_view delta) { text_.append(delta.data(), delta.size()); }
  absl::StatusOr<TokenCount> Count() const {
    return CountTextTokens(model_, text_, provider_code_);
  }
  const std::string& text() const { return text_; }

 private:
  std::string model_;
  std::string provider_code_;
  std::string text_;
};

}  // namespace aigw::tokenizer

#endif  // AIGW_LIBS_TOKENIZER_TOKEN_COUNTER_H_
