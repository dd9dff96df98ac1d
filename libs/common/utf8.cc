#include "libs/common/utf8.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace aigw {
namespace {

constexpr absl::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// Length of the well-formed sequence at `p` (1..4), or 0 when it is
// ill-formed; `*valid_prefix` receives how many of its leading bytes could
// still begin a well-formed sequence (the maximal subpart, at least 1).
size_t SequenceLength(const unsigned char* p, size_t avail, size_t* valid_prefix) {
  const unsigned char b0 = p[0];
  *valid_prefix = 1;
  if (b0 < 0x80) return 1;
  size_t len;
  unsigned char lo = 0x80, hi = 0xBF;  // range of the second byte
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  for (size_t i = 1; i < len; ++i) {
    if (i >= avail) return 0;
    const unsigned char b = p[i];
    const bool ok = i == 1 ? (b >= lo && b <= hi) : (b >= 0x80 && b <= 0xBF);
    if (!ok) return 0;
    *valid_prefix = i + 1;
  }
  return len;
}

// Walks `text` as CleanUtf8 sees it: calls on_piece(piece) for each
// character it keeps (U+FFFD for an ill-formed subpart) until a limit is
// reached; returns false when something was dropped, replaced or cut.
template <typename OnPiece>
bool WalkClean(absl::string_view text, size_t max_chars, size_t max_bytes, OnPiece&& on_piece) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  bool unchanged = true;
  size_t chars = 0, bytes = 0, i = 0;
  while (i < n) {
    size_t prefix;
    const size_t len = SequenceLength(p + i, n - i, &prefix);
    absl::string_view piece = len == 0 ? kReplacement : text.substr(i, len);
    i += len == 0 ? prefix : len;
    if (len == 0) unchanged = false;
    if (piece.size() == 1 && piece[0] == '\0') {
      unchanged = false;
      continue;
    }
    if (chars == max_chars || bytes + piece.size() > max_bytes) return false;
    on_piece(piece);
    ++chars;
    bytes += piece.size();
  }
  return unchanged;
}

}  // namespace

bool IsValidUtf8(absl::string_view text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    // Skip ASCII eight bytes at a time: most text is mostly ASCII.
    while (i + 8 <= n) {
      uint64_t w;
      std::memcpy(&w, p + i, 8);
      if (w & 0x8080808080808080ULL) break;
      i += 8;
    }
    if (i >= n) break;
    if (p[i] < 0x80) {
      ++i;
      continue;
    }
    size_t prefix;
    const size_t len = SequenceLength(p + i, n - i, &prefix);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

std::string ToValidUtf8(absl::string_view text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  std::string out;
  out.reserve(n + 8);
  size_t i = 0;
  while (i < n) {
    size_t prefix;
    const size_t len = SequenceLength(p + i, n - i, &prefix);
    if (len == 0) {
      out.append(kReplacement.data(), kReplacement.size());
      i += prefix;
    } else {
      out.append(text.data() + i, len);
      i += len;
    }
  }
  return out;
}

size_t Utf8Length(absl::string_view text) {
  size_t n = 0;
  for (char c : text) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  }
  return n;
}

std::string CleanUtf8(absl::string_view text, size_t max_chars, size_t max_bytes) {
  std::string out;
  out.reserve(std::min(text.size(), std::min(max_bytes, max_chars * 4)));
  WalkClean(text, max_chars, max_bytes,
            [&out](absl::string_view piece) { out.append(piece.data(), piece.size()); });
  return out;
}

bool IsCleanUtf8(absl::string_view text, size_t max_chars, size_t max_bytes) {
  if (text.size() <= max_bytes && text.size() <= max_chars &&
      text.find('\0') == absl::string_view::npos && IsValidUtf8(text)) {
    return true;  // the common case: short, valid text
  }
  return WalkClean(text, max_chars, max_bytes, [](absl::string_view) {});
}

}  // namespace aigw
