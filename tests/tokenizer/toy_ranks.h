#ifndef AIGW_TESTS_TOKENIZER_TOY_RANKS_H_
#define AIGW_TESTS_TOKENIZER_TOY_RANKS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace aigw::tokenizer {

// A rank file in tiktoken's format with all 256 bytes (ranks 0..255) plus
// `extra` tokens (ranks 256...).
inline std::string ToyRanks(const std::vector<std::string>& extra) {
  std::string file;
  for (int b = 0; b < 256; ++b) {
    absl::StrAppend(&file, absl::Base64Escape(std::string(1, static_cast<char>(b))), " ", b,
                    "\n");
  }
  uint32_t rank = 256;
  for (const std::string& t : extra) {
    absl::StrAppend(&file, absl::Base64Escape(t), " ", rank++, "\n");
  }
  return file;
}

}  // namespace aigw::tokenizer

#endif  // AIGW_TESTS_TOKENIZER_TOY_RANKS_H_
