#ifndef AIGW_SERVICES_USAGE_USAGE_TIME_H_
#define AIGW_SERVICES_USAGE_USAGE_TIME_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"
#include "libs/db/db_time.h"

namespace aigw::usage {

// Dates and times as the usage tables hold them: stat_date 'YYYY-MM-DD' (the
// calendar day in the stats zone), created_at 'YYYY-MM-DD HH:MM:SS.mmm' in
// UTC (DATETIME(3) on MySQL; text that sorts as time on SQLite).

// Strict 'YYYY-MM-DD'; `what` names the field in the error.
absl::StatusOr<absl::CivilDay> ParseDate(absl::string_view text, absl::string_view what);
std::string FormatDate(absl::CivilDay day);

// UTC, milliseconds (the stored precision; anything finer is cut off).
using ::aigw::db::FormatDbTime;  // libs/db/db_time.h
// What the database gives back: 'YYYY-MM-DD HH:MM:SS' with optional
// fraction, or with a 'T'.
absl::StatusOr<absl::Time> ParseDbTime(absl::string_view text);

absl::Time TruncateToMillis(absl::Time t);
// Seconds within what the tables can hold (years 1970..9999).
bool TimestampInRange(const google::protobuf::Timestamp& ts);

}  // namespace aigw::usage

#endif  // AIGW_SERVICES_USAGE_USAGE_TIME_H_
