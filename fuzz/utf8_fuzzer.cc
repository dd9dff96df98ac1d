// The UTF-8 library every stored text goes through (libs/common/utf8: call
// events, error messages, caller fields) on arbitrary bytes.
//
// ToValidUtf8 and CleanUtf8 always give valid UTF-8, leave valid text as it
// is, and are idempotent; CleanUtf8 keeps its bounds and drops NULs;
// IsCleanUtf8 says exactly whether CleanUtf8 would change the text.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "absl/strings/string_view.h"
#include "libs/common/utf8.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  // The first byte picks the bounds; the rest is the text.
  const size_t max_chars = data[0] & 0x3F;
  const size_t max_bytes = (data[0] >> 6) == 0 ? SIZE_MAX : 4 * (data[0] >> 6) + 1;
  const absl::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);

  const bool valid = aigw::IsValidUtf8(text);
  const std::string fixed = aigw::ToValidUtf8(text);
  if (!aigw::IsValidUtf8(fixed) || aigw::ToValidUtf8(fixed) != fixed) abort();
  if (valid != (fixed == text)) abort();
  if (valid && aigw::Utf8Length(text) > text.size()) abort();

  const std::string clean = aigw::CleanUtf8(text, max_chars, max_bytes);
  if (!aigw::IsValidUtf8(clean) || aigw::Utf8Length(clean) > max_chars || clean.size() > max_bytes ||
      clean.find('\0') != std::string::npos) {
    abort();
  }
  if (aigw::CleanUtf8(clean, max_chars, max_bytes) != clean) abort();
  if (!aigw::IsCleanUtf8(clean, max_chars, max_bytes)) abort();
  if (aigw::IsCleanUtf8(text, max_chars, max_bytes) != (clean == text)) abort();
  // Without a cut, cleaning only replaces and drops: nothing valid is lost.
  if (valid && text.find('\0') == absl::string_view::npos && aigw::Utf8Length(text) <= max_chars &&
      text.size() <= max_bytes && clean != text) {
    abort();
  }
  return 0;
}
