// The versioned schema of aigw: the five tables of the original system plus
// the migration ledger, and the seed catalogue of providers and models.

#include "absl/strings/string_view.h"
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "libs/db/migrations.h"

namespace aigw::db {
namespace {

struct Index {
  std::string name;
  std::string columns;
  bool unique = false;
};

// Renders a CREATE TABLE whose column list uses the placeholders below, plus
// its indexes (inline on MySQL, separate statements on SQLite).
std::vector<std::string> CreateTable(Backend b, absl::string_view table, absl::string_view columns,
                                     const std::vector<Index>& indexes) {
  const bool my = b == Backend::kMySql;
  std::string cols = absl::StrReplaceAll(
      columns,
      {{"{ID}", my ? "id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY"
                   : "id INTEGER PRIMARY KEY AUTOINCREMENT"},
       {"{BOOL}", my ? "TINYINT(1)" : "INTEGER"},
       {"{TS_NOW}", my ? "DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)"
                       : "TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f','now'))"},
       {"{TS}", my ? "DATETIME(3)" : "TEXT"},
       {"{DATE}", my ? "DATE" : "TEXT"},
       {"{MONEY}", my ? "DECIMAL(20,9) NOT NULL DEFAULT 0" : "NUMERIC NOT NULL DEFAULT 0"},
       {"{TEXT}", my ? "TEXT" : "TEXT"}});
  std::vector<std::string> out;
  if (my) {
    std::vector<std::string> keys;
    for (const Index& i : indexes) {
      keys.push_back(absl::StrCat(i.unique ? "UNIQUE KEY " : "KEY ", i.name, " (", i.columns, ")"));
    }
    out.push_back(absl::StrCat("CREATE TABLE IF NOT EXISTS ", table, " (", cols,
                               keys.empty() ? "" : ",\n  ", absl::StrJoin(keys, ",\n  "),
                               ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"));
  } else {
    out.push_back(absl::StrCat("CREATE TABLE IF NOT EXISTS ", table, " (", cols, ")"));
    for (const Index& i : indexes) {
      out.push_back(absl::StrCat("CREATE ", i.unique ? "UNIQUE " : "", "INDEX IF NOT EXISTS ",
                                 i.name, " ON ", table, " (", i.columns, ")"));
    }
  }
  return out;
}

void Append(std::vector<std::string>& to, std::vector<std::string> from) {
  for (auto& s : from) to.push_back(std::move(s));
}

std::vector<std::string> V1Providers(Backend b) {
  return CreateTable(b, "t_ai_providers", R"(
  {ID},
  provider_code VARCHAR(64) NOT NULL,
  provider_name VARCHAR(128) NOT NULL,
  base_url VARCHAR(512) NOT NULL,
  api_format VARCHAR(16) NOT NULL DEFAULT 'openai',
  is_active {BOOL} NOT NULL DEFAULT 1,
  sort_order INT NOT NULL DEFAULT 0,
  description {TEXT} NULL,
  key_policy VARCHAR(16) NOT NULL DEFAULT 'strict',
  created_at {TS_NOW},
  updated_at {TS_NOW})",
                     {{"uk_providers_code", "provider_code", true}});
}

// api_key holds "enc:v1:..." once the keypool has encrypted it; a
// plaintext key inserted straight into the table is encrypted in place at
// the next load. counts_date is the day requests/tokens_count_today
// belong to, so a restart on the same day resumes them.
std::vector<std::string> V1ApiKeys(Backend b) {
  return CreateTable(b, "t_ai_api_keys", R"(
  {ID},
  provider_id BIGINT NOT NULL,
  key_name VARCHAR(128) NOT NULL,
  api_key VARCHAR(1024) NOT NULL,
  api_key_hint VARCHAR(32) NULL,
  priority INT NOT NULL DEFAULT 0,
  rate_limit_rpm BIGINT NOT NULL DEFAULT 0,
  rate_limit_tpm BIGINT NOT NULL DEFAULT 0,
  rate_limit_rpd BIGINT NOT NULL DEFAULT 0,
  is_active {BOOL} NOT NULL DEFAULT 1,
  status VARCHAR(16) NOT NULL DEFAULT 'normal',
  requests_count_today BIGINT NOT NULL DEFAULT 0,
  tokens_count_today BIGINT NOT NULL DEFAULT 0,
  counts_date {DATE} NULL,
  last_used_at {TS} NULL,
  last_error {TEXT} NULL,
  last_error_at {TS} NULL,
  cooldown_until {TS} NULL,
  created_at {TS_NOW},
  updated_at {TS_NOW})",
                     {{"idx_keys_provider", "provider_id, is_active", false}});
}

std::vector<std::string> V1Models(Backend b) {
  return CreateTable(b, "t_ai_models", R"(
  {ID},
  provider_id BIGINT NOT NULL,
  model_code VARCHAR(128) NOT NULL,
  model_name VARCHAR(128) NOT NULL,
  model_type VARCHAR(32) NOT NULL DEFAULT 'chat',
  max_input_tokens INT NOT NULL DEFAULT 0,
  max_output_tokens INT NOT NULL DEFAULT 0,
  supports_streaming {BOOL} NOT NULL DEFAULT 1,
  supports_function_call {BOOL} NOT NULL DEFAULT 0,
  supports_vision {BOOL} NOT NULL DEFAULT 0,
  cost_per_1k_prompt_tokens {MONEY},
  cost_per_1k_completion_tokens {MONEY},
  cost_per_1k_cached_prompt_tokens {MONEY},
  cost_per_1k_cache_creation_tokens {MONEY},
  is_active {BOOL} NOT NULL DEFAULT 1,
  is_default {BOOL} NOT NULL DEFAULT 0,
  created_at {TS_NOW},
  updated_at {TS_NOW})",
                     {{"uk_models_provider_code", "provider_id, model_code", true}});
}

// One row per upstream attempt; (request_id, attempt) makes ingestion
// idempotent. The usage service writes and reads it by its description
// (services/usage/log_columns.h; a test checks the two agree): a column
// added later is added there and in a new migration, never here.
std::vector<std::string> V1ApiLogs(Backend b) {
  return CreateTable(b, "t_ai_api_logs", R"(
  {ID},
  request_id VARCHAR(64) NOT NULL,
  attempt INT NOT NULL DEFAULT 1,
  provider_id BIGINT NOT NULL DEFAULT 0,
  provider_code VARCHAR(64) NOT NULL,
  key_id BIGINT NOT NULL DEFAULT 0,
  model VARCHAR(128) NOT NULL DEFAULT '',
  user_id VARCHAR(128) NULL,
  ip_address VARCHAR(64) NULL,
  user_agent VARCHAR(512) NULL,
  status VARCHAR(16) NOT NULL,
  error_code VARCHAR(64) NULL,
  error_message {TEXT} NULL,
  http_status INT NOT NULL DEFAULT 0,
  prompt_tokens BIGINT NOT NULL DEFAULT 0,
  completion_tokens BIGINT NOT NULL DEFAULT 0,
  total_tokens BIGINT NOT NULL DEFAULT 0,
  cached_prompt_tokens BIGINT NOT NULL DEFAULT 0,
  cache_creation_tokens BIGINT NOT NULL DEFAULT 0,
  reasoning_tokens BIGINT NOT NULL DEFAULT 0,
  cost {MONEY},
  latency_ms INT NOT NULL DEFAULT 0,
  ttft_ms INT NOT NULL DEFAULT 0,
  is_stream {BOOL} NOT NULL DEFAULT 0,
  is_final {BOOL} NOT NULL DEFAULT 1,
  created_at {TS_NOW})",
                     {{"uk_logs_request_attempt", "request_id, attempt", true},
                      {"idx_logs_created", "created_at", false},
                      {"idx_logs_provider_created", "provider_code, created_at", false},
                      {"idx_logs_key_created", "key_id, created_at", false},
                      {"idx_logs_status_created", "status, created_at", false},
                      {"idx_logs_user_created", "user_id, created_at", false}});
}

std::vector<std::string> V1UsageStats(Backend b) {
  return CreateTable(b, "t_ai_usage_stats", R"(
  {ID},
  stat_date {DATE} NOT NULL,
  provider_id BIGINT NOT NULL DEFAULT 0,
  provider_code VARCHAR(64) NOT NULL,
  model VARCHAR(128) NOT NULL DEFAULT '',
  key_id BIGINT NOT NULL DEFAULT 0,
  total_requests BIGINT NOT NULL DEFAULT 0,
  success_count BIGINT NOT NULL DEFAULT 0,
  error_count BIGINT NOT NULL DEFAULT 0,
  attempt_count BIGINT NOT NULL DEFAULT 0,
  attempt_error_count BIGINT NOT NULL DEFAULT 0,
  prompt_tokens BIGINT NOT NULL DEFAULT 0,
  completion_tokens BIGINT NOT NULL DEFAULT 0,
  total_tokens BIGINT NOT NULL DEFAULT 0,
  cached_prompt_tokens BIGINT NOT NULL DEFAULT 0,
  cache_creation_tokens BIGINT NOT NULL DEFAULT 0,
  reasoning_tokens BIGINT NOT NULL DEFAULT 0,
  total_cost {MONEY},
  total_latency_ms BIGINT NOT NULL DEFAULT 0,
  created_at {TS_NOW},
  updated_at {TS_NOW})",
                     {{"uk_stats_day_provider_model_key",
                       "stat_date, provider_code, model, key_id", true},
                      {"idx_stats_provider_day", "provider_code, stat_date", false}});
}

std::vector<std::string> V1CoreTables(Backend b) {
  std::vector<std::string> out;
  Append(out, V1Providers(b));
  Append(out, V1ApiKeys(b));
  Append(out, V1Models(b));
  Append(out, V1ApiLogs(b));
  Append(out, V1UsageStats(b));
  return out;
}

struct SeedModel {
  const char* provider;
  const char* code;
  const char* name;
  int max_input;
  int max_output;
  bool vision;
  bool tools;
  // USD per 1K tokens: prompt, completion, cached prompt, cache creation.
  const char* prompt;
  const char* completion;
  const char* cached;
  const char* cache_write;
  bool is_default;
};

// List prices per 1K tokens (the providers' per-1M prices / 1000).
constexpr SeedModel kSeedModels[] = {
    {"openai", "gpt-4o", "GPT-4o", 128000, 16384, true, true, "0.0025", "0.01", "0.00125", "0", true},
    {"openai", "gpt-4o-mini", "GPT-4o mini", 128000, 16384, true, true, "0.00015", "0.0006", "0.000075", "0", false},
    {"openai", "gpt-4-turbo", "GPT-4 Turbo", 128000, 4096, true, true, "0.01", "0.03", "0", "0", false},
    {"openai", "gpt-3.5-turbo", "GPT-3.5 Turbo", 16385, 4096, false, true, "0.0005", "0.0015", "0", "0", false},
    {"anthropic", "claude-3-5-sonnet-20241022", "Claude 3.5 Sonnet", 200000, 8192, true, true, "0.003", "0.015", "0.0003", "0.00375", true},
    {"anthropic", "claude-3-5-haiku-20241022", "Claude 3.5 Haiku", 200000, 8192, false, true, "0.0008", "0.004", "0.00008", "0.001", false},
    {"anthropic", "claude-3-opus-20240229", "Claude 3 Opus", 200000, 4096, true, true, "0.015", "0.075", "0.0015", "0.01875", false},
    {"deepseek", "deepseek-chat", "DeepSeek Chat", 65536, 8192, false, true, "0.00027", "0.0011", "0.00007", "0", true},
    {"deepseek", "deepseek-reasoner", "DeepSeek Reasoner", 65536, 32768, false, false, "0.00055", "0.00219", "0.00014", "0", false},
    {"deepseek", "deepseek-coder", "DeepSeek Coder", 65536, 8192, false, true, "0.00027", "0.0011", "0.00007", "0", false},
};

std::vector<std::string> V2SeedCatalogue(Backend b) {
  std::vector<std::string> out = {
      "INSERT INTO t_ai_providers (provider_code, provider_name, base_url, api_format, "
      "is_active, sort_order, description) VALUES "
      "('openai', 'OpenAI', 'https://api.openai.com/v1', 'openai', 1, 10, "
      "'OpenAI chat completions'), "
      "('anthropic', 'Anthropic Claude', 'https://api.anthropic.com', 'anthropic', 1, 20, "
      "'Anthropic Messages API'), "
      "('deepseek', 'DeepSeek', 'https://api.deepseek.com', 'openai', 1, 30, "
      "'DeepSeek (OpenAI-compatible, with reasoning and prompt cache)')"};
  for (const SeedModel& m : kSeedModels) {
    out.push_back(absl::StrCat(
        "INSERT INTO t_ai_models (provider_id, model_code, model_name, model_type, "
        "max_input_tokens, max_output_tokens, supports_streaming, supports_function_call, "
        "supports_vision, cost_per_1k_prompt_tokens, cost_per_1k_completion_tokens, "
        "cost_per_1k_cached_prompt_tokens, cost_per_1k_cache_creation_tokens, is_active, "
        "is_default) SELECT id, '", m.code, "', '", m.name, "', 'chat', ", m.max_input, ", ",
        m.max_output, ", 1, ", m.tools ? 1 : 0, ", ", m.vision ? 1 : 0, ", ", m.prompt, ", ",
        m.completion, ", ", m.cached, ", ", m.cache_write, ", 1, ", m.is_default ? 1 : 0,
        " FROM t_ai_providers WHERE provider_code = '", m.provider, "'"));
  }
  return out;
}

// Every failed attempt per day, provider, key and error code: the dashboard's
// errors by code and by key come from here, not from scanning the log. On
// MySQL the log table becomes partitioned by month (RANGE COLUMNS on
// created_at) so that the usage service's retention can drop whole months;
// partitioning needs created_at in every unique key, so the idempotency key
// becomes (request_id, attempt, created_at) there (a resent event carries
// the same created_at). The usage service splits `pmax` into months. The
// time indexes end in id explicitly: on a partitioned table MySQL does not
// use the implicit primary key suffix for ORDER BY created_at DESC, id DESC
// (the call log's order) and would sort the whole log instead.
std::vector<std::string> V3ErrorStatsAndLogPartitions(Backend b) {
  std::vector<std::string> out;
  Append(out, CreateTable(b, "t_ai_error_stats", R"(
  {ID},
  stat_date {DATE} NOT NULL,
  provider_code VARCHAR(64) NOT NULL,
  key_id BIGINT NOT NULL DEFAULT 0,
  error_code VARCHAR(64) NOT NULL,
  error_count BIGINT NOT NULL DEFAULT 0,
  created_at {TS_NOW},
  updated_at {TS_NOW})",
                          {{"uk_error_stats_day_provider_key_code",
                            "stat_date, provider_code, key_id, error_code", true}}));
  if (b == Backend::kMySql) {
    out.push_back(
        "ALTER TABLE t_ai_api_logs DROP PRIMARY KEY, ADD PRIMARY KEY (id, created_at), "
        "DROP INDEX uk_logs_request_attempt, "
        "ADD UNIQUE KEY uk_logs_request_attempt (request_id, attempt, created_at), "
        "DROP INDEX idx_logs_created, ADD KEY idx_logs_created (created_at, id), "
        "DROP INDEX idx_logs_provider_created, "
        "ADD KEY idx_logs_provider_created (provider_code, created_at, id), "
        "DROP INDEX idx_logs_key_created, ADD KEY idx_logs_key_created (key_id, created_at, id), "
        "DROP INDEX idx_logs_status_created, "
        "ADD KEY idx_logs_status_created (status, created_at, id), "
        "DROP INDEX idx_logs_user_created, ADD KEY idx_logs_user_created (user_id, created_at, id)");
    out.push_back(
        "ALTER TABLE t_ai_api_logs PARTITION BY RANGE COLUMNS(created_at) "
        "(PARTITION pmax VALUES LESS THAN (MAXVALUE))");
  }
  return out;
}

// The keypool's active/standby election and what a standby needs to take
// over within the limits (services/keypool/leader_election.h,
// keypool_window_store.h). t_ai_leader_leases: one row per election; the
// holder renews by bumping `renewals` (every successful UPDATE changes the
// row, so MySQL's affected-rows count is 1), a takeover bumps `fencing` with
// a compare-and-set on the (fencing, renewals) it observed. Expiry is in
// milliseconds since the epoch as integers, the same on both backends.
// t_ai_keypool_windows: each key's rate window as the active keypool last
// saved it, stamped with its fencing number.
std::vector<std::string> V4LeaderLeaseAndKeyWindows(Backend b) {
  std::vector<std::string> out;
  const bool my = b == Backend::kMySql;
  out.push_back(absl::StrCat(
      "CREATE TABLE IF NOT EXISTS t_ai_leader_leases (\n"
      "  name VARCHAR(64) NOT NULL PRIMARY KEY,\n"
      "  holder VARCHAR(255) NOT NULL DEFAULT '',\n"
      "  fencing BIGINT NOT NULL DEFAULT 0,\n"
      "  renewals BIGINT NOT NULL DEFAULT 0,\n"
      "  expires_at_ms BIGINT NOT NULL DEFAULT 0)",
      my ? " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4" : ""));
  out.push_back(absl::StrCat(
      "CREATE TABLE IF NOT EXISTS t_ai_keypool_windows (\n"
      "  key_id BIGINT NOT NULL PRIMARY KEY,\n"
      "  fencing BIGINT NOT NULL DEFAULT 0,\n"
      "  saved_at_ms BIGINT NOT NULL DEFAULT 0,\n"
      "  recent_requests BIGINT NOT NULL DEFAULT 0,\n"
      "  recent_tokens BIGINT NOT NULL DEFAULT 0,\n"
      "  window_events TEXT NOT NULL)",
      my ? " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4" : ""));
  return out;
}

// What the chat contract's tools and images add to the call record: each
// attempt's tool calls and images in the log (services/usage/log_columns.h),
// and their daily sums in the stats (stats_accumulator.h). Added at the end
// of each table with a default of 0, so rows written before read as calls
// without tools or images; on MariaDB an InnoDB column added last is an
// instant change, not a copy of the (partitioned) log.
std::vector<std::string> V5ToolCallsAndImages(Backend b) {
  if (b == Backend::kMySql) {
    return {"ALTER TABLE t_ai_api_logs ADD COLUMN tool_calls INT NOT NULL DEFAULT 0, "
            "ADD COLUMN images INT NOT NULL DEFAULT 0",
            "ALTER TABLE t_ai_usage_stats ADD COLUMN tool_calls BIGINT NOT NULL DEFAULT 0, "
            "ADD COLUMN images BIGINT NOT NULL DEFAULT 0"};
  }
  // SQLite adds one column a statement.
  return {"ALTER TABLE t_ai_api_logs ADD COLUMN tool_calls INT NOT NULL DEFAULT 0",
          "ALTER TABLE t_ai_api_logs ADD COLUMN images INT NOT NULL DEFAULT 0",
          "ALTER TABLE t_ai_usage_stats ADD COLUMN tool_calls BIGINT NOT NULL DEFAULT 0",
          "ALTER TABLE t_ai_usage_stats ADD COLUMN images BIGINT NOT NULL DEFAULT 0"};
}

// The allotments the active keypool granted to gateways
// (services/keypool/allotment.h, allotment_store.h): written before a
// gateway hears of one, so a standby taking over holds back what they hold.
// Times in milliseconds since the epoch, as in t_ai_leader_leases.
std::vector<std::string> V6KeypoolAllotments(Backend b) {
  const bool my = b == Backend::kMySql;
  return {absl::StrCat(
      "CREATE TABLE IF NOT EXISTS t_ai_keypool_allotments (\n"
      "  id VARCHAR(64) NOT NULL PRIMARY KEY,\n"
      "  holder VARCHAR(255) NOT NULL DEFAULT '',\n"
      "  key_id BIGINT NOT NULL,\n"
      "  requests BIGINT NOT NULL DEFAULT 0,\n"
      "  tokens BIGINT NOT NULL DEFAULT 0,\n"
      "  day_requests BIGINT NOT NULL DEFAULT 0,\n"
      "  use_until_ms BIGINT NOT NULL DEFAULT 0,\n"
      "  counted_until_ms BIGINT NOT NULL DEFAULT 0,\n"
      "  day_end_ms BIGINT NOT NULL DEFAULT 0,\n"
      "  fencing BIGINT NOT NULL DEFAULT 0)",
      my ? " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4" : "")};
}

// The lease the keypool's holder announces (services/keypool/
// leader_election.h, `max_lease`): longer while its renewals are slow, and a
// standby waits that long. 0 in rows written before: the standby's own lease.
std::vector<std::string> V7LeaderAnnouncedLease(Backend) {
  return {"ALTER TABLE t_ai_leader_leases ADD COLUMN lease_ms BIGINT NOT NULL DEFAULT 0"};
}

}  // namespace

const std::vector<Migration>& AllMigrations() {
  static const auto* const kMigrations = new std::vector<Migration>{
      {1, "core tables: providers, api keys, models, api logs, usage stats", &V1CoreTables},
      {2, "seed providers openai, anthropic, deepseek and their models", &V2SeedCatalogue},
      {3, "error stats per day, provider, key and code; MySQL: api logs partitioned by month",
       &V3ErrorStatsAndLogPartitions},
      {4, "keypool leader election lease and saved key rate windows",
       &V4LeaderLeaseAndKeyWindows},
      {5, "tool calls and images of each call in the api logs and the daily usage stats",
       &V5ToolCallsAndImages},
      {6, "keypool allotments granted to gateways", &V6KeypoolAllotments},
      {7, "the lease the keypool's leader announces", &V7LeaderAnnouncedLease},
  };
  return *kMigrations;
}

}  // namespace aigw::db
