#ifndef AIGW_LIBS_DB_DATABASE_URL_H_
#define AIGW_LIBS_DB_DATABASE_URL_H_

#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"

namespace aigw::db {

enum class Backend { kSqlite, kMySql };

// Where the database is. Accepted forms:
//   sqlite3://var/aigw.db          relative path
//   sqlite3:///abs/path/aigw.db    absolute path
//   sqlite3://:memory:             in memory (one connection only)
//   mysql://user:pass@host:3306/dbname
//   mysql://host=127.0.0.1 port=3306 db=aigw user=aigw password=...  (soci)
struct DatabaseUrl {
  Backend backend = Backend::kSqlite;
  // What soci's backend takes.
  std::string connect_string;
  // For messages: the URL with the password hidden.
  std::string display;
  // SQLite only: the file, for creating its directory.
  std::string sqlite_path;

  static absl::StatusOr<DatabaseUrl> Parse(absl::string_view url);

  // mysql:// URL from the original system's DB_HOST, DB_PORT, DB_USERNAME,
  // DB_PASSWORD and DB_DATABASE variables; empty when DB_HOST is unset.
  static std::string FromLegacyEnv();
};

}  // namespace aigw::db

#endif  // AIGW_LIBS_DB_DATABASE_URL_H_
