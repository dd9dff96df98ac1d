#include "libs/tokenizer/image_tokens.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/match.h"
#include "libs/tokenizer/image_header.h"

namespace aigw::tokenizer {
namespace {

// The other side of an image whose side `side` is scaled to `limit`: the
// ratio kept, rounded down, at least 1 px.
int64_t ScaledOther(int64_t side, int64_t other, int64_t limit) {
  return std::max<int64_t>(1, other * limit / side);
}

int64_t CeilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

}  // namespace

absl::optional<ImageDetail> ParseImageDetail(absl::string_view detail) {
  if (detail.empty() || detail == "auto") return ImageDetail::kAuto;
  if (detail == "low") return ImageDetail::kLow;
  if (detail == "high") return ImageDetail::kHigh;
  return absl::nullopt;
}

ScaledImage ScaleForHighDetail(int64_t width, int64_t height) {
  width = std::max<int64_t>(1, width);
  height = std::max<int64_t>(1, height);
  // Fit in kImageMaxSidePixels square.
  if (width >= height && width > kImageMaxSidePixels) {
    height = ScaledOther(width, height, kImageMaxSidePixels);
    width = kImageMaxSidePixels;
  } else if (height > width && height > kImageMaxSidePixels) {
    width = ScaledOther(height, width, kImageMaxSidePixels);
    height = kImageMaxSidePixels;
  }
  // Shorter side down to kImageShortSidePixels.
  if (width <= height && width > kImageShortSidePixels) {
    height = ScaledOther(width, height, kImageShortSidePixels);
    width = kImageShortSidePixels;
  } else if (height < width && height > kImageShortSidePixels) {
    width = ScaledOther(height, width, kImageShortSidePixels);
    height = kImageShortSidePixels;
  }
  return ScaledImage{width, height};
}

int64_t ImageTokens(ImageDetail detail, int64_t width, int64_t height) {
  if (detail == ImageDetail::kLow) return kImageBaseTokens;
  const ScaledImage s = ScaleForHighDetail(width, height);
  const int64_t tiles = CeilDiv(s.width, kImageTilePixels) * CeilDiv(s.height, kImageTilePixels);
  return kImageBaseTokens + kImageTileTokens * tiles;
}

ScaledImage ScaleForAnthropic(int64_t width, int64_t height) {
  width = std::max<int64_t>(1, width);
  height = std::max<int64_t>(1, height);
  const int64_t long_side = std::max(width, height);
  const double by_side = static_cast<double>(kAnthropicMaxLongSidePixels) / long_side;
  const double by_area = std::sqrt(static_cast<double>(kAnthropicMaxPixels) /
                                   (static_cast<double>(width) * static_cast<double>(height)));
  if (by_side >= 1 && by_area >= 1) return ScaledImage{width, height};
  if (by_side <= by_area) {
    // The long edge binds: exactly 1568, the other side in proportion.
    if (width >= height) {
      return ScaledImage{kAnthropicMaxLongSidePixels,
                         ScaledOther(width, height, kAnthropicMaxLongSidePixels)};
    }
    return ScaledImage{ScaledOther(height, width, kAnthropicMaxLongSidePixels),
                       kAnthropicMaxLongSidePixels};
  }
  // The area binds: both sides by its square root, then down a pixel at a
  // time should rounding leave it over.
  int64_t w = std::max<int64_t>(1, static_cast<int64_t>(width * by_area));
  int64_t h = std::max<int64_t>(1, static_cast<int64_t>(height * by_area));
  while (w * h > kAnthropicMaxPixels) {
    if (w >= h) {
      --w;
    } else {
      --h;
    }
  }
  return ScaledImage{w, h};
}

int64_t AnthropicImageTokens(int64_t width, int64_t height) {
  const ScaledImage s = ScaleForAnthropic(width, height);
  return CeilDiv(s.width * s.height, kAnthropicPixelsPerToken);
}

ImageTokenCount CountImageUrlTokens(absl::string_view url, ImageDetail detail, ImageRule rule) {
  const bool anthropic = rule == ImageRule::kAnthropic;
  if (!anthropic && detail == ImageDetail::kLow) return ImageTokenCount{kImageBaseTokens, true};
  if (absl::StartsWithIgnoreCase(url, "data:")) {
    absl::StatusOr<ImageDataUrl> parsed = ParseImageDataUrl(url);
    if (parsed.ok()) {
      absl::StatusOr<ImageDimensions> size = ReadDataUrlImage(*parsed);
      if (size.ok()) {
        return ImageTokenCount{anthropic ? AnthropicImageTokens(size->width, size->height)
                                         : ImageTokens(detail, size->width, size->height),
                               true};
      }
    }
  }
  return ImageTokenCount{anthropic ? kAnthropicUnknownImageTokens : kUnknownImageTokens, false};
}

}  // namespace aigw::tokenizer
