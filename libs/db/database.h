#ifndef AIGW_LIBS_DB_DATABASE_H_
#define AIGW_LIBS_DB_DATABASE_H_

#include "absl/strings/string_view.h"
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "libs/db/database_url.h"
#include "libs/db/dialect.h"

namespace soci {
class connection_pool;
class session;
}  // namespace soci

namespace aigw::db {

// A pool of soci sessions on one database. Thread-safe. soci throws; this
// class is where those exceptions become absl::Status, so no caller sees one.
class Database {
 public:
  // Opens `pool_size` connections (SQLite in WAL mode with a busy timeout).
  // The error is one line naming the database and the cause.
  static absl::StatusOr<std::unique_ptr<Database>> Open(const DatabaseUrl& url,
                                                        int pool_size = 4);
  ~Database();

  Backend backend() const { return url_.backend; }
  const Dialect& dialect() const { return *dialect_; }
  const DatabaseUrl& url() const { return url_; }

  // Runs `fn` on a pooled session. soci errors become kUnavailable (lost
  // connection) or kInternal, with the message on one line.
  absl::Status Run(const std::function<absl::Status(soci::session&)>& fn);
  // The same inside one transaction: committed when `fn` returns OK, rolled
  // back otherwise.
  absl::Status InTransaction(const std::function<absl::Status(soci::session&)>& fn);

 private:
  Database(DatabaseUrl url, int pool_size);

  DatabaseUrl url_;
  int pool_size_;
  std::unique_ptr<soci::connection_pool> pool_;
  std::unique_ptr<Dialect> dialect_;
};

// soci's error text flattened to one line, without its "while executing"
// context when `brief` is set.
std::string OneLine(absl::string_view text);

}  // namespace aigw::db

#endif  // AIGW_LIBS_DB_DATABASE_H_
