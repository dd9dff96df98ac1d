#include "tests/fault/call_log_audit.h"

#include <algorithm>
#include <set>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "soci/soci.h"

namespace aigw::fault {
namespace {

constexpr size_t kMaxExamples = 10;

struct LogRow {
  int attempt = 0;
  bool success = false;
  bool is_final = false;
  std::string error_code;
  long long key_id = 0;
  int http_status = 0;
  long long prompt = 0, completion = 0, total = 0, cost_nanos = 0;
};

absl::StatusOr<absl::flat_hash_map<std::string, std::vector<LogRow>>> ReadRows(
    db::Database& db, const std::string& id_prefix) {
  absl::flat_hash_map<std::string, std::vector<LogRow>> rows;
  absl::Status st = db.Run([&](soci::session& s) {
    std::string request_id, status, error_code;
    int attempt = 0, is_final = 0, http_status = 0;
    long long key_id = 0, prompt = 0, completion = 0, total = 0, cost = 0;
    const std::string pattern = id_prefix + "%";
    soci::statement stmt =
        (s.prepare << absl::StrCat("SELECT request_id, attempt, status, is_final, "
                                   "COALESCE(error_code, ''), key_id, http_status, prompt_tokens, "
                                   "completion_tokens, total_tokens, ",
                                   db.dialect().DecimalToNanos("cost"),
                                   " FROM t_ai_api_logs WHERE request_id LIKE :p"),
         soci::use(pattern), soci::into(request_id), soci::into(attempt), soci::into(status),
         soci::into(is_final), soci::into(error_code), soci::into(key_id), soci::into(http_status),
         soci::into(prompt), soci::into(completion), soci::into(total), soci::into(cost));
    stmt.execute();
    while (stmt.fetch()) {
      rows[request_id].push_back(LogRow{attempt, status == "success", is_final != 0, error_code,
                                        key_id, http_status, prompt, completion, total, cost});
    }
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  return rows;
}

bool Unanswered(grpc::StatusCode code) {
  return code == grpc::StatusCode::DEADLINE_EXCEEDED || code == grpc::StatusCode::CANCELLED;
}

struct CallCheck {
  bool lost = false;    // no row, an attempt missing, or no final row
  int64_t doubled = 0;  // rows beyond one per attempt, final rows beyond one
  std::string problem;  // "" when the rows are what the client's view requires
};

// What is wrong with one call's rows, or "" when they are what its client's
// view requires; sets *lost and counts *doubled.
std::string CheckRows(const CallRecord& call, const std::vector<LogRow>& rows, bool* lost,
                      int64_t* doubled) {
  if (rows.empty()) {
    *lost = true;
    return "no row";
  }
  std::map<int, int> per_attempt;
  int finals = 0, max_attempt = 0;
  const LogRow* final_row = nullptr;
  for (const LogRow& r : rows) {
    ++per_attempt[r.attempt];
    max_attempt = std::max(max_attempt, r.attempt);
    if (r.is_final) {
      ++finals;
      final_row = &r;
    }
  }
  std::string problems;
  int64_t extra_rows = 0;
  for (const auto& [attempt, n] : per_attempt) {
    if (n > 1) {
      extra_rows += n - 1;
      absl::StrAppend(&problems, "attempt ", attempt, " logged ", n, " times; ");
    }
  }
  if (finals > 1) absl::StrAppend(&problems, finals, " final rows; ");
  // An attempt stored twice is also two final rows: count the call's extra
  // records once.
  *doubled = std::max<int64_t>(extra_rows, finals - 1);
  for (int a = 1; a <= max_attempt; ++a) {
    if (per_attempt.count(a) == 0) {
      *lost = true;
      absl::StrAppend(&problems, "attempt ", a, " missing; ");
    }
  }
  if (finals == 0) {
    *lost = true;
    absl::StrAppend(&problems, "no final row (attempts 1..", max_attempt, " logged); ");
  }
  if (!problems.empty()) return problems;
  // The last attempt is the final one.
  if (final_row->attempt != max_attempt) {
    return absl::StrCat("final row is attempt ", final_row->attempt, " of ", max_attempt);
  }
  const LogRow& f = *final_row;
  if (call.code == grpc::StatusCode::OK) {
    if (!f.success) return absl::StrCat("client saw OK, final row is an error ", f.error_code);
    if (f.attempt != call.attempts) {
      return absl::StrCat("client saw ", call.attempts, " attempts, log has ", f.attempt);
    }
    if (f.prompt != call.prompt_tokens || f.completion != call.completion_tokens ||
        f.total != call.total_tokens || f.cost_nanos != call.cost_nanos) {
      return absl::StrCat("tokens/cost: client ", call.prompt_tokens, "/", call.completion_tokens,
                          "/", call.total_tokens, "/", call.cost_nanos, "n, log ", f.prompt, "/",
                          f.completion, "/", f.total, "/", f.cost_nanos, "n");
    }
    return "";
  }
  if (f.success)
    return absl::StrCat("client saw ", StatusCodeName(call.code), ", final row is a success");
  if (absl::StrContains(call.message, "keypool unavailable") &&
      (f.error_code != "KEYPOOL_UNAVAILABLE" || f.key_id != 0 || f.http_status != 0)) {
    return absl::StrCat("keypool unavailable, but the final row is error_code '", f.error_code,
                        "' key ", f.key_id, " HTTP ", f.http_status, " (want NOT_SENT)");
  }
  if (call.kind == CallKind::kRefused && call.code == grpc::StatusCode::INVALID_ARGUMENT &&
      f.http_status != 400) {
    return absl::StrCat("refused by the provider, but the final row has HTTP ", f.http_status);
  }
  return "";
}

CallCheck CheckCall(const CallRecord& call, const std::vector<LogRow>& rows) {
  CallCheck out;
  out.problem = CheckRows(call, rows, &out.lost, &out.doubled);
  return out;
}

}  // namespace

absl::StatusOr<CallLogAudit> AuditCallLog(db::Database& db, const std::string& id_prefix,
                                          const std::vector<CallRecord>& calls) {
  absl::StatusOr<absl::flat_hash_map<std::string, std::vector<LogRow>>> rows =
      ReadRows(db, id_prefix);
  if (!rows.ok()) return rows.status();
  CallLogAudit a;
  a.calls = static_cast<int64_t>(calls.size());
  auto example = [&a](const CallRecord& c, const std::string& what) {
    if (a.examples.size() < kMaxExamples) {
      a.examples.push_back(absl::StrCat(c.request_id, " (", CallKindName(c.kind), ", client saw ",
                                        StatusCodeName(c.code),
                                        c.message.empty() ? "" : ": " + c.message, "): ", what));
    }
  };
  std::set<std::string> issued;
  for (const auto& [id, r] : *rows) a.rows += static_cast<int64_t>(r.size());
  for (const CallRecord& c : calls) {
    issued.insert(c.request_id);
    ++a.by_code[StatusCodeName(c.code)];
    auto it = rows->find(c.request_id);
    const std::vector<LogRow> none;
    const std::vector<LogRow>& mine = it == rows->end() ? none : it->second;
    if (Unanswered(c.code)) {
      ++a.unanswered;
      example(c, absl::StrCat("no answer within the client's deadline (", mine.size(), " rows)"));
      continue;
    }
    if (c.kind == CallKind::kInvalid) {
      if (c.code != grpc::StatusCode::INVALID_ARGUMENT) {
        ++a.mismatched;
        example(c, "a request validation must refuse was not refused");
      }
      if (!mine.empty()) {
        a.unexpected += static_cast<int64_t>(mine.size());
        example(c, absl::StrCat(mine.size(), " rows for a call refused before any attempt"));
      }
      continue;
    }
    ++a.must_log;
    const CallCheck check = CheckCall(c, mine);
    if (check.lost) ++a.lost;
    a.doubled += check.doubled;
    if (!check.problem.empty() && !check.lost && check.doubled == 0) ++a.mismatched;
    if (!check.problem.empty()) example(c, check.problem);
    if (c.code != grpc::StatusCode::OK && it != rows->end()) {
      for (const LogRow& r : mine) {
        if (r.is_final) ++a.errors_by_log_code[r.error_code.empty() ? "(none)" : r.error_code];
      }
    }
  }
  for (const auto& [id, r] : *rows) {
    if (issued.count(id) == 0) {
      a.unexpected += static_cast<int64_t>(r.size());
      if (a.examples.size() < kMaxExamples) {
        a.examples.push_back(absl::StrCat(id, ": ", r.size(), " rows for an id no client used"));
      }
    }
  }
  return a;
}

absl::StatusOr<StatsAudit> AuditStats(db::Database& db) {
  StatsAudit out;
  const db::Dialect& d = db.dialect();
  // {figure, from t_ai_usage_stats / t_ai_error_stats, from t_ai_api_logs}
  const std::vector<std::tuple<std::string, std::string, std::string>> checks = {
      {"total_requests", "SELECT COALESCE(SUM(total_requests), 0) FROM t_ai_usage_stats",
       "SELECT COUNT(*) FROM t_ai_api_logs WHERE is_final = 1"},
      {"success_count", "SELECT COALESCE(SUM(success_count), 0) FROM t_ai_usage_stats",
       "SELECT COUNT(*) FROM t_ai_api_logs WHERE is_final = 1 AND status = 'success'"},
      {"error_count", "SELECT COALESCE(SUM(error_count), 0) FROM t_ai_usage_stats",
       "SELECT COUNT(*) FROM t_ai_api_logs WHERE is_final = 1 AND status = 'error'"},
      {"attempt_count", "SELECT COALESCE(SUM(attempt_count), 0) FROM t_ai_usage_stats",
       "SELECT COUNT(*) FROM t_ai_api_logs"},
      {"attempt_error_count", "SELECT COALESCE(SUM(attempt_error_count), 0) FROM t_ai_usage_stats",
       "SELECT COUNT(*) FROM t_ai_api_logs WHERE status = 'error'"},
      {"prompt_tokens", "SELECT COALESCE(SUM(prompt_tokens), 0) FROM t_ai_usage_stats",
       "SELECT COALESCE(SUM(prompt_tokens), 0) FROM t_ai_api_logs"},
      {"completion_tokens", "SELECT COALESCE(SUM(completion_tokens), 0) FROM t_ai_usage_stats",
       "SELECT COALESCE(SUM(completion_tokens), 0) FROM t_ai_api_logs"},
      {"total_tokens", "SELECT COALESCE(SUM(total_tokens), 0) FROM t_ai_usage_stats",
       "SELECT COALESCE(SUM(total_tokens), 0) FROM t_ai_api_logs"},
      {"total_cost_nanos",
       absl::StrCat("SELECT ", d.DecimalToNanos("COALESCE(SUM(total_cost), 0)"),
                    " FROM t_ai_usage_stats"),
       absl::StrCat("SELECT ", d.DecimalToNanos("COALESCE(SUM(cost), 0)"), " FROM t_ai_api_logs")},
      {"error_stats.error_count", "SELECT COALESCE(SUM(error_count), 0) FROM t_ai_error_stats",
       "SELECT COUNT(*) FROM t_ai_api_logs WHERE status = 'error'"},
  };
  absl::Status st = db.Run([&](soci::session& s) {
    for (const auto& [name, stats_sql, log_sql] : checks) {
      long long stats = 0, log = 0;
      s << stats_sql, soci::into(stats);
      s << log_sql, soci::into(log);
      if (stats != log) {
        out.differences.push_back(absl::StrCat(name, ": stats ", stats, ", log ", log));
      }
    }
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  return out;
}

}  // namespace aigw::fault
