#include "libs/db/db_time.h"

#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"

namespace aigw::db {

std::string FormatDbTime(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%E3S", t, absl::UTCTimeZone());
}

bool ParseDbTime(absl::string_view text, absl::Time* out) {
  std::string s = absl::StrReplaceAll(absl::StripAsciiWhitespace(text), {{"T", " "}});
  absl::string_view v = s;
  absl::ConsumeSuffix(&v, "Z");
  std::string err;
  return absl::ParseTime("%Y-%m-%d %H:%M:%E*S", v, absl::UTCTimeZone(), out, &err);
}

}  // namespace aigw::db
