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
// The same rule counts images for every provider: Anthropic's own
// (width x height / 750 after its resize) is not applied, and the counts for
// non-OpenAI models are estimates anyway.
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

// An image's size after the high-detail scaling above (each side at least 1).
struct ScaledImage {
  int64_t width = 0;
  int64_t height = 0;
};
ScaledImage ScaleForHighDetail(int64_t width, int64_t height);

// Tokens for an image of this size (> 0 each) at this detail.
int64_t ImageTokens(ImageDetail detail, int64_t width, int64_t height);

struct ImageTokenCount {
  int64_t tokens = 0;
  // False when the size was not read (a remote URL, or a data: URL whose
  // header does not parse) and kUnknownImageTokens stood in.
  bool size_known = false;
};

// Tokens for an image_url part: a data: URL's image is measured from its
// header (libs/tokenizer/image_header.h); anything else counts as an image of
// unknown size.
ImageTokenCount CountImageUrlTokens(absl::string_view url, ImageDetail detail);

}  // namespace aigw::tokenizer

#endif  // AIGW_LIBS_TOKENIZER_IMAGE_TOKENS_H_
