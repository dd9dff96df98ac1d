#include "libs/db/dialect.h"

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace aigw::db {

absl::string_view Dialect::InsertIgnore() const {
  return is_mysql() ? "INSERT IGNORE" : "INSERT OR IGNORE";
}

std::string Dialect::UpsertClause(absl::string_view unique_cols) const {
  if (is_mysql()) return " ON DUPLICATE KEY UPDATE ";
  return absl::StrCat(" ON CONFLICT(", unique_cols, ") DO UPDATE SET ");
}

std::string Dialect::Excluded(absl::string_view col) const {
  return is_mysql() ? absl::StrCat("VALUES(", col, ")") : absl::StrCat("excluded.", col);
}

std::string Dialect::DecimalToNanos(absl::string_view expr) const {
  return absl::StrCat("CAST(ROUND((", expr, ") * 1000000000) AS ",
                      is_mysql() ? "SIGNED" : "INTEGER", ")");
}

std::string NanosToDecimal(int64_t nanos) {
  const bool negative = nanos < 0;
  // Avoid overflow on INT64_MIN by working in unsigned.
  uint64_t mag = negative ? 0 - static_cast<uint64_t>(nanos) : static_cast<uint64_t>(nanos);
  return absl::StrFormat("%s%d.%09d", negative ? "-" : "", mag / 1000000000ULL,
                         mag % 1000000000ULL);
}

}  // namespace aigw::db
