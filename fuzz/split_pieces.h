#ifndef AIGW_FUZZ_SPLIT_PIECES_H_
#define AIGW_FUZZ_SPLIT_PIECES_H_

// Cutting a fuzz input into the pieces a network read might deliver, so a
// target can check that an incremental parser's result does not depend on
// where the reads ended.

#include <cstdint>
#include <vector>

#include "absl/strings/string_view.h"

namespace aigw::fuzz {

// Pieces of `body` (some empty, most a few bytes: short pieces split "\r\n",
// a UTF-8 BOM and "data:" prefixes), chosen by a generator seeded from the
// bytes themselves, so the same input always splits the same way and every
// mutation of it tries another split.
inline std::vector<absl::string_view> SplitPieces(absl::string_view body) {
  uint64_t state = 1469598103934665603ull;  // FNV-1a of the input
  for (unsigned char c : body) state = (state ^ c) * 1099511628211ull;
  std::vector<absl::string_view> pieces;
  size_t pos = 0;
  while (pos < body.size()) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;  // LCG step
    const uint64_t r = state >> 33;
    const size_t n = (r & 7) == 0 ? (r >> 3) % 257 : (r >> 3) % 5;  // 0..4, at times up to 256
    pieces.push_back(body.substr(pos, n));
    pos += pieces.back().size();
  }
  return pieces;
}

}  // namespace aigw::fuzz

#endif  // AIGW_FUZZ_SPLIT_PIECES_H_
