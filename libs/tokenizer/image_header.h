#ifndef AIGW_LIBS_TOKENIZER_IMAGE_HEADER_H_
#define AIGW_LIBS_TOKENIZER_IMAGE_HEADER_H_

#include <cstdint>
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace aigw::tokenizer {

// Image dimensions read from the first bytes of an image file, and the
// `data:` URLs that carry images in chat requests. Both read what callers
// send: every offset is checked against the bytes there are, nothing is
// decoded beyond the header (no pixels), and a file that claims a zero
// width or height is refused.

// The formats every provider the gateway speaks to accepts (OpenAI and
// Anthropic: PNG, JPEG, GIF, WebP).
enum class ImageFormat { kPng, kJpeg, kGif, kWebp };

// image/png | image/jpeg | image/gif | image/webp
absl::string_view MediaTypeOf(ImageFormat format);

struct ImageDimensions {
  ImageFormat format = ImageFormat::kPng;
  uint32_t width = 0;   // pixels, > 0
  uint32_t height = 0;  // pixels, > 0
};

// Reads the format and size from the start of an image file:
//  - PNG: the IHDR chunk (24 bytes);
//  - GIF: the logical screen (10 bytes);
//  - WebP: the VP8 key frame, VP8L or VP8X canvas header (at most 30 bytes);
//  - JPEG: the first start-of-frame marker, found by walking the segments
//    (EXIF and ICC segments before it can make that tens of kilobytes in).
// Errors: OUT_OF_RANGE when `bytes` ends before the header does (a longer
// prefix of the same file may answer); INVALID_ARGUMENT when the bytes are
// none of the four formats or their header is malformed. A prefix of a file
// never answers differently from the whole file: it answers the same or
// OUT_OF_RANGE.
absl::StatusOr<ImageDimensions> ReadImageHeader(absl::string_view bytes);

// A `data:` URL of an image, parsed: `data:<media type>[;param=value]*;base64,<payload>`.
struct ImageDataUrl {
  ImageFormat format = ImageFormat::kPng;  // the format its media type names
  absl::string_view media_type;            // as written (case kept)
  absl::string_view base64;                // the payload, base64 text
  int64_t decoded_bytes = 0;               // the payload's size once decoded
};

// Parses a `data:` URL ("data:" matched in any case). Refused
// (INVALID_ARGUMENT, saying what to fix): not a data: URL; a media type
// other than image/png, image/jpeg, image/gif, image/webp; no ";base64"; an
// empty payload or one that is not base64 (standard alphabet, '=' padding
// only at the end, no whitespace).
absl::StatusOr<ImageDataUrl> ParseImageDataUrl(absl::string_view url);

// The dimensions of a parsed data: URL's image. Decodes only as much of the
// payload as the header needs (the first 64 bytes, then 64 KiB, then all of
// it for a JPEG whose frame header sits further in). Errors as
// ReadImageHeader's, with OUT_OF_RANGE meaning the whole image ends inside
// its header.
absl::StatusOr<ImageDimensions> ReadDataUrlImage(const ImageDataUrl& url);

}  // namespace aigw::tokenizer

#endif  // AIGW_LIBS_TOKENIZER_IMAGE_HEADER_H_
