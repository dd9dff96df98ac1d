#include "services/usage/log_inserter.h"

#include <cstring>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "libs/db/dialect.h"
#include "services/usage/sql_literal.h"
#include "services/usage/usage_time.h"
#include "soci/mysql/soci-mysql.h"
#include "soci/soci.h"
#include "soci/sqlite3/soci-sqlite3.h"

namespace aigw::usage {
namespace {

constexpr int kColumns = 25;

std::string Placeholders(int rows) {
  std::string one = "(";
  for (int c = 0; c < kColumns; ++c) absl::StrAppend(&one, c == 0 ? "?" : ",?");
  one.push_back(')');
  std::string out;
  out.reserve(rows * (one.size() + 1));
  for (int r = 0; r < rows; ++r) {
    if (r > 0) out.push_back(',');
    out.append(one);
  }
  return out;
}

// Values of one row that are not stored in LogRow as the driver wants them.
struct Derived {
  std::string cost;        // exact decimal text
  std::string created_at;  // 'YYYY-MM-DD HH:MM:SS.mmm' (SQLite)
  MYSQL_TIME created{};    // (MySQL)
  signed char is_stream = 0;
  signed char is_final = 0;
  int64_t latency_ms = 0;
  int64_t ttft_ms = 0;
};

void Derive(const LogRow& r, bool mysql, Derived* d) {
  if (r.cost_text.empty()) {
    d->cost = db::NanosToDecimal(r.cost_nanos);
  } else {
    d->cost.clear();  // cost_text is used
  }
  d->is_stream = r.is_stream ? 1 : 0;
  d->is_final = r.is_final ? 1 : 0;
  d->latency_ms = r.latency_ms;
  d->ttft_ms = r.ttft_ms;
  if (mysql) {
    const absl::CivilSecond cs = absl::ToCivilSecond(r.created_at, absl::UTCTimeZone());
    std::memset(&d->created, 0, sizeof(d->created));
    d->created.year = static_cast<unsigned>(cs.year());
    d->created.month = static_cast<unsigned>(cs.month());
    d->created.day = static_cast<unsigned>(cs.day());
    d->created.hour = static_cast<unsigned>(cs.hour());
    d->created.minute = static_cast<unsigned>(cs.minute());
    d->created.second = static_cast<unsigned>(cs.second());
    d->created.second_part = static_cast<unsigned long>(
        absl::ToInt64Microseconds(r.created_at - absl::FromCivil(cs, absl::UTCTimeZone())));
    d->created.time_type = MYSQL_TIMESTAMP_DATETIME;
  } else if (r.created_at_text.empty()) {
    d->created_at = FormatDbTime(r.created_at);
  } else {
    d->created_at.clear();  // created_at_text is used
  }
}

// The texts of `r`: made by ToLogRow, else by Derive.
const std::string& CostText(const LogRow& r, const Derived& d) {
  return r.cost_text.empty() ? d.cost : r.cost_text;
}
const std::string& CreatedAtText(const LogRow& r, const Derived& d) {
  return r.created_at_text.empty() ? d.created_at : r.created_at_text;
}

// ---------------------------------------------------------------- SQLite

class SqliteLogInserter : public LogInserter {
 public:
  absl::StatusOr<std::vector<bool>> Insert(soci::session& s,
                                           absl::Span<const LogRow* const> rows) override {
    using namespace sqlite_api;  // NOLINT(build/namespaces): soci wraps sqlite3.h in it
    sqlite3* conn = static_cast<soci::sqlite3_session_backend*>(s.get_backend())->conn_;
    const std::string sql = absl::StrCat("INSERT OR IGNORE INTO t_ai_api_logs (", kLogInsertColumns,
                                         ") VALUES ", Placeholders(1));
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(conn, sql.c_str(), static_cast<int>(sql.size()), &st, nullptr) !=
        SQLITE_OK) {
      return Error(conn, st);
    }
    std::vector<bool> inserted(rows.size(), false);
    Derived d;
    for (size_t i = 0; i < rows.size(); ++i) {
      const LogRow& r = *rows[i];
      Derive(r, false, &d);
      int k = 0;
      auto text = [&](const std::string& v) {
        sqlite3_bind_text(st, ++k, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
      };
      auto text_or_null = [&](const std::string& v) {
        if (v.empty()) {
          sqlite3_bind_null(st, ++k);
        } else {
          text(v);
        }
      };
      auto integer = [&](int64_t v) { sqlite3_bind_int64(st, ++k, v); };
      text(r.request_id);
      integer(r.attempt);
      integer(r.provider_id);
      text(r.provider_code);
      integer(r.key_id);
      text(r.model);
      text_or_null(r.user_id);
      text_or_null(r.ip_address);
      text_or_null(r.user_agent);
      sqlite3_bind_text(st, ++k, r.success ? "success" : "error", -1, SQLITE_STATIC);
      text_or_null(r.error_code);
      text_or_null(r.error_message);
      integer(r.http_status);
      integer(r.prompt_tokens);
      integer(r.completion_tokens);
      integer(r.total_tokens);
      integer(r.cached_prompt_tokens);
      integer(r.cache_creation_tokens);
      integer(r.reasoning_tokens);
      // The decimal as text: stored exactly as the literal would be.
      text(CostText(r, d));
      integer(d.latency_ms);
      integer(d.ttft_ms);
      integer(d.is_stream);
      integer(d.is_final);
      text(CreatedAtText(r, d));
      if (sqlite3_step(st) != SQLITE_DONE) return Error(conn, st);
      inserted[i] = sqlite3_changes(conn) > 0;
      sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    return inserted;
  }

 private:
  static absl::Status Error(sqlite_api::sqlite3* conn, sqlite_api::sqlite3_stmt* st) {
    absl::Status e = absl::InternalError(
        absl::StrCat("database: inserting call log rows: ", sqlite_api::sqlite3_errmsg(conn)));
    if (st != nullptr) sqlite_api::sqlite3_finalize(st);
    return e;
  }
};

// ----------------------------------------------------------------- MySQL

class MySqlLogInserter : public LogInserter {
 public:
  MySqlLogInserter(int rows_per_statement, SqlQuoter quoter, bool allow_bulk)
      : per_(std::max(1, rows_per_statement)), quoter_(quoter), allow_bulk_(allow_bulk) {}

  absl::StatusOr<std::vector<bool>> Insert(soci::session& s,
                                           absl::Span<const LogRow* const> rows) override {
    MYSQL* conn = static_cast<soci::mysql_session_backend*>(s.get_backend())->conn_;
    long long max_id_before = 0;
    soci::indicator ind = soci::i_null;
    s << "SELECT MAX(id) FROM t_ai_api_logs", soci::into(max_id_before, ind);
    if (ind != soci::i_ok) max_id_before = 0;

    long long affected = 0;
    for (size_t begin = 0; begin < rows.size(); begin += kBulkRows) {
      absl::Span<const LogRow* const> part = rows.subspan(begin, kBulkRows);
      absl::StatusOr<long long> n =
          allow_bulk_ && BulkSupported(conn) ? Bulk(conn, part) : Literal(s, part);
      if (!n.ok()) return n.status();
      affected += *n;
    }
    std::vector<bool> inserted(rows.size(), affected == static_cast<long long>(rows.size()));
    if (affected == static_cast<long long>(rows.size()) || affected == 0) return inserted;

    absl::flat_hash_set<std::pair<std::string, int32_t>> ours;
    std::string request_id;
    int attempt = 0;
    soci::statement q =
        (s.prepare << absl::StrCat("SELECT request_id, attempt FROM t_ai_api_logs WHERE id > ",
                                   max_id_before),
         soci::into(request_id), soci::into(attempt));
    q.execute();
    while (q.fetch()) ours.insert({request_id, attempt});
    long long found = 0;
    for (size_t i = 0; i < rows.size(); ++i) {
      inserted[i] = ours.contains(std::make_pair(rows[i]->request_id, rows[i]->attempt));
      found += inserted[i] ? 1 : 0;
    }
    if (found != affected) {
      // Cannot tell which rows are this transaction's: let the caller retry.
      return absl::AbortedError(absl::StrCat("inserted ", affected, " log rows but found ", found,
                                             " of them after the insert"));
    }
    return inserted;
  }

 private:
  // Rows per bulk execution: a few hundred kB per packet, far below
  // max_allowed_packet.
  static constexpr size_t kBulkRows = 2000;

  struct Prepared {
    MYSQL_STMT* stmt = nullptr;
    std::vector<MYSQL_BIND> binds;

    Prepared() = default;
    Prepared(const Prepared&) = delete;
    Prepared& operator=(const Prepared&) = delete;
    // After mysql_close the client library has detached the statement, and
    // this only frees its memory.
    ~Prepared() {
      if (stmt != nullptr) mysql_stmt_close(stmt);
    }
  };

  static absl::Status Error(MYSQL_STMT* stmt) {
    return absl::InternalError(
        absl::StrCat("database: inserting call log rows: ", mysql_stmt_error(stmt)));
  }

  // MariaDB servers take array binding (COM_STMT_BULK_EXECUTE); MySQL
  // servers do not.
  static bool BulkSupported(MYSQL* conn) {
    unsigned long caps = 0, extended = 0;
    if (mariadb_get_infov(conn, MARIADB_CONNECTION_SERVER_CAPABILITIES, &caps) != 0 ||
        mariadb_get_infov(conn, MARIADB_CONNECTION_EXTENDED_SERVER_CAPABILITIES, &extended) != 0) {
      return false;
    }
    return !(caps & CLIENT_MYSQL) && (extended & (MARIADB_CLIENT_STMT_BULK_OPERATIONS >> 32));
  }

  // MariaDB's bulk execution: one prepared single-row INSERT, all rows'
  // values sent as column arrays in one round trip and run by the server
  // without parsing anything per row.
  absl::StatusOr<long long> Bulk(MYSQL* conn, absl::Span<const LogRow* const> rows) {
    std::vector<Derived> derived(rows.size());
    for (size_t i = 0; i < rows.size(); ++i) Derive(*rows[i], true, &derived[i]);
    const Derived* ds = derived.data();
    std::unique_ptr<Prepared>& slot = bulk_[conn];
    if (slot == nullptr || slot->stmt->mysql != conn) {
      slot = std::make_unique<Prepared>();
      slot->stmt = mysql_stmt_init(conn);
      if (slot->stmt == nullptr) {
        slot.reset();
        return absl::InternalError("database: out of memory preparing the call log insert");
      }
      const std::string sql = absl::StrCat("INSERT IGNORE INTO t_ai_api_logs (", kLogInsertColumns,
                                           ") VALUES ", Placeholders(1));
      if (mysql_stmt_prepare(slot->stmt, sql.data(), sql.size()) != 0) {
        absl::Status st = Error(slot->stmt);
        slot.reset();
        return st;
      }
      slot->binds.assign(kColumns, MYSQL_BIND{});
    }
    const size_t n = rows.size();
    // Column arrays: strings as pointers + lengths (+ NULL indicators),
    // numbers as values.
    struct TextColumn {
      std::vector<const char*> ptr;
      std::vector<unsigned long> len;
      std::vector<char> ind;
    };
    TextColumn text[10];
    std::vector<int64_t> nums[12];
    std::vector<int32_t> ints[2];
    std::vector<signed char> tinies[2];
    std::vector<MYSQL_TIME> times(n);
    // Types without a fixed packed size (DATETIME, like strings) take an
    // array of pointers.
    std::vector<MYSQL_TIME*> time_ptrs(n);
    for (auto& t : text) {
      t.ptr.resize(n);
      t.len.resize(n);
      t.ind.resize(n);
    }
    for (auto& v : nums) v.resize(n);
    for (auto& v : ints) v.resize(n);
    for (auto& v : tinies) v.resize(n);
    static const std::string kSuccess = "success", kError = "error";
    for (size_t i = 0; i < n; ++i) {
      const LogRow& r = *rows[i];
      const Derived& d = ds[i];
      const std::string* strs[10] = {&r.request_id,
                                     &r.provider_code,
                                     &r.model,
                                     &r.user_id,
                                     &r.ip_address,
                                     &r.user_agent,
                                     r.success ? &kSuccess : &kError,
                                     &r.error_code,
                                     &r.error_message,
                                     &CostText(r, d)};
      const bool nullable[10] = {false, false, false, true, true, true, false, true, true, false};
      for (int c = 0; c < 10; ++c) {
        text[c].ptr[i] = strs[c]->data();
        text[c].len[i] = strs[c]->size();
        text[c].ind[i] =
            nullable[c] && strs[c]->empty() ? STMT_INDICATOR_NULL : STMT_INDICATOR_NONE;
      }
      const int64_t vals[12] = {r.provider_id,
                                r.key_id,
                                r.prompt_tokens,
                                r.completion_tokens,
                                r.total_tokens,
                                r.cached_prompt_tokens,
                                r.cache_creation_tokens,
                                r.reasoning_tokens,
                                d.latency_ms,
                                d.ttft_ms,
                                0,
                                0};
      for (int c = 0; c < 10; ++c) nums[c][i] = vals[c];
      ints[0][i] = r.attempt;
      ints[1][i] = r.http_status;
      tinies[0][i] = d.is_stream;
      tinies[1][i] = d.is_final;
      times[i] = d.created;
      time_ptrs[i] = &times[i];
    }
    MYSQL_BIND* b = slot->binds.data();
    std::memset(b, 0, kColumns * sizeof(MYSQL_BIND));
    auto bind_text = [&](int col, TextColumn& t) {
      b[col].buffer_type = MYSQL_TYPE_STRING;
      b[col].buffer = t.ptr.data();
      b[col].length = t.len.data();
      b[col].u.indicator = t.ind.data();
    };
    auto bind_num = [&](int col, std::vector<int64_t>& v) {
      b[col].buffer_type = MYSQL_TYPE_LONGLONG;
      b[col].buffer = v.data();
    };
    // kLogInsertColumns order.
    bind_text(0, text[0]);
    b[1].buffer_type = MYSQL_TYPE_LONG;
    b[1].buffer = ints[0].data();
    bind_num(2, nums[0]);
    bind_text(3, text[1]);
    bind_num(4, nums[1]);
    bind_text(5, text[2]);
    bind_text(6, text[3]);
    bind_text(7, text[4]);
    bind_text(8, text[5]);
    bind_text(9, text[6]);
    bind_text(10, text[7]);
    bind_text(11, text[8]);
    b[12].buffer_type = MYSQL_TYPE_LONG;
    b[12].buffer = ints[1].data();
    for (int c = 0; c < 6; ++c) bind_num(13 + c, nums[2 + c]);
    bind_text(19, text[9]);
    bind_num(20, nums[8]);
    bind_num(21, nums[9]);
    b[22].buffer_type = MYSQL_TYPE_TINY;
    b[22].buffer = tinies[0].data();
    b[23].buffer_type = MYSQL_TYPE_TINY;
    b[23].buffer = tinies[1].data();
    b[24].buffer_type = MYSQL_TYPE_DATETIME;
    b[24].buffer = time_ptrs.data();
    unsigned int array_size = static_cast<unsigned int>(n);
    if (mysql_stmt_attr_set(slot->stmt, STMT_ATTR_ARRAY_SIZE, &array_size) != 0 ||
        mysql_stmt_bind_param(slot->stmt, b) != 0 || mysql_stmt_execute(slot->stmt) != 0) {
      absl::Status st = Error(slot->stmt);
      slot.reset();
      return st;
    }
    return static_cast<long long>(mysql_stmt_affected_rows(slot->stmt));
  }

  // MySQL servers: multi-row INSERT IGNOREs with literal values.
  absl::StatusOr<long long> Literal(soci::session& s, absl::Span<const LogRow* const> rows) {
    long long affected = 0;
    std::string sql;
    for (size_t b = 0; b < rows.size(); b += per_) {
      sql = absl::StrCat("INSERT IGNORE INTO t_ai_api_logs (", kLogInsertColumns, ") VALUES ");
      for (size_t k = b; k < std::min(rows.size(), b + per_); ++k) {
        if (k > b) sql.push_back(',');
        AppendLogValues(*rows[k], quoter_, &sql);
      }
      soci::statement stmt = (s.prepare << sql);
      stmt.execute(true);
      affected += stmt.get_affected_rows();
    }
    return affected;
  }

  size_t per_;
  SqlQuoter quoter_;
  bool allow_bulk_;
  // The prepared bulk INSERT of each pooled connection.
  absl::flat_hash_map<MYSQL*, std::unique_ptr<Prepared>> bulk_;
};

}  // namespace

std::unique_ptr<LogInserter> LogInserter::For(db::Backend backend, int rows_per_statement,
                                              SqlQuoter quoter, bool allow_bulk) {
  if (backend == db::Backend::kMySql) {
    return std::make_unique<MySqlLogInserter>(rows_per_statement, quoter, allow_bulk);
  }
  return std::make_unique<SqliteLogInserter>();
}

}  // namespace aigw::usage
