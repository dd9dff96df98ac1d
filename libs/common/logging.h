#ifndef AIGW_LIBS_COMMON_LOGGING_H_
#define AIGW_LIBS_COMMON_LOGGING_H_

#include "absl/strings/string_view.h"

#include "absl/status/status.h"
#include "spdlog/spdlog.h"

namespace aigw {

// One line per event on stderr, UTC timestamps, logfmt-style fields:
//   2026-11-26T08:15:59.123Z info aigw-keypool msg="keys loaded" count=3
// `level` is trace|debug|info|warn|error.
absl::Status InitLogging(absl::string_view service, absl::string_view level);

}  // namespace aigw

#endif  // AIGW_LIBS_COMMON_LOGGING_H_
