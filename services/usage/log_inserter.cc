#include "services/usage/log_inserter.h"

#include <array>
#include <cstring>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "services/usage/log_columns.h"
#include "services/usage/sql_literal.h"
#include "soci/mysql/soci-mysql.h"
#include "soci/soci.h"
#include "soci/sqlite3/soci-sqlite3.h"

namespace aigw::usage {
namespace {

// "<verb> INTO t_ai_api_logs (request_id, ...) VALUES (?,?,...)": one row,
// one parameter per described column.
std::string SingleRowInsert(absl::string_view verb) {
  std::string sql = absl::StrCat(verb, " INTO t_ai_api_logs (", LogInsertColumns(), ") VALUES (");
  for (size_t c = 0; c < kLogColumnCount; ++c) sql.append(c == 0 ? "?" : ",?");
  sql.push_back(')');
  return sql;
}

// ---------------------------------------------------------------- SQLite

using sqlite_api::sqlite3;
using sqlite_api::sqlite3_stmt;

// Binds the described columns of `r` to parameters 1..n of `st`. `made`
// (one per column) keeps the texts made here until the statement is stepped.
void BindRow(sqlite3_stmt* st, const LogRow& r, std::array<std::string, kLogColumnCount>& made) {
  using namespace sqlite_api;  // NOLINT(build/namespaces): soci wraps sqlite3.h in it
  for (size_t i = 0; i < kLogColumnCount; ++i) {
    const LogColumn& c = kLogColumns[i];
    const int k = static_cast<int>(i) + 1;
    switch (c.type) {
      case db::ColumnType::kVarchar:
      case db::ColumnType::kText: {
        const std::string& v = r.*c.text;
        if (c.nullable() && v.empty()) {
          sqlite3_bind_null(st, k);
        } else {
          sqlite3_bind_text(st, k, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
        }
        break;
      }
      case db::ColumnType::kWord:
        sqlite3_bind_text(st, k, r.*c.flag ? c.word_true : c.word_false, -1, SQLITE_STATIC);
        break;
      case db::ColumnType::kInt:
        sqlite3_bind_int64(st, k, r.*c.int32);
        break;
      case db::ColumnType::kBigInt:
        sqlite3_bind_int64(st, k, r.*c.int64);
        break;
      case db::ColumnType::kBool:
        sqlite3_bind_int64(st, k, r.*c.flag ? 1 : 0);
        break;
      case db::ColumnType::kMoney:  // the decimal as text: stored exactly as a literal would be
      case db::ColumnType::kTime: {
        const std::string& v = db::SqlText(c, r, &made[i]);
        sqlite3_bind_text(st, k, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
        break;
      }
    }
  }
}

class SqliteLogInserter : public LogInserter {
 public:
  absl::StatusOr<std::vector<bool>> Insert(soci::session& s,
                                           absl::Span<const LogRow* const> rows) override {
    using namespace sqlite_api;  // NOLINT(build/namespaces): soci wraps sqlite3.h in it
    sqlite3* conn = static_cast<soci::sqlite3_session_backend*>(s.get_backend())->conn_;
    const std::string sql = SingleRowInsert("INSERT OR IGNORE");
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(conn, sql.c_str(), static_cast<int>(sql.size()), &st, nullptr) !=
        SQLITE_OK) {
      return Error(conn, st);
    }
    std::vector<bool> inserted(rows.size(), false);
    std::array<std::string, kLogColumnCount> made;
    for (size_t i = 0; i < rows.size(); ++i) {
      BindRow(st, *rows[i], made);
      if (sqlite3_step(st) != SQLITE_DONE) return Error(conn, st);
      inserted[i] = sqlite3_changes(conn) > 0;
      sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    return inserted;
  }

 private:
  static absl::Status Error(sqlite3* conn, sqlite3_stmt* st) {
    absl::Status e = absl::InternalError(
        absl::StrCat("database: inserting call log rows: ", sqlite_api::sqlite3_errmsg(conn)));
    if (st != nullptr) sqlite_api::sqlite3_finalize(st);
    return e;
  }
};

// ----------------------------------------------------------------- MySQL

MYSQL_TIME ToMysqlTime(absl::Time t) {
  const absl::CivilSecond cs = absl::ToCivilSecond(t, absl::UTCTimeZone());
  MYSQL_TIME out;
  std::memset(&out, 0, sizeof(out));
  out.year = static_cast<unsigned>(cs.year());
  out.month = static_cast<unsigned>(cs.month());
  out.day = static_cast<unsigned>(cs.day());
  out.hour = static_cast<unsigned>(cs.hour());
  out.minute = static_cast<unsigned>(cs.minute());
  out.second = static_cast<unsigned>(cs.second());
  out.second_part = static_cast<unsigned long>(
      absl::ToInt64Microseconds(t - absl::FromCivil(cs, absl::UTCTimeZone())));
  out.time_type = MYSQL_TIMESTAMP_DATETIME;
  return out;
}

// One described column's values for all rows of a bulk execution, as
// MariaDB's array binding takes them: texts as pointers + lengths + NULL
// indicators, numbers as arrays of values, DATETIMEs (which, like strings,
// have no fixed packed size) as an array of pointers. Kept between
// executions so that its arrays are allocated once.
struct BulkColumn {
  std::vector<const char*> ptr;
  std::vector<unsigned long> len;
  std::vector<char> ind;
  std::vector<std::string> made;  // money texts the rows did not carry
  std::vector<int32_t> int32;
  std::vector<int64_t> int64;
  std::vector<signed char> tiny;
  std::vector<MYSQL_TIME> time;
  std::vector<MYSQL_TIME*> time_ptr;
};

// Points `b` at the text arrays of `col`, after `text(row, i)` filled them.
template <typename TextOf>
void FillText(absl::Span<const LogRow* const> rows, bool nullable, TextOf text, BulkColumn& col,
              MYSQL_BIND& b) {
  const size_t n = rows.size();
  col.ptr.resize(n);
  col.len.resize(n);
  col.ind.resize(n);
  for (size_t i = 0; i < n; ++i) {
    const absl::string_view v = text(*rows[i], i);
    col.ptr[i] = v.data();
    col.len[i] = v.size();
    col.ind[i] = nullable && v.empty() ? STMT_INDICATOR_NULL : STMT_INDICATOR_NONE;
  }
  b.buffer_type = MYSQL_TYPE_STRING;
  b.buffer = col.ptr.data();
  b.length = col.len.data();
  b.u.indicator = col.ind.data();
}

template <typename T, typename ValueOf>
void FillNumber(absl::Span<const LogRow* const> rows, enum_field_types type, ValueOf value,
                std::vector<T>& values, MYSQL_BIND& b) {
  values.resize(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) values[i] = value(*rows[i]);
  b.buffer_type = type;
  b.buffer = values.data();
}

// Fills `col` with column `c` of every row and points `b` at it.
void FillBulkColumn(const LogColumn& c, absl::Span<const LogRow* const> rows, BulkColumn& col,
                    MYSQL_BIND& b) {
  std::memset(&b, 0, sizeof(b));
  switch (c.type) {
    case db::ColumnType::kVarchar:
    case db::ColumnType::kText:
      FillText(
          rows, c.nullable(),
          [&](const LogRow& r, size_t) -> absl::string_view { return r.*c.text; }, col, b);
      break;
    case db::ColumnType::kWord:
      FillText(
          rows, false,
          [&](const LogRow& r, size_t) -> absl::string_view {
            return r.*c.flag ? c.word_true : c.word_false;
          },
          col, b);
      break;
    case db::ColumnType::kMoney:
      col.made.resize(rows.size());
      FillText(
          rows, false,
          [&](const LogRow& r, size_t i) -> absl::string_view {
            return db::SqlText(c, r, &col.made[i]);
          },
          col, b);
      break;
    case db::ColumnType::kInt:
      FillNumber(
          rows, MYSQL_TYPE_LONG, [&](const LogRow& r) { return r.*c.int32; }, col.int32, b);
      break;
    case db::ColumnType::kBigInt:
      FillNumber(
          rows, MYSQL_TYPE_LONGLONG, [&](const LogRow& r) { return r.*c.int64; }, col.int64, b);
      break;
    case db::ColumnType::kBool:
      FillNumber(
          rows, MYSQL_TYPE_TINY,
          [&](const LogRow& r) { return static_cast<signed char>(r.*c.flag ? 1 : 0); }, col.tiny,
          b);
      break;
    case db::ColumnType::kTime:
      FillNumber(
          rows, MYSQL_TYPE_DATETIME, [&](const LogRow& r) { return ToMysqlTime(r.*c.time); },
          col.time, b);
      col.time_ptr.resize(rows.size());
      for (size_t i = 0; i < rows.size(); ++i) col.time_ptr[i] = &col.time[i];
      b.buffer = col.time_ptr.data();
      break;
  }
}

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
    if (affected == static_cast<long long>(rows.size()) || affected == 0) {
      return std::vector<bool>(rows.size(), affected != 0);
    }
    return WhichInserted(s, rows, max_id_before, affected);
  }

 private:
  // Rows per bulk execution: a few hundred kB per packet, far below
  // max_allowed_packet.
  static constexpr size_t kBulkRows = 2000;

  // The prepared bulk INSERT of one connection and its parameter arrays.
  struct Prepared {
    MYSQL_STMT* stmt = nullptr;
    std::array<MYSQL_BIND, kLogColumnCount> binds;
    std::array<BulkColumn, kLogColumnCount> columns;

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

  // Some rows were already in the log: the ones above max_id_before are this
  // transaction's (InnoDB's consistent read shows its own rows there, not
  // other writers').
  static absl::StatusOr<std::vector<bool>> WhichInserted(soci::session& s,
                                                         absl::Span<const LogRow* const> rows,
                                                         long long max_id_before,
                                                         long long affected) {
    absl::flat_hash_set<std::pair<std::string, int32_t>> ours;
    std::string request_id;
    int attempt = 0;
    soci::statement q =
        (s.prepare << absl::StrCat("SELECT request_id, attempt FROM t_ai_api_logs WHERE id > ",
                                   max_id_before),
         soci::into(request_id), soci::into(attempt));
    q.execute();
    while (q.fetch()) ours.insert({request_id, attempt});
    std::vector<bool> inserted(rows.size(), false);
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

  // This connection's prepared single-row INSERT IGNORE, prepared on first use.
  absl::StatusOr<Prepared*> PreparedFor(MYSQL* conn) {
    if (auto it = bulk_.find(conn);
        it != bulk_.end() && it->second != nullptr && it->second->stmt->mysql == conn) {
      return it->second.get();
    }
    // A connection opened again after it was lost comes with a new MYSQL*:
    // statements of closed connections (detached by the client library) go.
    absl::erase_if(bulk_, [](const auto& entry) {
      return entry.second == nullptr || entry.second->stmt->mysql == nullptr;
    });
    std::unique_ptr<Prepared>& slot = bulk_[conn];
    slot = std::make_unique<Prepared>();
    slot->stmt = mysql_stmt_init(conn);
    if (slot->stmt == nullptr) {
      slot.reset();
      return absl::InternalError("database: out of memory preparing the call log insert");
    }
    const std::string sql = SingleRowInsert("INSERT IGNORE");
    if (mysql_stmt_prepare(slot->stmt, sql.data(), sql.size()) != 0) {
      absl::Status st = Error(slot->stmt);
      slot.reset();
      return st;
    }
    return slot.get();
  }

  // MariaDB's bulk execution: one prepared single-row INSERT, all rows'
  // values sent as column arrays in one round trip and run by the server
  // without parsing anything per row.
  absl::StatusOr<long long> Bulk(MYSQL* conn, absl::Span<const LogRow* const> rows) {
    absl::StatusOr<Prepared*> p = PreparedFor(conn);
    if (!p.ok()) return p.status();
    Prepared& prepared = **p;
    for (size_t c = 0; c < kLogColumnCount; ++c) {
      FillBulkColumn(kLogColumns[c], rows, prepared.columns[c], prepared.binds[c]);
    }
    unsigned int array_size = static_cast<unsigned int>(rows.size());
    if (mysql_stmt_attr_set(prepared.stmt, STMT_ATTR_ARRAY_SIZE, &array_size) != 0 ||
        mysql_stmt_bind_param(prepared.stmt, prepared.binds.data()) != 0 ||
        mysql_stmt_execute(prepared.stmt) != 0) {
      absl::Status st = Error(prepared.stmt);
      bulk_.erase(conn);
      return st;
    }
    return static_cast<long long>(mysql_stmt_affected_rows(prepared.stmt));
  }

  // MySQL servers: multi-row INSERT IGNOREs with literal values.
  absl::StatusOr<long long> Literal(soci::session& s, absl::Span<const LogRow* const> rows) {
    long long affected = 0;
    std::string sql;
    for (size_t b = 0; b < rows.size(); b += per_) {
      sql = absl::StrCat("INSERT IGNORE INTO t_ai_api_logs (", LogInsertColumns(), ") VALUES ");
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
