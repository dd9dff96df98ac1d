#include "libs/tokenizer/image_tokens.h"

#include "gtest/gtest.h"
#include "tests/tokenizer/image_fixtures.h"

namespace aigw::tokenizer {
namespace {

using ::aigw::tokenizer::testing::DataUrl;
using ::aigw::tokenizer::testing::JpegHeader;
using ::aigw::tokenizer::testing::PngHeader;
using ::aigw::tokenizer::testing::WebpVp8xHeader;

// The worked examples of OpenAI's vision guide ("Calculating costs").
TEST(ImageTokensTest, OpenAiWorkedExamples) {
  // 1024 x 1024, high: no fit needed, shorter side to 768: 768 x 768, 4 tiles.
  EXPECT_EQ(ImageTokens(ImageDetail::kHigh, 1024, 1024), 765);
  // 2048 x 4096, high: fit to 1024 x 2048, then 768 x 1536, 6 tiles.
  EXPECT_EQ(ImageTokens(ImageDetail::kHigh, 2048, 4096), 1105);
  // 4096 x 8192, low: a fixed 85.
  EXPECT_EQ(ImageTokens(ImageDetail::kLow, 4096, 8192), 85);
}

TEST(ImageTokensTest, ScalesDownInTwoStepsAndNeverUp) {
  auto scaled = [](int64_t w, int64_t h) {
    const ScaledImage s = ScaleForHighDetail(w, h);
    return std::pair<int64_t, int64_t>(s.width, s.height);
  };
  EXPECT_EQ(scaled(2048, 4096), std::make_pair(int64_t{768}, int64_t{1536}));
  EXPECT_EQ(scaled(4096, 2048), std::make_pair(int64_t{1536}, int64_t{768}));
  EXPECT_EQ(scaled(1024, 1024), std::make_pair(int64_t{768}, int64_t{768}));
  EXPECT_EQ(scaled(500, 300), std::make_pair(int64_t{500}, int64_t{300}));
  // A panorama: fitted to 2048 wide, its height (599) already below 768.
  EXPECT_EQ(scaled(8000, 2343), std::make_pair(int64_t{2048}, int64_t{599}));
  // A sliver keeps at least one pixel.
  EXPECT_EQ(scaled(100000, 1), std::make_pair(int64_t{2048}, int64_t{1}));
  // 512 x 512 and below is one tile; one pixel more is two or four.
  EXPECT_EQ(ImageTokens(ImageDetail::kHigh, 512, 512), 255);
  EXPECT_EQ(ImageTokens(ImageDetail::kHigh, 513, 500), 425);
  EXPECT_EQ(ImageTokens(ImageDetail::kHigh, 513, 513), 765);
  // 1920 x 1080 -> 1365 x 768: 3 x 2 tiles.
  EXPECT_EQ(ImageTokens(ImageDetail::kHigh, 1920, 1080), 1105);
}

TEST(ImageTokensTest, AutoCountsAsHigh) {
  EXPECT_EQ(ImageTokens(ImageDetail::kAuto, 1024, 1024), 765);
  EXPECT_EQ(ImageTokens(ImageDetail::kAuto, 100, 100), 255);
}

TEST(ImageTokensTest, NoSizeCostsMoreThanTheUnknownImageDefault) {
  int64_t most = 0;
  for (int64_t w = 1; w <= 5000; w += 37) {
    for (int64_t h = 1; h <= 5000; h += 41) most = std::max(most, ImageTokens(ImageDetail::kHigh, w, h));
  }
  EXPECT_EQ(most, kUnknownImageTokens);
  EXPECT_EQ(kUnknownImageTokens, 1445);
  EXPECT_EQ(ImageTokens(ImageDetail::kHigh, 768, 2048), kUnknownImageTokens);
}

TEST(ImageTokensTest, ParsesDetail) {
  EXPECT_EQ(ParseImageDetail(""), ImageDetail::kAuto);
  EXPECT_EQ(ParseImageDetail("auto"), ImageDetail::kAuto);
  EXPECT_EQ(ParseImageDetail("low"), ImageDetail::kLow);
  EXPECT_EQ(ParseImageDetail("high"), ImageDetail::kHigh);
  EXPECT_EQ(ParseImageDetail("HIGH"), absl::nullopt);
  EXPECT_EQ(ParseImageDetail("medium"), absl::nullopt);
}

TEST(ImageTokensTest, DataUrlsAreMeasuredRemoteUrlsAreNot) {
  ImageTokenCount c = CountImageUrlTokens(DataUrl("image/png", PngHeader(1024, 1024)), ImageDetail::kHigh);
  EXPECT_EQ(c.tokens, 765);
  EXPECT_TRUE(c.size_known);
  c = CountImageUrlTokens(DataUrl("image/jpeg", JpegHeader(2048, 4096, 20000)), ImageDetail::kAuto);
  EXPECT_EQ(c.tokens, 1105);
  EXPECT_TRUE(c.size_known);
  c = CountImageUrlTokens(DataUrl("image/webp", WebpVp8xHeader(300, 200)), ImageDetail::kHigh);
  EXPECT_EQ(c.tokens, 255);

  c = CountImageUrlTokens("https://example.com/cover.png", ImageDetail::kHigh);
  EXPECT_EQ(c.tokens, kUnknownImageTokens);
  EXPECT_FALSE(c.size_known);
  c = CountImageUrlTokens("https://example.com/cover.png", ImageDetail::kLow);
  EXPECT_EQ(c.tokens, 85);
  EXPECT_TRUE(c.size_known);
  // A data: URL whose header does not read counts like a remote image.
  c = CountImageUrlTokens("data:image/png;base64,aGVsbG8gd29ybGQ=", ImageDetail::kAuto);
  EXPECT_EQ(c.tokens, kUnknownImageTokens);
  EXPECT_FALSE(c.size_known);
}

// Anthropic's examples ("Calculate image costs"): tokens = width x height /
// 750 for images within its size limits, ~54 for 200 x 200, ~1334 for
// 1000 x 1000, ~1590 for 1092 x 1092 (1.19 megapixels).
TEST(AnthropicImageTokensTest, AnthropicsDocumentedExamples) {
  EXPECT_EQ(AnthropicImageTokens(200, 200), 54);
  EXPECT_EQ(AnthropicImageTokens(1000, 1000), 1334);
  EXPECT_EQ(AnthropicImageTokens(1092, 1092), 1590);
}

// Anthropic's table of the largest sizes it does not resize, by aspect
// ratio: each counts within 3% of its own pixels / 750 (the 1:1 and 9:16
// rows exactly, being under 1.15 x 2^20 pixels).
TEST(AnthropicImageTokensTest, TheLargestUnscaledSizesOfAnthropicsTable) {
  const std::pair<int64_t, int64_t> rows[] = {
      {1092, 1092}, {951, 1268}, {896, 1344}, {819, 1456}, {784, 1568}};
  for (const auto& [w, h] : rows) {
    const double documented = static_cast<double>(w * h) / 750;
    EXPECT_NEAR(static_cast<double>(AnthropicImageTokens(w, h)), documented, documented * 0.03)
        << w << " x " << h;
    EXPECT_LE(AnthropicImageTokens(w, h), kAnthropicUnknownImageTokens);
  }
  EXPECT_EQ(AnthropicImageTokens(819, 1456), 1590);
}

TEST(AnthropicImageTokensTest, ScalesToTheLongEdgeAndTheAreaAndNeverUp) {
  auto scaled = [](int64_t w, int64_t h) {
    const ScaledImage s = ScaleForAnthropic(w, h);
    return std::pair<int64_t, int64_t>(s.width, s.height);
  };
  EXPECT_EQ(scaled(500, 300), std::make_pair(int64_t{500}, int64_t{300}));
  // A long banner: the long edge binds (1568), the area is then small.
  EXPECT_EQ(scaled(8000, 2000), std::make_pair(int64_t{1568}, int64_t{392}));
  EXPECT_EQ(AnthropicImageTokens(8000, 2000), 820);  // 614,656 px / 750, rounded up
  EXPECT_EQ(scaled(100000, 1), std::make_pair(int64_t{1568}, int64_t{1}));
  // A large square: the area binds, 1098 x 1098 = 1,205,604 px.
  EXPECT_EQ(scaled(4000, 4000), std::make_pair(int64_t{1098}, int64_t{1098}));
  EXPECT_EQ(AnthropicImageTokens(4000, 4000), 1608);
  // 1920 x 1080 (2.07 MP): scaled by the area to 1464 x 823.
  const ScaledImage hd = ScaleForAnthropic(1920, 1080);
  EXPECT_LE(hd.width * hd.height, kAnthropicMaxPixels);
  EXPECT_EQ(hd.width, 1464);
  EXPECT_EQ(hd.height, 823);
}

TEST(AnthropicImageTokensTest, NoSizeCostsMoreThanTheUnknownImageDefault) {
  int64_t most = 0;
  for (int64_t w = 1; w <= 5000; w += 37) {
    for (int64_t h = 1; h <= 5000; h += 41) most = std::max(most, AnthropicImageTokens(w, h));
  }
  EXPECT_LE(most, kAnthropicUnknownImageTokens);
  EXPECT_GE(most, kAnthropicUnknownImageTokens - 2);
  EXPECT_EQ(kAnthropicUnknownImageTokens, 1608);
}

TEST(AnthropicImageTokensTest, DataUrlsAreMeasuredRemoteUrlsAreNotDetailIsIgnored) {
  ImageTokenCount c = CountImageUrlTokens(DataUrl("image/png", PngHeader(1000, 1000)),
                                          ImageDetail::kLow, ImageRule::kAnthropic);
  EXPECT_EQ(c.tokens, 1334);
  EXPECT_TRUE(c.size_known);
  c = CountImageUrlTokens(DataUrl("image/jpeg", JpegHeader(200, 200, 20000)), ImageDetail::kHigh,
                          ImageRule::kAnthropic);
  EXPECT_EQ(c.tokens, 54);
  c = CountImageUrlTokens("https://example.com/cover.png", ImageDetail::kLow,
                          ImageRule::kAnthropic);
  EXPECT_EQ(c.tokens, kAnthropicUnknownImageTokens);
  EXPECT_FALSE(c.size_known);
}

}  // namespace
}  // namespace aigw::tokenizer
