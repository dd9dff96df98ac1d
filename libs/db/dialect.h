#ifndef AIGW_LIBS_DB_DIALECT_H_
#define AIGW_LIBS_DB_DIALECT_H_

#include <string>
#include "absl/strings/string_view.h"

#include "libs/db/database_url.h"

namespace aigw::db {

// The few places where SQLite and MySQL/MariaDB SQL differ. Everything else
// is written once.
class Dialect {
 public:
  explicit Dialect(Backend backend) : backend_(backend) {}

  Backend backend() const { return backend_; }
  bool is_mysql() const { return backend_ == Backend::kMySql; }

  // "INSERT IGNORE" / "INSERT OR IGNORE"
  absl::string_view InsertIgnore() const;
  // The start of an upsert's update clause for a conflict on `unique_cols`
  // (SQLite needs them; MySQL uses the unique key):
  //   " ON DUPLICATE KEY UPDATE " / " ON CONFLICT(a, b) DO UPDATE SET "
  std::string UpsertClause(absl::string_view unique_cols) const;
  // The value an upsert tried to insert for `col`: VALUES(col) / excluded.col
  std::string Excluded(absl::string_view col) const;
  // An exact decimal column as integer nano-units: money in code is int64
  // nano-dollars, in the database DECIMAL(20,9).
  std::string DecimalToNanos(absl::string_view expr) const;

 private:
  Backend backend_;
};

// Nano-units as the exact decimal literal the database stores: 1500 ->
// "0.000001500". Negative values keep their sign.
std::string NanosToDecimal(int64_t nanos);

}  // namespace aigw::db

#endif  // AIGW_LIBS_DB_DIALECT_H_
