#ifndef AIGW_LIBS_DB_DB_TIME_H_
#define AIGW_LIBS_DB_DB_TIME_H_

#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace aigw::db {

// Timestamps as the schema stores them on both backends: UTC text
// 'YYYY-MM-DD HH:MM:SS.mmm' (DATETIME(3) on MySQL).
std::string FormatDbTime(absl::Time t);

// Accepts 'YYYY-MM-DD HH:MM:SS[.fff]', also with 'T' and a trailing 'Z'.
bool ParseDbTime(absl::string_view text, absl::Time* out);

}  // namespace aigw::db

#endif  // AIGW_LIBS_DB_DB_TIME_H_
