#ifndef AIGW_LIBS_COMMON_LOGGING_H_
#define AIGW_LIBS_COMMON_LOGGING_H_

#include "absl/strings/string_view.h"

#include "absl/status/status.h"
#include "spdlog/spdlog.h"

// spdlog formats with fmt, which does not know absl::string_view (a type of
// its own in this Abseil build); format it as the text it views.
template <>
struct fmt::formatter<absl::string_view> : fmt::formatter<fmt::string_view> {
  template <typename FormatContext>
  auto format(absl::string_view s, FormatContext& ctx) const {
    return fmt::formatter<fmt::string_view>::format(fmt::string_view(s.data(), s.size()), ctx);
  }
};

namespace aigw {

// One line per event on stderr, UTC timestamps, logfmt-style fields:
//   2026-11-26T08:15:59.123Z info aigw-keypool msg="keys loaded" count=3
// `level` is trace|debug|info|warn|error.
absl::Status InitLogging(absl::string_view service, absl::string_view level);

}  // namespace aigw

#endif  // AIGW_LIBS_COMMON_LOGGING_H_
