#include "libs/tokenizer/image_header.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace aigw::tokenizer {
namespace {

// Bounds-checked big- and little-endian reads; the callers check the size
// first.
uint32_t Be16(absl::string_view b, size_t at) {
  return (static_cast<uint32_t>(static_cast<uint8_t>(b[at])) << 8) |
         static_cast<uint8_t>(b[at + 1]);
}
uint32_t Be32(absl::string_view b, size_t at) { return (Be16(b, at) << 16) | Be16(b, at + 2); }
uint32_t Le16(absl::string_view b, size_t at) {
  return static_cast<uint8_t>(b[at]) | (static_cast<uint32_t>(static_cast<uint8_t>(b[at + 1])) << 8);
}
uint32_t Le24(absl::string_view b, size_t at) {
  return Le16(b, at) | (static_cast<uint32_t>(static_cast<uint8_t>(b[at + 2])) << 16);
}
uint32_t Le32(absl::string_view b, size_t at) { return Le16(b, at) | (Le16(b, at + 2) << 16); }

absl::Status Truncated(absl::string_view format) {
  return absl::OutOfRangeError(absl::StrCat("the ", format, " image ends inside its header"));
}

absl::Status Malformed(absl::string_view format, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("malformed ", format, " header: ", what));
}

absl::StatusOr<ImageDimensions> Sized(ImageFormat format, absl::string_view name, uint32_t width,
                                      uint32_t height) {
  if (width == 0 || height == 0) {
    return Malformed(name, absl::StrCat("size ", width, "x", height));
  }
  return ImageDimensions{format, width, height};
}

constexpr absl::string_view kPngSignature("\x89PNG\r\n\x1a\n", 8);

absl::StatusOr<ImageDimensions> ReadPng(absl::string_view b) {
  // Signature, IHDR length (13), "IHDR", width, height.
  if (b.size() < 24) return Truncated("PNG");
  if (b.substr(12, 4) != "IHDR") return Malformed("PNG", "the first chunk is not IHDR");
  const uint32_t width = Be32(b, 16), height = Be32(b, 20);
  // The PNG specification bounds both at 2^31 - 1.
  if (width > 0x7FFFFFFFu || height > 0x7FFFFFFFu) {
    return Malformed("PNG", absl::StrCat("size ", width, "x", height));
  }
  return Sized(ImageFormat::kPng, "PNG", width, height);
}

absl::StatusOr<ImageDimensions> ReadGif(absl::string_view b) {
  // "GIF87a" / "GIF89a", then the logical screen width and height.
  if (b.size() < 10) return Truncated("GIF");
  return Sized(ImageFormat::kGif, "GIF", Le16(b, 6), Le16(b, 8));
}

absl::StatusOr<ImageDimensions> ReadWebp(absl::string_view b) {
  // "RIFF" size "WEBP", then the first chunk's FourCC and size; its payload
  // starts at 20.
  if (b.size() < 16) return Truncated("WebP");
  const absl::string_view chunk = b.substr(12, 4);
  if (chunk == "VP8 ") {
    // Lossy: a 3-byte frame tag, the start code 9D 01 2A, then 14-bit width
    // and height (the top two bits are the upscaling hint).
    if (b.size() < 30) return Truncated("WebP");
    if (b.substr(23, 3) != "\x9d\x01\x2a") return Malformed("WebP", "no VP8 start code");
    return Sized(ImageFormat::kWebp, "WebP", Le16(b, 26) & 0x3FFF, Le16(b, 28) & 0x3FFF);
  }
  if (chunk == "VP8L") {
    // Lossless: the signature 0x2F, then width - 1 and height - 1 in 14 bits
    // each.
    if (b.size() < 25) return Truncated("WebP");
    if (static_cast<uint8_t>(b[20]) != 0x2F) return Malformed("WebP", "no VP8L signature");
    const uint32_t bits = Le32(b, 21);
    return Sized(ImageFormat::kWebp, "WebP", (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1);
  }
  if (chunk == "VP8X") {
    // Extended: flags and 3 reserved bytes, then the canvas width - 1 and
    // height - 1 in 24 bits each.
    if (b.size() < 30) return Truncated("WebP");
    return Sized(ImageFormat::kWebp, "WebP", Le24(b, 24) + 1, Le24(b, 27) + 1);
  }
  return Malformed("WebP", "the first chunk is none of VP8, VP8L, VP8X");
}

// Start-of-frame markers carry the size: C0..CF but DHT (C4), JPG (C8) and
// DAC (CC).
bool IsStartOfFrame(uint8_t marker) {
  return marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
}

absl::StatusOr<ImageDimensions> ReadJpeg(absl::string_view b) {
  size_t at = 2;  // past SOI (FF D8)
  while (true) {
    // A marker: FF, any number of FF fill bytes, then its code.
    if (at >= b.size()) return Truncated("JPEG");
    if (static_cast<uint8_t>(b[at]) != 0xFF) {
      return Malformed("JPEG", absl::StrCat("no marker at byte ", at));
    }
    while (at < b.size() && static_cast<uint8_t>(b[at]) == 0xFF) ++at;
    if (at >= b.size()) return Truncated("JPEG");
    const auto marker = static_cast<uint8_t>(b[at++]);
    // Markers without a length: TEM, RSTn (and SOI again).
    if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD8)) continue;
    if (marker == 0xD9 || marker == 0xDA) {
      return Malformed("JPEG", "no frame header before the image data");
    }
    if (at + 2 > b.size()) return Truncated("JPEG");
    const uint32_t length = Be16(b, at);  // counts itself
    if (length < 2) return Malformed("JPEG", absl::StrCat("segment length ", length));
    if (IsStartOfFrame(marker)) {
      // Precision (1 byte), height, width.
      if (length < 7) return Malformed("JPEG", "frame header too short");
      if (at + 7 > b.size()) return Truncated("JPEG");
      // A height of 0 defers it to a DNL marker after the first scan, which
      // no provider accepts.
      return Sized(ImageFormat::kJpeg, "JPEG", Be16(b, at + 5), Be16(b, at + 3));
    }
    at += length;
  }
}

// The decoded size of validated base64 text.
int64_t DecodedSize(absl::string_view base64) {
  size_t pad = 0;
  while (pad < 2 && pad < base64.size() && base64[base64.size() - 1 - pad] == '=') ++pad;
  const size_t chars = base64.size() - pad;
  return static_cast<int64_t>(chars / 4 * 3 + (chars % 4 == 0 ? 0 : chars % 4 - 1));
}

bool IsBase64Char(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/';
}

// Standard alphabet, at most two '=' at the end; padded to a multiple of 4
// or unpadded (a lone trailing character is never valid).
absl::Status CheckBase64(absl::string_view s) {
  size_t pad = 0;
  while (pad < 2 && pad < s.size() && s[s.size() - 1 - pad] == '=') ++pad;
  const absl::string_view body = s.substr(0, s.size() - pad);
  for (size_t i = 0; i < body.size(); ++i) {
    if (!IsBase64Char(body[i])) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the data: URL's payload is not base64: byte ", i, " is ",
          absl::ascii_isprint(static_cast<unsigned char>(body[i]))
              ? absl::StrCat("'", body.substr(i, 1), "'")
              : absl::StrCat("0x", absl::Hex(static_cast<unsigned char>(body[i]))),
          " (standard alphabet, no whitespace)"));
    }
  }
  if (body.size() % 4 == 1 || (pad > 0 && s.size() % 4 != 0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("the data: URL's payload is not base64: ", s.size(),
                     " characters cannot be whole base64 groups"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::string_view MediaTypeOf(ImageFormat format) {
  switch (format) {
    case ImageFormat::kPng:
      return "image/png";
    case ImageFormat::kJpeg:
      return "image/jpeg";
    case ImageFormat::kGif:
      return "image/gif";
    case ImageFormat::kWebp:
      return "image/webp";
  }
  return "image/png";
}

absl::StatusOr<ImageDimensions> ReadImageHeader(absl::string_view bytes) {
  using Reader = absl::StatusOr<ImageDimensions> (*)(absl::string_view);
  struct Signature {
    absl::string_view magic;  // '?' matches any byte
    Reader read;
  };
  static constexpr Signature kSignatures[] = {
      {kPngSignature, ReadPng},
      {"\xFF\xD8", ReadJpeg},
      {"GIF87a", ReadGif},
      {"GIF89a", ReadGif},
      {"RIFF????WEBP", ReadWebp},
  };
  // A prefix of a signature is OUT_OF_RANGE, not "not an image": more bytes
  // of the same file may match it.
  bool prefix = false;
  for (const Signature& sig : kSignatures) {
    const size_t n = std::min(bytes.size(), sig.magic.size());
    bool match = true;
    for (size_t i = 0; i < n && match; ++i) match = sig.magic[i] == '?' || sig.magic[i] == bytes[i];
    if (!match) continue;
    if (n == sig.magic.size()) return sig.read(bytes);
    prefix = true;
  }
  if (prefix) return absl::OutOfRangeError("the image ends inside its header");
  return absl::InvalidArgumentError("not a PNG, JPEG, GIF or WebP image");
}

absl::StatusOr<ImageDataUrl> ParseImageDataUrl(absl::string_view url) {
  if (url.size() < 5 || !absl::EqualsIgnoreCase(url.substr(0, 5), "data:")) {
    return absl::InvalidArgumentError("not a data: URL");
  }
  const size_t comma = url.find(',');
  if (comma == absl::string_view::npos) {
    return absl::InvalidArgumentError("the data: URL has no ',' before its payload");
  }
  const absl::string_view meta = url.substr(5, comma - 5);
  std::vector<absl::string_view> fields = absl::StrSplit(meta, ';');
  ImageDataUrl out;
  out.media_type = absl::StripAsciiWhitespace(fields.front());
  bool known = false;
  for (ImageFormat f :
       {ImageFormat::kPng, ImageFormat::kJpeg, ImageFormat::kGif, ImageFormat::kWebp}) {
    if (absl::EqualsIgnoreCase(out.media_type, MediaTypeOf(f))) {
      out.format = f;
      known = true;
    }
  }
  if (!known) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the data: URL's media type is '", out.media_type.substr(0, 64),
        "': send image/png, image/jpeg, image/gif or image/webp"));
  }
  if (fields.size() < 2 || !absl::EqualsIgnoreCase(fields.back(), "base64")) {
    return absl::InvalidArgumentError(
        "the data: URL is not base64: write data:<media type>;base64,<payload>");
  }
  out.base64 = url.substr(comma + 1);
  if (out.base64.empty()) return absl::InvalidArgumentError("the data: URL's payload is empty");
  if (absl::Status st = CheckBase64(out.base64); !st.ok()) return st;
  out.decoded_bytes = DecodedSize(out.base64);
  return out;
}

absl::StatusOr<ImageDimensions> ReadDataUrlImage(const ImageDataUrl& url) {
  // 64 bytes hold every header but that of a JPEG with segments before its
  // frame header; 64 KiB most of those.
  for (const size_t bytes : {size_t{64}, size_t{64} << 10, url.base64.size()}) {
    // Whole 4-character groups, so that a prefix decodes on its own.
    const size_t chars = std::min(url.base64.size(), (bytes + 2) / 3 * 4);
    std::string decoded;
    if (!absl::Base64Unescape(url.base64.substr(0, chars), &decoded)) {
      return absl::InvalidArgumentError("the data: URL's payload is not base64");
    }
    absl::StatusOr<ImageDimensions> header = ReadImageHeader(decoded);
    if (header.ok() || !absl::IsOutOfRange(header.status()) || chars == url.base64.size()) {
      return header;
    }
  }
  return absl::OutOfRangeError("the image ends inside its header");  // not reached
}

}  // namespace aigw::tokenizer
