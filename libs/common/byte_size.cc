#include "libs/common/byte_size.h"

#include "absl/strings/str_cat.h"

namespace aigw {

std::string ByteSizeText(int64_t bytes) {
  constexpr struct {
    int shift;
    const char* unit;
  } kUnits[] = {{30, " GiB"}, {20, " MiB"}, {10, " KiB"}};
  for (const auto& u : kUnits) {
    const int64_t size = int64_t{1} << u.shift;
    if (bytes >= size && bytes % size == 0) return absl::StrCat(bytes / size, u.unit);
  }
  return absl::StrCat(bytes, bytes == 1 ? " byte" : " bytes");
}

}  // namespace aigw
