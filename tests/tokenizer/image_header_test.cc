#include "libs/tokenizer/image_header.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/tokenizer/image_fixtures.h"

namespace aigw::tokenizer {
namespace {

using ::testing::HasSubstr;
using namespace ::aigw::tokenizer::testing;  // NOLINT: the fixtures

void ExpectSize(absl::string_view bytes, ImageFormat format, uint32_t width, uint32_t height) {
  absl::StatusOr<ImageDimensions> d = ReadImageHeader(bytes);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->format, format);
  EXPECT_EQ(d->width, width);
  EXPECT_EQ(d->height, height);
}

TEST(ImageHeaderTest, ReadsEachFormat) {
  ExpectSize(PngHeader(1024, 768), ImageFormat::kPng, 1024, 768);
  ExpectSize(GifHeader(320, 200), ImageFormat::kGif, 320, 200);
  ExpectSize(WebpVp8Header(4000, 3000), ImageFormat::kWebp, 4000, 3000);
  ExpectSize(WebpVp8lHeader(16383, 1), ImageFormat::kWebp, 16383, 1);
  ExpectSize(WebpVp8xHeader(20000, 15000), ImageFormat::kWebp, 20000, 15000);
  ExpectSize(JpegHeader(4032, 3024), ImageFormat::kJpeg, 4032, 3024);
  ExpectSize(PngHeader(0x7FFFFFFF, 1), ImageFormat::kPng, 0x7FFFFFFF, 1);
}

TEST(ImageHeaderTest, JpegFrameHeaderAfterLargeSegmentsAndFillBytes) {
  ExpectSize(JpegHeader(2048, 4096, /*app1_bytes=*/60000), ImageFormat::kJpeg, 2048, 4096);
  ExpectSize(JpegHeader(800, 600, 0, /*sof=*/0xC2), ImageFormat::kJpeg, 800, 600);  // progressive
  // Fill bytes before a marker, and a restart marker without a length.
  std::string jpeg = JpegHeader(640, 480);
  jpeg.insert(2, std::string("\xff\xff\xff\xd0", 4));
  ExpectSize(jpeg, ImageFormat::kJpeg, 640, 480);
  // DHT (C4), JPG (C8) and DAC (CC) are not frame headers: skipped.
  std::string dht = JpegHeader(10, 20);
  dht.insert(2, absl::StrCat("\xff\xc4", Be16(6), "abcd", "\xff\xcc", Be16(4), "ab"));
  ExpectSize(dht, ImageFormat::kJpeg, 10, 20);
}

TEST(ImageHeaderTest, EveryPrefixShorterThanTheHeaderIsOutOfRange) {
  for (const std::string& image :
       {PngHeader(5, 6), GifHeader(5, 6), WebpVp8Header(5, 6), WebpVp8lHeader(5, 6),
        WebpVp8xHeader(5, 6), JpegHeader(5, 6, 100)}) {
    absl::StatusOr<ImageDimensions> whole = ReadImageHeader(image);
    ASSERT_TRUE(whole.ok()) << whole.status();
    for (size_t n = 0; n < image.size(); ++n) {
      absl::StatusOr<ImageDimensions> prefix = ReadImageHeader(image.substr(0, n));
      if (prefix.ok()) {
        EXPECT_EQ(prefix->width, 5u);
        EXPECT_EQ(prefix->height, 6u);
      } else {
        EXPECT_TRUE(absl::IsOutOfRange(prefix.status())) << n << ": " << prefix.status();
      }
    }
  }
}

TEST(ImageHeaderTest, RefusesWhatIsNotAnImageOrIsMalformed) {
  for (absl::string_view bytes :
       {absl::string_view("BM\x36\x04\x00\x00", 6), absl::string_view("hello world, not an image"),
        absl::string_view("RIFF\x10\x00\x00\x00WAVEfmt ", 16), absl::string_view("\x89PNX", 4)}) {
    absl::StatusOr<ImageDimensions> d = ReadImageHeader(bytes);
    EXPECT_TRUE(absl::IsInvalidArgument(d.status())) << d.status();
    EXPECT_THAT(d.status().message(), HasSubstr("not a PNG, JPEG, GIF or WebP image"));
  }
  EXPECT_THAT(ReadImageHeader(PngHeader(0, 10)).status().message(), HasSubstr("size 0x10"));
  EXPECT_THAT(ReadImageHeader(GifHeader(10, 0)).status().message(), HasSubstr("size 10x0"));
  EXPECT_TRUE(absl::IsInvalidArgument(ReadImageHeader(PngHeader(0x80000000u, 1)).status()));
  std::string not_ihdr = PngHeader(1, 1);
  not_ihdr.replace(12, 4, "tEXt");
  EXPECT_THAT(ReadImageHeader(not_ihdr).status().message(), HasSubstr("not IHDR"));
  // The scan starts before any frame header.
  const std::string scan_first("\xff\xd8\xff\xda\x00\x02", 6);
  EXPECT_THAT(ReadImageHeader(scan_first).status().message(), HasSubstr("no frame header"));
  EXPECT_THAT(ReadImageHeader(std::string("\xff\xd8\x00", 3)).status().message(),
              HasSubstr("no marker at byte 2"));
  EXPECT_THAT(ReadImageHeader(std::string("\xff\xd8\xff\xe0\x00\x01", 6)).status().message(),
              HasSubstr("segment length 1"));
  std::string vp8 = WebpVp8Header(1, 1);
  vp8[23] = 'x';
  EXPECT_THAT(ReadImageHeader(vp8).status().message(), HasSubstr("no VP8 start code"));
  std::string vp8l = WebpVp8lHeader(1, 1);
  vp8l[20] = 'x';
  EXPECT_THAT(ReadImageHeader(vp8l).status().message(), HasSubstr("no VP8L signature"));
  EXPECT_THAT(ReadImageHeader(Riff("ALPH\x00\x00\x00\x00")).status().message(),
              HasSubstr("none of VP8, VP8L, VP8X"));
}

TEST(ImageDataUrlTest, ParsesMediaTypeAndPayload) {
  const std::string png = PngHeader(10, 20);
  const std::string text = DataUrl("image/png", png);  // the parse's views point into it
  absl::StatusOr<ImageDataUrl> url = ParseImageDataUrl(text);
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_EQ(url->format, ImageFormat::kPng);
  EXPECT_EQ(url->media_type, "image/png");
  EXPECT_EQ(url->decoded_bytes, static_cast<int64_t>(png.size()));
  absl::StatusOr<ImageDimensions> d = ReadDataUrlImage(*url);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->width, 10u);
  EXPECT_EQ(d->height, 20u);

  // Case-insensitive scheme and media type; parameters before ;base64.
  const std::string jpeg =
      absl::StrCat("DATA:Image/JPEG;name=a.jpg;base64,", absl::Base64Escape(JpegHeader(3, 4)));
  url = ParseImageDataUrl(jpeg);
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_EQ(url->format, ImageFormat::kJpeg);
  EXPECT_EQ(url->media_type, "Image/JPEG");
}

TEST(ImageDataUrlTest, DecodedSizeWithAndWithoutPadding) {
  for (size_t n = 1; n <= 7; ++n) {
    const std::string bytes(n, 'z');
    std::string b64 = absl::Base64Escape(bytes);
    absl::StatusOr<ImageDataUrl> padded = ParseImageDataUrl(absl::StrCat("data:image/gif;base64,", b64));
    ASSERT_TRUE(padded.ok()) << padded.status();
    EXPECT_EQ(padded->decoded_bytes, static_cast<int64_t>(n));
    while (!b64.empty() && b64.back() == '=') b64.pop_back();
    absl::StatusOr<ImageDataUrl> unpadded =
        ParseImageDataUrl(absl::StrCat("data:image/gif;base64,", b64));
    ASSERT_TRUE(unpadded.ok()) << unpadded.status();
    EXPECT_EQ(unpadded->decoded_bytes, static_cast<int64_t>(n));
  }
}

TEST(ImageDataUrlTest, RefusesWithWhatToFix) {
  const std::string payload = absl::Base64Escape(PngHeader(1, 1));
  struct Case {
    std::string url;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {"https://example.com/a.png", "not a data: URL"},
           {"data:image/png;base64", "no ','"},
           {absl::StrCat("data:image/svg+xml;base64,", payload),
            "media type is 'image/svg+xml': send image/png, image/jpeg, image/gif or image/webp"},
           {absl::StrCat("data:text/plain;base64,", payload), "media type is 'text/plain'"},
           {absl::StrCat("data:,", payload), "media type is ''"},
           {absl::StrCat("data:image/png,", payload), "not base64: write data:<media type>;base64,"},
           {"data:image/png;base64,", "payload is empty"},
           {"data:image/png;base64,iVBO Rw0K", "byte 4 is ' '"},
           {"data:image/png;base64,iVBO\nRw0K", "byte 4 is 0xa"},
           {"data:image/png;base64,iVBORw0K=", "9 characters cannot be whole base64 groups"},
           {"data:image/png;base64,iVBORw0Ka", "9 characters cannot be whole base64 groups"},
           {"data:image/png;base64,iV=BORw0", "byte 2 is '='"},
       }) {
    absl::StatusOr<ImageDataUrl> url = ParseImageDataUrl(c.url);
    EXPECT_TRUE(absl::IsInvalidArgument(url.status())) << c.url << ": " << url.status();
    EXPECT_THAT(url.status().message(), HasSubstr(c.message)) << c.url;
  }
}

TEST(ImageDataUrlTest, ReadsAJpegFrameHeaderFarIntoThePayload) {
  // Past the first 64 bytes and the next 64 KiB.
  for (size_t app1 : {size_t{100}, size_t{30000}, size_t{65000}}) {
    std::string jpeg = JpegHeader(1234, 567, app1);
    if (app1 == 65000) {
      // A second APP1 puts the frame header past 64 KiB.
      jpeg.insert(2, absl::StrCat("\xff\xe2", Be16(65000), std::string(64998, 'y')));
    }
    const std::string text = DataUrl("image/jpeg", jpeg);
    absl::StatusOr<ImageDataUrl> url = ParseImageDataUrl(text);
    ASSERT_TRUE(url.ok()) << url.status();
    absl::StatusOr<ImageDimensions> d = ReadDataUrlImage(*url);
    ASSERT_TRUE(d.ok()) << app1 << ": " << d.status();
    EXPECT_EQ(d->width, 1234u);
    EXPECT_EQ(d->height, 567u);
  }
}

TEST(ImageDataUrlTest, AnImageThatEndsInsideItsHeaderIsOutOfRange) {
  const std::string jpeg = JpegHeader(10, 10, 5000).substr(0, 3000);
  const std::string text = DataUrl("image/jpeg", jpeg);
  absl::StatusOr<ImageDataUrl> url = ParseImageDataUrl(text);
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_TRUE(absl::IsOutOfRange(ReadDataUrlImage(*url).status()));
}

}  // namespace
}  // namespace aigw::tokenizer
