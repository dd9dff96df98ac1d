#ifndef AIGW_FUZZ_NUL_SPLIT_H_
#define AIGW_FUZZ_NUL_SPLIT_H_

// Inputs that carry two texts (a key and a text, a list and a URL): the
// first NUL byte separates them.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <utility>

#include "absl/strings/string_view.h"

namespace aigw::fuzz {

// The bytes before and after the first NUL; nullopt when there is none (the
// target then returns -1, so libFuzzer keeps no such input).
inline std::optional<std::pair<absl::string_view, absl::string_view>> SplitAtFirstNul(
    const uint8_t* data, size_t size) {
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t nul = input.find('\0');
  if (nul == absl::string_view::npos) return std::nullopt;
  return std::make_pair(input.substr(0, nul), input.substr(nul + 1));
}

}  // namespace aigw::fuzz

#endif  // AIGW_FUZZ_NUL_SPLIT_H_
