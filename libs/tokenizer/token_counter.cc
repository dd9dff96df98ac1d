#include "libs/tokenizer/token_counter.h"

#include <cmath>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "libs/tokenizer/registry.h"

namespace aigw::tokenizer {
namespace {

constexpr absl::string_view kEstimate = "estimate";

bool IsCjk(uint32_t cp) {
  return (cp >= 0x2E80 && cp <= 0x2FDF) ||   // CJK and Kangxi radicals
         (cp >= 0x3000 && cp <= 0x33FF) ||   // CJK punctuation, kana, ...
         (cp >= 0x3400 && cp <= 0x4DBF) ||   // ideographs extension A
         (cp >= 0x4E00 && cp <= 0x9FFF) ||   // CJK unified ideographs
         (cp >= 0xA960 && cp <= 0xA97F) ||   // hangul jamo extended-A
         (cp >= 0xAC00 && cp <= 0xD7AF) ||   // hangul syllables
         (cp >= 0xF900 && cp <= 0xFAFF) ||   // compatibility ideographs
         (cp >= 0xFE30 && cp <= 0xFE4F) ||   // compatibility forms
         (cp >= 0xFF00 && cp <= 0xFFEF) ||   // half- and full-width forms
         (cp >= 0x20000 && cp <= 0x3FFFF);   // ideographs extensions B..
}

// DeepSeek's estimate in tenths of a token, so that fields can be summed
// before rounding once.
int64_t DeepSeekTenths(absl::string_view text) {
  int64_t tenths = 0;
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    const unsigned char b = p[i];
    uint32_t cp;
    size_t len;
    if (b < 0x80) {
      cp = b, len = 1;
    } else if (b >= 0xF0) {
      cp = b & 0x07, len = 4;
    } else if (b >= 0xE0) {
      cp = b & 0x0F, len = 3;
    } else if (b >= 0xC0) {
      cp = b & 0x1F, len = 2;
    } else {
      cp = 0xFFFD, len = 1;  // stray continuation byte: one character
    }
    for (size_t k = 1; k < len; ++k) {
      if (i + k >= n || (p[i + k] & 0xC0) != 0x80) {
        cp = 0xFFFD, len = k;
        break;
      }
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    tenths += IsCjk(cp) ? std::lround(kDeepSeekTokensPerCjkChar * 10)
                        : std::lround(kDeepSeekTokensPerChar * 10);
    i += len;
  }
  return tenths;
}

int64_t CeilTenths(int64_t tenths) { return (tenths + 9) / 10; }

int64_t Scale(int64_t tokens, double factor) {
  return static_cast<int64_t>(std::ceil(static_cast<double>(tokens) * factor - 1e-9));
}

TokenCount Estimate(int64_t tokens) {
  return TokenCount{tokens, std::string(kEstimate), true};
}

// The cookbook's num_tokens_from_messages and num_tokens_for_tools with
// `count` as the text counter, in units of 1/`scale` token; images apart.
template <typename CountFn>
int64_t TextTotal(absl::Span<const ChatMessage> messages, const ToolDefinitionText& tools,
                  int64_t scale, CountFn&& count) {
  int64_t total = 0;
  for (const ChatMessage& m : messages) {
    total += kTokensPerMessage * scale + count(m.role) + count(m.content);
    if (!m.name.empty()) total += count(m.name) + kTokensPerName * scale;
    for (absl::string_view text : m.text_parts) total += count(text);
    for (const ToolCallText& call : m.tool_calls) {
      total += kTokensPerToolCall * scale + count(call.name) + count(call.arguments);
    }
  }
  total += tools.fixed_tokens * scale;
  for (const std::string& line : tools.lines) total += count(line);
  return total + kReplyPrimingTokens * scale;
}

struct ImageTotal {
  int64_t tokens = 0;
  bool sizes_known = true;
};

ImageTotal CountImages(absl::Span<const ChatMessage> messages, ImageRule rule) {
  ImageTotal total;
  for (const ChatMessage& m : messages) {
    for (const ImagePart& image : m.images) {
      const ImageTokenCount c = CountImageUrlTokens(image.url, image.detail, rule);
      total.tokens += c.tokens;
      total.sizes_known = total.sizes_known && c.size_known;
    }
  }
  return total;
}

}  // namespace

CountingMethod MethodForModel(absl::string_view model,
                              absl::string_view provider_code) {
  if (EncodingNameForModel(model).has_value()) return CountingMethod::kExact;
  const std::string m = absl::AsciiStrToLower(model);
  if (absl::StrContains(m, "claude")) return CountingMethod::kAnthropicEstimate;
  if (absl::StrContains(m, "deepseek")) return CountingMethod::kDeepSeekEstimate;
  const std::string p = absl::AsciiStrToLower(provider_code);
  if (p == "anthropic") return CountingMethod::kAnthropicEstimate;
  if (p == "deepseek") return CountingMethod::kDeepSeekEstimate;
  return CountingMethod::kGenericEstimate;
}

ImageRule ImageRuleForModel(absl::string_view model, absl::string_view provider_code) {
  return MethodForModel(model, provider_code) == CountingMethod::kAnthropicEstimate
             ? ImageRule::kAnthropic
             : ImageRule::kOpenAi;
}

absl::StatusOr<TokenCount> CountTextTokens(absl::string_view model,
                                           absl::string_view text,
                                           absl::string_view provider_code) {
  const CountingMethod method = MethodForModel(model, provider_code);
  if (method == CountingMethod::kDeepSeekEstimate) {
    return Estimate(CeilTenths(DeepSeekTenths(text)));
  }
  absl::StatusOr<const Encoding*> encoding =
      method == CountingMethod::kExact ? EncodingForModel(model)
                                       : GetEncoding(kO200kBase);
  if (!encoding.ok()) return encoding.status();
  const auto tokens = static_cast<int64_t>((*encoding)->CountTokens(text));
  switch (method) {
    case CountingMethod::kExact:
      return TokenCount{tokens, (*encoding)->name(), false};
    case CountingMethod::kAnthropicEstimate:
      return Estimate(Scale(tokens, kAnthropicFactor));
    default:
      return Estimate(tokens);
  }
}

absl::StatusOr<TokenCount> CountChatTokens(absl::string_view model,
                                           absl::Span<const ChatMessage> messages,
                                           absl::string_view provider_code) {
  return CountPromptTokens(model, messages, {}, provider_code);
}

absl::StatusOr<TokenCount> CountPromptTokens(absl::string_view model,
                                             absl::Span<const ChatMessage> messages,
                                             absl::Span<const ToolDefinition> tools,
                                             absl::string_view provider_code,
                                             std::optional<ImageRule> image_rule) {
  const CountingMethod method = MethodForModel(model, provider_code);
  const ImageTotal images =
      CountImages(messages, image_rule.value_or(ImageRuleForModel(model, provider_code)));
  if (method == CountingMethod::kDeepSeekEstimate) {
    // Summed in tenths and rounded once, not per field.
    const ToolDefinitionText tool_text = ToolDefinitionsAsText(tools, ToolTokenRule{});
    return Estimate(CeilTenths(TextTotal(messages, tool_text, 10,
                                         [](absl::string_view s) { return DeepSeekTenths(s); })) +
                    images.tokens);
  }
  absl::StatusOr<const Encoding*> encoding =
      method == CountingMethod::kExact ? EncodingForModel(model)
                                       : GetEncoding(kO200kBase);
  if (!encoding.ok()) return encoding.status();
  const Encoding* e = *encoding;
  const ToolDefinitionText tool_text = ToolDefinitionsAsText(tools, ToolRuleForEncoding(e->name()));
  const int64_t tokens = TextTotal(messages, tool_text, 1, [e](absl::string_view s) {
    return static_cast<int64_t>(e->CountTokens(s));
  });
  switch (method) {
    case CountingMethod::kExact:
      return TokenCount{tokens + images.tokens, e->name(), !images.sizes_known};
    case CountingMethod::kAnthropicEstimate:
      return Estimate(Scale(tokens, kAnthropicFactor) + images.tokens);
    default:
      return Estimate(tokens + images.tokens);
  }
}

}  // namespace aigw::tokenizer
