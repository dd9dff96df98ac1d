// Image headers as callers send them in data: URLs (libs/tokenizer:
// ReadImageHeader, ParseImageDataUrl, ReadDataUrlImage, and the tile math of
// image_tokens on what they read), on arbitrary bytes.
//
// Checked besides crashes: only OK, INVALID_ARGUMENT and OUT_OF_RANGE; a
// size read is never zero and its format's signature starts the bytes; a
// prefix of the bytes answers the same or OUT_OF_RANGE (what the data: URL
// reader's partial decoding relies on); the bytes as a base64 data: URL parse,
// decode to their length and read exactly as the raw bytes do; a high-detail
// image costs 255..1445 tokens, a low-detail one 85; by Anthropic's rule it
// is scaled within 1568 px and kAnthropicMaxPixels and costs 1..1608; the
// bytes taken as a URL
// never crash the parser and any status is one of the three.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "libs/tokenizer/image_header.h"
#include "libs/tokenizer/image_tokens.h"

namespace {

using aigw::tokenizer::ImageDimensions;

void Fail(const char* what) {
  fprintf(stderr, "image_header: %s\n", what);
  abort();
}

bool Expected(const absl::Status& st) {
  return st.ok() || absl::IsInvalidArgument(st) || absl::IsOutOfRange(st);
}

bool Same(const absl::StatusOr<ImageDimensions>& a, const absl::StatusOr<ImageDimensions>& b) {
  if (a.ok() != b.ok()) return false;
  if (!a.ok()) return a.status().code() == b.status().code();
  return a->format == b->format && a->width == b->width && a->height == b->height;
}

bool SignatureStarts(const ImageDimensions& d, absl::string_view bytes) {
  switch (d.format) {
    case aigw::tokenizer::ImageFormat::kPng:
      return absl::StartsWith(bytes, "\x89PNG\r\n\x1a\n");
    case aigw::tokenizer::ImageFormat::kJpeg:
      return absl::StartsWith(bytes, "\xff\xd8");
    case aigw::tokenizer::ImageFormat::kGif:
      return absl::StartsWith(bytes, "GIF87a") || absl::StartsWith(bytes, "GIF89a");
    case aigw::tokenizer::ImageFormat::kWebp:
      return absl::StartsWith(bytes, "RIFF") && bytes.substr(8, 4) == "WEBP";
  }
  return false;
}

void CheckPrefix(absl::string_view bytes, size_t n, const absl::StatusOr<ImageDimensions>& whole) {
  const absl::StatusOr<ImageDimensions> prefix = aigw::tokenizer::ReadImageHeader(bytes.substr(0, n));
  if (!Expected(prefix.status())) Fail("unexpected status code on a prefix");
  if (prefix.ok() && !Same(prefix, whole)) Fail("a prefix read differently from the whole");
  if (absl::IsInvalidArgument(prefix.status()) && !absl::IsInvalidArgument(whole.status())) {
    Fail("a prefix refused what the whole read");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view bytes(reinterpret_cast<const char*>(data), size);
  const absl::StatusOr<ImageDimensions> whole = aigw::tokenizer::ReadImageHeader(bytes);
  if (!Expected(whole.status())) Fail("unexpected status code");
  if (whole.ok()) {
    if (whole->width == 0 || whole->height == 0) Fail("zero size");
    if (!SignatureStarts(*whole, bytes)) Fail("format without its signature");
    using aigw::tokenizer::ImageDetail;
    const int64_t high = aigw::tokenizer::ImageTokens(ImageDetail::kHigh, whole->width, whole->height);
    if (high < 255 || high > aigw::tokenizer::kUnknownImageTokens) Fail("high detail out of range");
    if (aigw::tokenizer::ImageTokens(ImageDetail::kLow, whole->width, whole->height) != 85) {
      Fail("low detail is not 85");
    }
    // Anthropic's rule: within its limits after scaling, and never more than
    // an image of unknown size.
    const aigw::tokenizer::ScaledImage a =
        aigw::tokenizer::ScaleForAnthropic(whole->width, whole->height);
    if (a.width < 1 || a.height < 1 || a.width > whole->width || a.height > whole->height ||
        std::max(a.width, a.height) > aigw::tokenizer::kAnthropicMaxLongSidePixels ||
        a.width * a.height > aigw::tokenizer::kAnthropicMaxPixels) {
      Fail("Anthropic scaling out of its limits");
    }
    const int64_t anthropic = aigw::tokenizer::AnthropicImageTokens(whole->width, whole->height);
    if (anthropic < 1 || anthropic > aigw::tokenizer::kAnthropicUnknownImageTokens) {
      Fail("Anthropic tokens out of range");
    }
  }
  CheckPrefix(bytes, size / 2, whole);
  if (size > 0) CheckPrefix(bytes, size - 1, whole);

  // The same bytes in a data: URL.
  if (size > 0) {
    const std::string url = absl::StrCat("data:image/png;base64,", absl::Base64Escape(bytes));
    const absl::StatusOr<aigw::tokenizer::ImageDataUrl> parsed =
        aigw::tokenizer::ParseImageDataUrl(url);
    if (!parsed.ok()) Fail("a base64 data: URL did not parse");
    if (parsed->decoded_bytes != static_cast<int64_t>(size)) Fail("decoded size differs");
    if (!Same(aigw::tokenizer::ReadDataUrlImage(*parsed), whole)) {
      Fail("the data: URL read differently from the bytes");
    }
  }

  // The bytes as a URL.
  const absl::StatusOr<aigw::tokenizer::ImageDataUrl> as_url =
      aigw::tokenizer::ParseImageDataUrl(bytes);
  if (!Expected(as_url.status())) Fail("unexpected status code parsing a URL");
  if (as_url.ok()) {
    if (as_url->decoded_bytes < 0) Fail("negative decoded size");
    if (!Expected(aigw::tokenizer::ReadDataUrlImage(*as_url).status())) {
      Fail("unexpected status code reading a URL");
    }
  }
  return 0;
}
