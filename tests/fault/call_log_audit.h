#ifndef AIGW_TESTS_FAULT_CALL_LOG_AUDIT_H_
#define AIGW_TESTS_FAULT_CALL_LOG_AUDIT_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "libs/db/database.h"
#include "tests/fault/fault_callers.h"

namespace aigw::fault {

// What the clients saw, held against the call log (t_ai_api_logs).
//
// Which calls must be in the log:
//   - A call the gateway refused before any attempt (CallKind::kInvalid,
//     answered INVALID_ARGUMENT by validation) has no row. Any row for it is
//     `unexpected`.
//   - Every other call the gateway answered, OK or not, must be there: its
//     rows have attempts 1..n, each exactly once, and exactly one of them,
//     attempt n, is final. That includes calls that never reached a provider:
//     no key could be leased because the keypool was down is an attempt with
//     outcome NOT_SENT (error_code KEYPOOL_UNAVAILABLE, no key, no HTTP
//     status).
//   - The final row agrees with the client: `success` iff the client saw OK;
//     for OK, n is the answer's `attempts` and the tokens and cost are the
//     answer's; a call refused by the provider (kRefused) ends in an HTTP 400
//     row; a call answered "keypool unavailable" ends in a NOT_SENT row.
//   - A call the client saw no answer to (its own deadline passed:
//     DEADLINE_EXCEEDED or CANCELLED) is `unanswered`, a failure of its own;
//     the log may or may not hold it.
struct CallLogAudit {
  int64_t calls = 0;
  std::map<std::string, int64_t> by_code;  // client-visible gRPC status -> calls
  // Error calls by the final row's error_code (the report's detail).
  std::map<std::string, int64_t> errors_by_log_code;
  int64_t rows = 0;        // log rows of these calls' request ids
  int64_t must_log = 0;    // calls that must be in the log
  int64_t lost = 0;        // of those, calls with no row, or an attempt or the final row missing
  int64_t doubled = 0;     // extra records: an attempt stored twice, or a second final row
  int64_t mismatched = 0;  // final row disagrees with what the client saw
  int64_t unexpected = 0;  // rows for calls that must have none, or for ids no client used
  int64_t unanswered = 0;  // no answer within the client's deadline
  std::vector<std::string> examples;  // the first few problems, spelled out

  bool ok() const {
    return lost == 0 && doubled == 0 && mismatched == 0 && unexpected == 0 && unanswered == 0;
  }
};

// Reads the rows whose request_id starts with `id_prefix` and checks them
// against `calls` (every call made with that prefix).
absl::StatusOr<CallLogAudit> AuditCallLog(db::Database& db, const std::string& id_prefix,
                                          const std::vector<CallRecord>& calls);

// The whole log against the aggregates: t_ai_usage_stats' requests,
// successes, errors, attempts, failed attempts, tokens and cost, and
// t_ai_error_stats' failed attempts, each equal to the same figure summed
// over t_ai_api_logs. Any difference (a replay counted twice, a row counted
// never) is listed.
struct StatsAudit {
  std::vector<std::string> differences;  // "total_requests: stats 1201, log 1200"
  bool ok() const { return differences.empty(); }
};
absl::StatusOr<StatsAudit> AuditStats(db::Database& db);

}  // namespace aigw::fault

#endif  // AIGW_TESTS_FAULT_CALL_LOG_AUDIT_H_
