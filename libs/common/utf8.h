#ifndef AIGW_LIBS_COMMON_UTF8_H_
#define AIGW_LIBS_COMMON_UTF8_H_

#include <cstddef>
#include <limits>
#include <string>

#include "absl/strings/string_view.h"

namespace aigw {

// True when `text` is well-formed UTF-8 (no overlongs, surrogates or code
// points above U+10FFFF).
bool IsValidUtf8(absl::string_view text);

// `text` with every ill-formed sequence replaced by U+FFFD, one replacement
// per maximal subpart (the Unicode-recommended policy, the same as Rust's
// String::from_utf8_lossy and the WHATWG decoder).
std::string ToValidUtf8(absl::string_view text);

// Characters (code points) of valid UTF-8 text.
size_t Utf8Length(absl::string_view text);

// `text` as valid UTF-8 that a text column takes: ill-formed sequences
// become U+FFFD (as ToValidUtf8), NULs are dropped, and it is cut to at most
// `max_chars` characters (what VARCHAR(n) counts) and `max_bytes` bytes,
// never inside a character.
std::string CleanUtf8(absl::string_view text, size_t max_chars,
                      size_t max_bytes = std::numeric_limits<size_t>::max());

// True when CleanUtf8(text, max_chars, max_bytes) would return `text`
// unchanged; costs no allocation.
bool IsCleanUtf8(absl::string_view text, size_t max_chars,
                 size_t max_bytes = std::numeric_limits<size_t>::max());

}  // namespace aigw

#endif  // AIGW_LIBS_COMMON_UTF8_H_
