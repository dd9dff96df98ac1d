#ifndef AIGW_TESTS_TOKENIZER_IMAGE_FIXTURES_H_
#define AIGW_TESTS_TOKENIZER_IMAGE_FIXTURES_H_

// The first bytes of image files of each format, as the encoders write them,
// for any width and height: enough for a header reader (no pixels follow).
// `file` names each with the size given (checked when written).

#include <cstdint>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace aigw::tokenizer::testing {

inline std::string Be16(uint32_t v) { return {static_cast<char>(v >> 8), static_cast<char>(v)}; }
inline std::string Be32(uint32_t v) { return Be16(v >> 16) + Be16(v & 0xFFFF); }
inline std::string Le16(uint32_t v) { return {static_cast<char>(v), static_cast<char>(v >> 8)}; }
inline std::string Le24(uint32_t v) { return Le16(v & 0xFFFF) + std::string(1, static_cast<char>(v >> 16)); }
inline std::string Le32(uint32_t v) { return Le16(v & 0xFFFF) + Le16(v >> 16); }

inline std::string PngHeader(uint32_t width, uint32_t height) {
  // Signature; IHDR: length 13, type, size, 8-bit RGB, CRC (not checked).
  return absl::StrCat(std::string("\x89PNG\r\n\x1a\n", 8), Be32(13), "IHDR", Be32(width),
                      Be32(height), std::string("\x08\x02\x00\x00\x00", 5), "\x90\x77\x53\xde");
}

inline std::string GifHeader(uint32_t width, uint32_t height) {
  return absl::StrCat("GIF89a", Le16(width), Le16(height), std::string("\xf7\x00\x00", 3));
}

inline std::string Riff(const std::string& chunk) {
  return absl::StrCat("RIFF", Le32(4 + chunk.size()), "WEBP", chunk);
}

// Lossy: the key frame's tag, start code and 14-bit sizes.
inline std::string WebpVp8Header(uint32_t width, uint32_t height) {
  const std::string frame = absl::StrCat(std::string("\x50\x05\x00\x9d\x01\x2a", 6), Le16(width),
                                         Le16(height));
  return Riff(absl::StrCat("VP8 ", Le32(frame.size()), frame));
}

// Lossless: signature 0x2F, then width - 1 and height - 1 in 14 bits each.
inline std::string WebpVp8lHeader(uint32_t width, uint32_t height) {
  const std::string bits = absl::StrCat("\x2f", Le32((width - 1) | ((height - 1) << 14)));
  return Riff(absl::StrCat("VP8L", Le32(bits.size()), bits));
}

// Extended: flags, reserved, canvas width - 1 and height - 1 in 24 bits.
inline std::string WebpVp8xHeader(uint32_t width, uint32_t height) {
  const std::string canvas =
      absl::StrCat(std::string("\x10\x00\x00\x00", 4), Le24(width - 1), Le24(height - 1));
  return Riff(absl::StrCat("VP8X", Le32(canvas.size()), canvas));
}

// A JFIF file: APP0, then an APP1 (EXIF) segment of `app1_bytes` payload
// bytes when not 0, a quantisation table, then the frame header (SOF0, or
// `sof` such as 0xC2 for progressive) and the start of the scan.
inline std::string JpegHeader(uint32_t width, uint32_t height, size_t app1_bytes = 0,
                              uint8_t sof = 0xC0) {
  std::string out("\xff\xd8\xff\xe0", 4);
  absl::StrAppend(&out, Be16(16), std::string("JFIF\0\x01\x01\x00\x00\x01\x00\x01\x00\x00", 14));
  if (app1_bytes > 0) {
    absl::StrAppend(&out, "\xff\xe1", Be16(2 + app1_bytes), std::string("Exif\0\0", 6),
                    std::string(app1_bytes - 6, 'x'));
  }
  absl::StrAppend(&out, "\xff\xdb", Be16(67), std::string(1, '\0'), std::string(64, '\x01'));
  absl::StrAppend(&out, std::string("\xff", 1), std::string(1, static_cast<char>(sof)), Be16(17),
                  "\x08", Be16(height), Be16(width),
                  std::string("\x03\x01\x22\x00\x02\x11\x01\x03\x11\x01", 10));
  absl::StrAppend(&out, std::string("\xff\xda\x00\x0c\x03\x01\x00\x02\x11\x03\x11\x00\x3f\x00", 14));
  return out;
}

inline std::string DataUrl(absl::string_view media_type, absl::string_view bytes) {
  return absl::StrCat("data:", media_type, ";base64,", absl::Base64Escape(bytes));
}

}  // namespace aigw::tokenizer::testing

#endif  // AIGW_TESTS_TOKENIZER_IMAGE_FIXTURES_H_
