#ifndef AIGW_LIBS_TOKENIZER_UTF8_H_
#define AIGW_LIBS_TOKENIZER_UTF8_H_

#include <string>

#include "absl/strings/string_view.h"

namespace aigw::tokenizer {

// True when `text` is well-formed UTF-8 (no overlongs, surrogates or code
// points above U+10FFFF).
bool IsValidUtf8(absl::string_view text);

// `text` with every ill-formed sequence replaced by U+FFFD, one replacement
// per maximal subpart (the Unicode-recommended policy, the same as Rust's
// String::from_utf8_lossy and the WHATWG decoder). tiktoken only ever sees
// valid Unicode strings, so this is how bytes that are not UTF-8 get counted.
std::string ToValidUtf8(absl::string_view text);

}  // namespace aigw::tokenizer

#endif  // AIGW_LIBS_TOKENIZER_UTF8_H_
