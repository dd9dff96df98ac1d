#ifndef AIGW_SERVICES_USAGE_LOG_COLUMNS_H_
#define AIGW_SERVICES_USAGE_LOG_COLUMNS_H_

#include <iterator>
#include <string>

#include "libs/db/api_log_columns.h"
#include "libs/db/column.h"
#include "services/usage/call_log_row.h"
#include "services/usage/sql_literal.h"

namespace aigw::usage {

using LogColumn = db::Column<LogRow>;

// t_ai_api_logs as the usage service writes and reads it: every column but
// the auto-increment id, in insert order, each with the LogRow field that
// holds it. The writers (LogInserter's SQLite prepared insert, MariaDB bulk
// binding and MySQL literal rows, and AppendLogValues) and the reader
// (QueryLogs) all walk this list; tests/usage/log_columns_test checks it
// against the migrated table on both backends.
inline constexpr LogColumn kLogColumns[] = {
    LogColumn::Varchar("request_id", &LogRow::request_id, db::api_log::kMaxRequestIdChars),
    LogColumn::Int("attempt", &LogRow::attempt),
    LogColumn::BigInt("provider_id", &LogRow::provider_id),
    LogColumn::Varchar("provider_code", &LogRow::provider_code, db::api_log::kMaxProviderCodeChars),
    LogColumn::BigInt("key_id", &LogRow::key_id),
    LogColumn::Varchar("model", &LogRow::model, db::api_log::kMaxModelChars),
    LogColumn::Varchar("user_id", &LogRow::user_id, db::api_log::kMaxUserIdChars,
                       db::Nulls::kEmptyIsNull),
    LogColumn::Varchar("ip_address", &LogRow::ip_address, db::api_log::kMaxIpChars,
                       db::Nulls::kEmptyIsNull),
    LogColumn::Varchar("user_agent", &LogRow::user_agent, db::api_log::kMaxUserAgentChars,
                       db::Nulls::kEmptyIsNull),
    LogColumn::Word("status", &LogRow::success, "success", "error", db::api_log::kMaxStatusChars),
    LogColumn::Varchar("error_code", &LogRow::error_code, db::api_log::kMaxErrorCodeChars,
                       db::Nulls::kEmptyIsNull),
    LogColumn::Text("error_message", &LogRow::error_message, db::api_log::kMaxErrorMessageChars,
                    db::Nulls::kEmptyIsNull),
    LogColumn::Int("http_status", &LogRow::http_status),
    LogColumn::BigInt("prompt_tokens", &LogRow::prompt_tokens),
    LogColumn::BigInt("completion_tokens", &LogRow::completion_tokens),
    LogColumn::BigInt("total_tokens", &LogRow::total_tokens),
    LogColumn::BigInt("cached_prompt_tokens", &LogRow::cached_prompt_tokens),
    LogColumn::BigInt("cache_creation_tokens", &LogRow::cache_creation_tokens),
    LogColumn::BigInt("reasoning_tokens", &LogRow::reasoning_tokens),
    LogColumn::Money("cost", &LogRow::cost_nanos, &LogRow::cost_text),
    LogColumn::Int("latency_ms", &LogRow::latency_ms),
    LogColumn::Int("ttft_ms", &LogRow::ttft_ms),
    LogColumn::Bool("is_stream", &LogRow::is_stream),
    LogColumn::Bool("is_final", &LogRow::is_final),
    LogColumn::Time("created_at", &LogRow::created_at, &LogRow::created_at_text),
    // Migration 5 (added at the end of the table on both backends).
    LogColumn::Int("tool_calls", &LogRow::tool_calls),
    LogColumn::Int("images", &LogRow::images),
};
inline constexpr size_t kLogColumnCount = std::size(kLogColumns);

// "request_id, attempt, ...": the insert column list.
const std::string& LogInsertColumns();

// "(v1,v2,...)" for one row of a multi-row INSERT into t_ai_api_logs.
void AppendLogValues(const LogRow& row, const SqlQuoter& quoter, std::string* out);

}  // namespace aigw::usage

#endif  // AIGW_SERVICES_USAGE_LOG_COLUMNS_H_
