#ifndef AIGW_SERVICES_USAGE_SQL_LITERAL_H_
#define AIGW_SERVICES_USAGE_SQL_LITERAL_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "libs/db/database.h"

namespace aigw::usage {

// Quotes text as an SQL string literal. The usage service writes its bulk
// statements as literal multi-row INSERTs: one statement for hundreds of rows
// is what makes ingestion fast, and binding thousands of parameters through
// soci would cost more than the insert itself.
//
// Quotes are doubled (standard SQL, and the form soci's placeholder scanner
// understands: a backslash-escaped quote would make it see ":x" inside a
// literal as a parameter). MySQL's backslash is doubled unless the session
// runs with NO_BACKSLASH_ESCAPES. NUL bytes are dropped (SQLite cannot carry
// them in statement text) and invalid UTF-8 becomes U+FFFD, so that a strict
// utf8mb4 column never refuses a whole batch for one bad byte.
class SqlQuoter {
 public:
  // Reads the session's sql_mode on MySQL.
  static absl::StatusOr<SqlQuoter> ForDatabase(db::Database& db);
  explicit SqlQuoter(bool backslash_escapes) : backslash_escapes_(backslash_escapes) {}

  void Append(absl::string_view text, std::string* out) const;
  std::string Quote(absl::string_view text) const;
  // NULL for empty text.
  void AppendOrNull(absl::string_view text, std::string* out) const;

 private:
  bool backslash_escapes_;
};

}  // namespace aigw::usage

#endif  // AIGW_SERVICES_USAGE_SQL_LITERAL_H_
