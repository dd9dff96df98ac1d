#include "libs/crypto/secret_scrub.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "libs/crypto/secret_box.h"

namespace aigw::crypto {
namespace {

bool IsKeyChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '*';
}

// Whether text[i] belongs to a key-like word: a key character, or a dot with
// key characters (or more dots) on both sides ("sk-p...wxyz", not the full
// stop after it).
bool InKeyWord(absl::string_view text, size_t i) {
  if (IsKeyChar(text[i])) return true;
  if (text[i] != '.') return false;
  size_t before = i;
  while (before > 0 && text[before - 1] == '.') --before;
  size_t after = i;
  while (after + 1 < text.size() && text[after + 1] == '.') ++after;
  return before > 0 && after + 1 < text.size() && IsKeyChar(text[before - 1]) &&
         IsKeyChar(text[after + 1]);
}

}  // namespace

std::string ScrubSecret(absl::string_view text, absl::string_view secret) {
  if (secret.empty()) return std::string(text);
  const size_t piece = std::min(kMinSecretPiece, secret.size());
  if (text.size() < piece) return std::string(text);

  absl::flat_hash_set<absl::string_view> pieces;
  pieces.reserve(secret.size() - piece + 1);
  for (size_t i = 0; i + piece <= secret.size(); ++i) pieces.insert(secret.substr(i, piece));

  // The byte ranges of the text made of secret pieces, merged.
  std::vector<std::pair<size_t, size_t>> ranges;
  for (size_t i = 0; i + piece <= text.size(); ++i) {
    if (!pieces.contains(text.substr(i, piece))) continue;
    if (!ranges.empty() && i <= ranges.back().second) {
      ranges.back().second = i + piece;
    } else {
      ranges.emplace_back(i, i + piece);
    }
  }
  if (ranges.empty()) return std::string(text);

  const std::string mask = MaskApiKey(secret);
  std::string out;
  out.reserve(text.size());
  size_t copied = 0;  // text before this is in `out` or replaced
  for (size_t r = 0; r < ranges.size(); ++r) {
    size_t begin = ranges[r].first;
    size_t end = ranges[r].second;
    while (begin > copied && InKeyWord(text, begin - 1)) --begin;
    while (end < text.size() && InKeyWord(text, end)) ++end;
    // The word may reach over the next ranges: they go with it.
    while (r + 1 < ranges.size() && ranges[r + 1].first <= end) {
      end = std::max(end, ranges[++r].second);
      while (end < text.size() && InKeyWord(text, end)) ++end;
    }
    absl::StrAppend(&out, text.substr(copied, begin - copied), mask);
    copied = end;
  }
  absl::StrAppend(&out, text.substr(copied));
  return out;
}

}  // namespace aigw::crypto
