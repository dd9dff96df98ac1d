#ifndef AIGW_LIBS_COMMON_BYTE_SIZE_H_
#define AIGW_LIBS_COMMON_BYTE_SIZE_H_

#include <cstdint>
#include <string>

namespace aigw {

// A byte count as people write limits: "8 MiB", "64 KiB", "1500 bytes"
// (KiB / MiB / GiB only when exact, so the text is the limit itself).
std::string ByteSizeText(int64_t bytes);

}  // namespace aigw

#endif  // AIGW_LIBS_COMMON_BYTE_SIZE_H_
