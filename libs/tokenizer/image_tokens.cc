#include "libs/tokenizer/image_tokens.h"

#include <algorithm>

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

ImageTokenCount CountImageUrlTokens(absl::string_view url, ImageDetail detail) {
  if (detail == ImageDetail::kLow) return ImageTokenCount{kImageBaseTokens, true};
  if (absl::StartsWithIgnoreCase(url, "data:")) {
    absl::StatusOr<ImageDataUrl> parsed = ParseImageDataUrl(url);
    if (parsed.ok()) {
      absl::StatusOr<ImageDimensions> size = ReadDataUrlImage(*parsed);
      if (size.ok()) return ImageTokenCount{ImageTokens(detail, size->width, size->height), true};
    }
  }
  return ImageTokenCount{kUnknownImageTokens, false};
}

}  // namespace aigw::tokenizer
