#ifndef AIGW_LIBS_TOKENIZER_IMAGE_TOKENS_H_
#define AIGW_LIBS_TOKENIZER_IMAGE_TOKENS_H_

#include <cstdint>

#include "absl/strings/string_view.h"
#include "absl/types/optional.h"

namespace aigw::tokenizer {

// What an image in a chat turn costs in prompt tokens, by OpenAI's published
// rule for GPT-4o-class vision models (platform.openai.com/docs/guides/vision,
// "Calculating costs"):
//  - detail low: 85 tokens, whatever the size;
//  - detail high: the image is scaled down to fit a 2048 x 2048 square, then
//    down so that its shorter side is at most 768 px (aspect ratio kept;
//    images are never scaled up); each 512 px tile needed to cover it costs
//    170 tokens, plus 85. A 1024 x 1024 image is 765 tokens, 2048 x 4096 is
//    1105.
//  - detail auto (or unset): counted as high, the most it can cost, since
//    the provider picks.
// Anthropic's models count by Anthropic's own rule instead (ImageRule
// below).
//
// Remote (https) images are not fetched, so their size is unknown; they
// count as kUnknownImageTokens at high or auto detail: the most the rule
// gives for any size (8 tiles: 768 x 2048 after scaling), so that a
// pre-call TPM reservation never falls short; low detail is 85 as always.
// The keypool reconciles with the provider's real usage after the call.

enum class ImageDetail { kAuto, kLow, kHigh };

// "" | auto | low | high (as sent; case-sensitive like OpenAI's API);
// nullopt for anything else.
absl::optional<ImageDetail> ParseImageDetail(absl::string_view detail);

inline constexpr int64_t kImageBaseTokens = 85;
inline constexpr int64_t kImageTileTokens = 170;
inline constexpr int64_t kImageTilePixels = 512;
inline constexpr int64_t kImageMaxSidePixels = 2048;
inline constexpr int64_t kImageShortSidePixels = 768;
inline constexpr int64_t kUnknownImageTokens = kImageBaseTokens + 8 * kImageTileTokens;  // 1445

// Which published rule counts an image.
enum class ImageRule {
  kOpenAi,     // above: tiles of 512 px after OpenAI's scaling, by detail
  kAnthropic,  // below: pixels / 750 after Anthropic's scaling, detail ignored
};

// Anthropic's rule (docs.anthropic.com/en/docs/build-with-claude/vision,
// "Evaluate image size" and "Calculate image costs"): an image costs
// width x height / 750 tokens, rounded up here, after it is scaled down
// (aspect ratio kept, never up) when its long edge is over 1568 px or it
// is over ~1.15 megapixels (~1,600 tokens), until it is within both. The
// documented examples: 200 x 200 is ~54 tokens, 1000 x 1000 ~1334,
// 1092 x 1092 (1.19 MP) ~1590. "~1.15 megapixels" is read as 1.15 x 2^20
// pixels: read as 1,150,000 it would scale that 1092 x 1092 example down.
// The rows of Anthropic's table of largest unscaled sizes (1092 x 1092,
// 951 x 1268, 896 x 1344, 819 x 1456, 784 x 1568) then count within 3% of
// their pixels / 750 (the last is 2% over the area: 1606 for 1639).
// Anthropic's API takes no detail: it is ignored. An image of unknown size
// (a remote URL) counts as kAnthropicUnknownImageTokens, the most the rule
// gives for any size.
inline constexpr int64_t kAnthropicPixelsPerToken = 750;
inline constexpr int64_t kAnthropicMaxLongSidePixels = 1568;
inline constexpr int64_t kAnthropicMaxPixels = 1205862;  // 1.15 x 2^20, rounded down
inline constexpr int64_t kAnthropicUnknownImageTokens =
    (kAnthropicMaxPixels + kAnthropicPixelsPerToken - 1) / kAnthropicPixelsPerToken;  // 1608

// An image's size after the high-detail scaling above (each side at least 1).
struct ScaledImage {
  int64_t width = 0;
  int64_t height = 0;
};
ScaledImage ScaleForHighDetail(int64_t width, int64_t height);

// Tokens for an image of this size (> 0 each) at this detail.
int64_t ImageTokens(ImageDetail detail, int64_t width, int64_t height);

// An image's size after Anthropic's scaling (each side at least 1).
ScaledImage ScaleForAnthropic(int64_t width, int64_t height);
// Tokens for an image of this size (> 0 each) by Anthropic's rule.
int64_t AnthropicImageTokens(int64_t width, int64_t height);

struct ImageTokenCount {
  int64_t tokens = 0;
  // False when the size was not read (a remote URL, or a data: URL whose
  // header does not parse) and kUnknownImageTokens (or
  // kAnthropicUnknownImageTokens) stood in.
  bool size_known = false;
};

// Tokens for an image_url part by `rule`: a data: URL's image is measured
// from its header (libs/tokenizer/image_header.h); anything else counts as
// an image of unknown size.
ImageTokenCount CountImageUrlTokens(absl::string_view url, ImageDetail detail,
                                    ImageRule rule = ImageRule::kOpenAi);

}  // namespace aigw::tokenizer

#endif  // AIGW_LIBS_TOKENIZER_IMAGE_TOKENS_H_
