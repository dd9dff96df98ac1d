#include "services/usage/usage_time.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace aigw::usage {
namespace {

constexpr int64_t kMaxSeconds = 253402300799;  // 9999-12-31 23:59:59 UTC

}  // namespace

absl::StatusOr<absl::CivilDay> ParseDate(absl::string_view text, absl::string_view what) {
  absl::CivilDay day;
  // ParseCivilTime alone also takes signs and extra year digits; the
  // round trip keeps exactly YYYY-MM-DD of a real day (no 2025-02-30).
  if (text.size() != 10 || !absl::ParseCivilTime(text, &day) || FormatDate(day) != text) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " '", text, "' is not a date of the form YYYY-MM-DD"));
  }
  return day;
}

std::string FormatDate(absl::CivilDay day) {
  return absl::StrFormat("%04d-%02d-%02d", day.year(), day.month(), day.day());
}

// absl's ToUnix* functions round toward the infinite past.
absl::Time TruncateToMillis(absl::Time t) { return absl::FromUnixMillis(absl::ToUnixMillis(t)); }

absl::StatusOr<absl::Time> ParseDbTime(absl::string_view text) {
  absl::Time t;
  if (!db::ParseDbTime(text, &t)) {
    return absl::InternalError(absl::StrCat("unreadable time '", text, "' in the database"));
  }
  return t;
}

bool TimestampInRange(const google::protobuf::Timestamp& ts) {
  return ts.seconds() >= 0 && ts.seconds() <= kMaxSeconds && ts.nanos() >= 0 &&
         ts.nanos() < 1000000000;
}

}  // namespace aigw::usage
