#ifndef AIGW_SERVICES_USAGE_CALL_LOG_ROW_H_
#define AIGW_SERVICES_USAGE_CALL_LOG_ROW_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "aigw/v1/usage.pb.h"
#include "libs/db/api_log_columns.h"

namespace aigw::usage {

// What no one call reaches (libs/db/api_log_columns.h): refused.
using ::aigw::db::api_log::kMaxCostNanosPerEvent;
using ::aigw::db::api_log::kMaxTokensPerEvent;

// One call event as it is stored in t_ai_api_logs (log_columns.h says which
// field is which column) and counted in the stats: validated, with
// descriptive text cleaned and cut to its column.
struct LogRow {
  std::string request_id;
  int32_t attempt = 1;
  int64_t provider_id = 0;
  std::string provider_code;
  int64_t key_id = 0;
  std::string model;
  std::string user_id;
  std::string ip_address;
  std::string user_agent;
  bool success = false;
  // Set for failed attempts: the event's code, else the outcome's name
  // (SERVER_ERROR, ...), so every error is counted under some code.
  std::string error_code;
  std::string error_message;
  int32_t http_status = 0;
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  int64_t total_tokens = 0;
  int64_t cached_prompt_tokens = 0;
  int64_t cache_creation_tokens = 0;
  int64_t reasoning_tokens = 0;
  int64_t cost_nanos = 0;
  // The log columns are INT: values past INT_MAX are stored (and counted) as
  // INT_MAX.
  int32_t latency_ms = 0;
  int32_t ttft_ms = 0;
  bool is_stream = false;
  bool is_final = false;
  // Tool calls in the attempt's answer, images the request sent.
  int32_t tool_calls = 0;
  int32_t images = 0;
  // Whole milliseconds, as stored.
  absl::Time created_at;
  // The calendar day of created_at in the stats zone.
  absl::CivilDay stat_date;
  // created_at and cost as the database text takes them
  // ('YYYY-MM-DD HH:MM:SS.mmm', exact decimal), made by ToLogRow on the
  // caller's thread so that the one writer does not; empty in a row built
  // otherwise (the writer then makes them).
  std::string created_at_text;
  std::string cost_text;
};

// Checks one event and turns it into its row. INVALID_ARGUMENT (naming the
// field) for what cannot be stored faithfully: no request_id, attempt < 1,
// no provider_code, identifiers longer than their column, no or unknown
// outcome, negative counts (tokens, tool calls, images), cost or latency, counts or cost beyond
// kMaxTokensPerEvent / kMaxCostNanosPerEvent, created_at outside 1970..9999.
// A missing created_at becomes `now`.
absl::StatusOr<LogRow> ToLogRow(const v1::CallEvent& event, absl::TimeZone stats_zone,
                                absl::Time now);

// The log keeps status and error_code, not the outcome: it is read back as
// the outcome error_code stands for when it names one (an outcome's name, the
// default code of a failed event, or one of the gateway's own codes, as
// providers::OutcomeForErrorCode reads them), else from the HTTP status as
// the gateway classifies it (providers::ClassifyAttempt: 429, 401, 403, 5xx
// and 408/409, 3xx, other 4xx); with neither a status nor a key the attempt
// never left the gateway (NOT_SENT), with a key but no status it was a
// network error.
v1::Outcome DeriveOutcome(bool success, absl::string_view error_code, int http_status,
                          int64_t key_id);

// The row back as the event it came from.
void ToCallEvent(const LogRow& row, v1::CallEvent* event);

}  // namespace aigw::usage

#endif  // AIGW_SERVICES_USAGE_CALL_LOG_ROW_H_
