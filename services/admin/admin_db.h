#ifndef AIGW_SERVICES_ADMIN_ADMIN_DB_H_
#define AIGW_SERVICES_ADMIN_ADMIN_DB_H_

#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"
#include "libs/db/db_time.h"
#include "soci/soci.h"

namespace aigw::admin {

// Timestamps as the schema stores them (libs/db/db_time.h).
using ::aigw::db::FormatDbTime;
using ::aigw::db::ParseDbTime;
// Sets `out` from a stored timestamp; leaves it unset when `text` is empty or
// does not parse.
void SetTimestamp(absl::string_view text, google::protobuf::Timestamp* out);

// Whether a database error is a unique-key violation (SQLite "UNIQUE
// constraint failed", MySQL/MariaDB 1062 "Duplicate entry"): a concurrent
// insert won the race that the up-front check lost.
bool IsDuplicateKeyError(const absl::Status& status);

// Binds a SELECT's columns to `st`, in order:
//   BindInto(st, soci::into(id), soci::into(name, name_ind), ...);
template <typename... Into>
void BindInto(soci::statement& st, Into&&... into) {
  (st.exchange(std::forward<Into>(into)), ...);
}

}  // namespace aigw::admin

#endif  // AIGW_SERVICES_ADMIN_ADMIN_DB_H_
