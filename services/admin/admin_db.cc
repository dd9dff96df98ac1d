#include "services/admin/admin_db.h"

#include "absl/strings/match.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"

namespace aigw::admin {

void SetTimestamp(absl::string_view text, google::protobuf::Timestamp* out) {
  absl::Time t;
  if (text.empty() || !ParseDbTime(text, &t)) return;
  const int64_t nanos = absl::ToUnixNanos(t);
  int64_t seconds = nanos / 1000000000;
  int64_t rest = nanos % 1000000000;
  if (rest < 0) {
    rest += 1000000000;
    --seconds;
  }
  out->set_seconds(seconds);
  out->set_nanos(static_cast<int32_t>(rest));
}

bool IsDuplicateKeyError(const absl::Status& status) {
  return absl::StrContains(status.message(), "UNIQUE constraint failed") ||
         absl::StrContains(status.message(), "Duplicate entry");
}

}  // namespace aigw::admin
