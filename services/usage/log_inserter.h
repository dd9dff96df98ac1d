#ifndef AIGW_SERVICES_USAGE_LOG_INSERTER_H_
#define AIGW_SERVICES_USAGE_LOG_INSERTER_H_

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "libs/db/database.h"
#include "services/usage/call_log_row.h"
#include "services/usage/sql_literal.h"

namespace soci {
class session;
}  // namespace soci

namespace aigw::usage {

// Writes call log rows inside the caller's transaction, skipping those whose
// (request_id, attempt) is already in the log, and tells which rows were
// new. The fastest way differs by backend, so this is the one place that
// talks to the drivers directly (through soci's session backends):
//   SQLite: one prepared single-row INSERT OR IGNORE stepped per row, with
//     sqlite3_changes() telling whether that row went in. No SQL text per
//     row, nothing to parse per row.
//   MariaDB: one prepared single-row INSERT IGNORE executed with array
//     binding (MariaDB's bulk execution: all rows' values in one packet in
//     binary form, nothing parsed or escaped per row); this costs the server
//     the least CPU per row of the ways measured (literal multi-row INSERTs
//     ~30% more, prepared multi-row statements more still).
//   MySQL servers (no bulk execution): literal multi-row INSERT IGNOREs.
//   Which rows went in, on both: when the affected-row count equals the
//     rows sent, all of them; otherwise the rows above the log's MAX(id)
//     read at the start of the transaction (InnoDB's consistent read shows
//     this transaction's own rows there, not other writers').
class LogInserter {
 public:
  // `quoter` serves the MySQL-server fallback (literal multi-row INSERTs),
  // which `allow_bulk` = false also selects on MariaDB (for tests).
  static std::unique_ptr<LogInserter> For(db::Backend backend, int rows_per_statement,
                                          SqlQuoter quoter, bool allow_bulk = true);
  virtual ~LogInserter() = default;

  // inserted[i] tells whether rows[i] was written. The rows must be unique
  // by (request_id, attempt).
  virtual absl::StatusOr<std::vector<bool>> Insert(soci::session& s,
                                                   absl::Span<const LogRow* const> rows) = 0;
};

}  // namespace aigw::usage

#endif  // AIGW_SERVICES_USAGE_LOG_INSERTER_H_
