#include "libs/db/database.h"

#include <algorithm>
#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "soci/connection-pool.h"
#include "soci/mysql/soci-mysql.h"
#include "soci/soci.h"
#include "soci/sqlite3/soci-sqlite3.h"

namespace aigw::db {
namespace {

// MySQL/MariaDB errors that mean the server is unreachable or the
// connection is gone (client library errors 2xxx, server errors 1xxx).
bool IsMySqlConnectionError(int code) {
  switch (code) {
    case 2002:  // CR_CONNECTION_ERROR: cannot connect through the socket
    case 2003:  // CR_CONN_HOST_ERROR: cannot connect to the host
    case 2005:  // CR_UNKNOWN_HOST
    case 2006:  // CR_SERVER_GONE_ERROR
    case 2013:  // CR_SERVER_LOST
    case 2055:  // CR_SERVER_LOST_EXTENDED
    case 1040:  // ER_CON_COUNT_ERROR: too many connections
    case 1053:  // ER_SERVER_SHUTDOWN
    case 1152:  // ER_ABORTING_CONNECTION
    case 1158:  // ER_NET_READ_ERROR
    case 1159:  // ER_NET_READ_INTERRUPTED
    case 1160:  // ER_NET_ERROR_ON_WRITE
    case 1161:  // ER_NET_WRITE_INTERRUPTED
    case 1927:  // ER_CONNECTION_KILLED
    case 4031:  // MySQL 8: disconnected by the server for inactivity
      return true;
    default:
      return false;
  }
}

// Text of a soci error that carries no code.
DbErrorKind KindFromMessage(absl::string_view message) {
  for (absl::string_view lost : {"Session is not connected", "server has gone away",
                                 "Lost connection", "Can't connect", "not connected"}) {
    if (absl::StrContains(message, lost)) return DbErrorKind::kConnection;
  }
  for (absl::string_view busy :
       {"database is locked", "database table is locked", "Lock wait timeout", "Deadlock found"}) {
    if (absl::StrContains(message, busy)) return DbErrorKind::kBusy;
  }
  return DbErrorKind::kQuery;
}

DbErrorKind MySqlKind(int code, absl::string_view message) {
  if (IsMySqlConnectionError(code)) return DbErrorKind::kConnection;
  if (code == 1205 || code == 1213) return DbErrorKind::kBusy;  // lock wait timeout, deadlock
  return KindFromMessage(message);
}

DbErrorKind SqliteKind(int result, absl::string_view message) {
  const int primary = result & 0xff;
  if (primary == 5 || primary == 6) return DbErrorKind::kBusy;  // SQLITE_BUSY, SQLITE_LOCKED
  return KindFromMessage(message);
}

}  // namespace

// What the pool knows of one session; touched only by its holder.
struct Database::Session {
  // The connection is gone: reopen before the next use.
  bool lost = false;
  // loss_generation_ when this session was last known to work.
  uint64_t checked_generation = 0;
  // Real time of the last use, for the idle check.
  absl::Time last_used;
};

absl::string_view DbErrorKindName(DbErrorKind kind) {
  switch (kind) {
    case DbErrorKind::kConnection:
      return "connection";
    case DbErrorKind::kBusy:
      return "busy";
    case DbErrorKind::kQuery:
      return "query";
  }
  return "query";
}

std::string OneLine(absl::string_view text) {
  std::string s = absl::StrReplaceAll(text, {{"\r", " "}, {"\n", " "}, {"\t", " "}});
  while (s.find("  ") != std::string::npos) s = absl::StrReplaceAll(s, {{"  ", " "}});
  return std::string(absl::StripAsciiWhitespace(s));
}

Database::Database(DatabaseUrl url, DatabaseOptions options)
    : url_(std::move(url)),
      options_(options),
      dialect_(std::make_unique<Dialect>(url_.backend)),
      sessions_(static_cast<size_t>(options.pool_size)),
      backoff_(options.reconnect_initial_backoff) {}

Database::~Database() = default;

absl::StatusOr<std::unique_ptr<Database>> Database::Open(const DatabaseUrl& url, int pool_size) {
  DatabaseOptions options;
  options.pool_size = pool_size;
  return Open(url, options);
}

absl::StatusOr<std::unique_ptr<Database>> Database::Open(const DatabaseUrl& url,
                                                         DatabaseOptions options) {
  if (url.backend == Backend::kSqlite && url.sqlite_path == ":memory:") options.pool_size = 1;
  options.pool_size = std::max(options.pool_size, 1);
  if (options.clock == nullptr) options.clock = Clock::Real();
  options.reconnect_initial_backoff =
      std::max(options.reconnect_initial_backoff, absl::Milliseconds(1));
  options.reconnect_max_backoff =
      std::max(options.reconnect_max_backoff, options.reconnect_initial_backoff);
  if (url.backend == Backend::kSqlite && url.sqlite_path != ":memory:") {
    std::filesystem::path parent = std::filesystem::path(url.sqlite_path).parent_path();
    std::error_code ec;
    if (!parent.empty()) std::filesystem::create_directories(parent, ec);
    if (ec) {
      return absl::FailedPreconditionError(absl::StrCat("cannot create directory ", parent.string(),
                                                        " for database ", url.display, ": ",
                                                        ec.message()));
    }
  }
  std::unique_ptr<Database> db(new Database(url, options));
  db->pool_ = std::make_unique<soci::connection_pool>(options.pool_size);
  for (int i = 0; i < options.pool_size; ++i) {
    try {
      db->Connect(db->pool_->at(i), /*reopen=*/false);
    } catch (const soci::soci_error& e) {
      return absl::UnavailableError(
          absl::StrCat("cannot open database ", url.display, ": ", OneLine(e.get_error_message())));
    } catch (const std::exception& e) {
      return absl::UnavailableError(
          absl::StrCat("cannot open database ", url.display, ": ", OneLine(e.what())));
    }
    db->sessions_[i].last_used = absl::Now();
  }
  return db;
}

void Database::Connect(soci::session& s, bool reopen) {
  if (reopen) {
    s.reconnect();
  } else if (url_.backend == Backend::kSqlite) {
    s.open(*soci::factory_sqlite3(), url_.connect_string);
  } else {
    s.open(*soci::factory_mysql(), url_.connect_string);
  }
  if (url_.backend == Backend::kSqlite) {
    // WAL lets readers run beside the one writer. FULL: every commit is
    // on disk before it returns, so an acknowledged write (a usage batch
    // the gateway then forgets) survives a power loss too, not only a
    // process crash; with group commit that cost ~5% of ingest
    // (docs/BENCHMARKS.md). Checkpoints every
    // 8192 pages (32 MiB of WAL) instead of SQLite's 1000: a page the
    // writer dirties again and again (an index's hot end) is copied back
    // once per checkpoint, which took usage ingest from ~47k to ~55k
    // events/s.
    s << "PRAGMA journal_mode=WAL";
    s << "PRAGMA synchronous=FULL";
    s << "PRAGMA wal_autocheckpoint=8192";
  } else {
    s << "SET time_zone = '+00:00'";
  }
}

absl::Status Database::Run(const std::function<absl::Status(soci::session&)>& fn) {
  const size_t pos = pool_->lease();
  absl::Status st = RunOn(pos, fn);
  pool_->give_back(pos);
  return st;
}

absl::Status Database::Ping(absl::Duration lease_wait) {
  size_t pos = 0;
  const int wait_ms = static_cast<int>(
      std::clamp<int64_t>(absl::ToInt64Milliseconds(lease_wait), 0, 24 * 3600 * 1000));
  // Every session busy: calls are running, so the database works.
  if (!pool_->try_lease(pos, wait_ms)) return absl::OkStatus();
  absl::Status st = RunOn(pos, [](soci::session& s) {
    s << "SELECT 1";
    return absl::OkStatus();
  });
  pool_->give_back(pos);
  return st;
}

absl::Status Database::RunOn(size_t pos, const std::function<absl::Status(soci::session&)>& fn) {
  soci::session& s = pool_->at(pos);
  Session& state = sessions_[pos];
  if (absl::Status usable = MakeUsable(s, state); !usable.ok()) {
    if (observer_ != nullptr) observer_->OnError(DbErrorKind::kConnection);
    return usable;
  }
  absl::Status st;
  try {
    st = fn(s);
  } catch (const soci::mysql_soci_error& e) {
    const std::string message = e.get_error_message();
    return Failed(s, state, MySqlKind(e.err_num_, message), message);
  } catch (const soci::sqlite3_soci_error& e) {
    const std::string message = e.get_error_message();
    return Failed(s, state, SqliteKind(e.result(), message), message);
  } catch (const soci::soci_error& e) {
    const std::string message = e.get_error_message();
    return Failed(s, state, KindFromMessage(message), message);
  } catch (const std::exception& e) {
    return Failed(s, state, KindFromMessage(e.what()), e.what());
  }
  state.last_used = absl::Now();
  if (st.ok()) {
    if (!available()) MarkUp();
    return st;
  }
  // Code that talks to the driver directly (usage's bulk insert) returns the
  // driver's error as a status: a lost connection shows in a ping.
  if (url_.backend == Backend::kMySql &&
      (absl::IsInternal(st) || absl::IsUnknown(st) || absl::IsUnavailable(st)) &&
      !s.is_connected()) {
    return Failed(s, state, DbErrorKind::kConnection, st.message());
  }
  return st;
}

absl::Status Database::MakeUsable(soci::session& s, Session& state) {
  if (url_.backend != Backend::kMySql) return absl::OkStatus();
  if (!state.lost) {
    const uint64_t generation = loss_generation_.load(std::memory_order_acquire);
    const bool suspect = state.checked_generation != generation;
    const bool idle = absl::Now() - state.last_used >= options_.idle_check_after;
    if (!suspect && !idle) return absl::OkStatus();
    state.checked_generation = generation;
    if (s.is_connected()) return absl::OkStatus();
    state.lost = true;
    // Found by the idle check: tell the other sessions to look too.
    if (!suspect) loss_generation_.fetch_add(1, std::memory_order_acq_rel);
  }
  return Reconnect(s, state);
}

absl::Status Database::Reconnect(soci::session& s, Session& state) {
  const absl::Time now = options_.clock->Now();
  {
    absl::MutexLock l(&mu_);
    if (!available_.load(std::memory_order_relaxed)) {
      if (now < next_attempt_) return absl::UnavailableError(DownMessage(now));
      // This caller tries; the others fail at once meanwhile.
      next_attempt_ = now + backoff_;
    }
  }
  std::string cause;
  try {
    Connect(s, /*reopen=*/true);
  } catch (const soci::soci_error& e) {
    cause = OneLine(e.get_error_message());
  } catch (const std::exception& e) {
    cause = OneLine(e.what());
  }
  if (!cause.empty()) {
    try {
      s.close();
    } catch (...) {
    }
    state.lost = true;
    if (observer_ != nullptr) observer_->OnReconnect(false);
    MarkDown(cause);
    absl::MutexLock l(&mu_);
    return absl::UnavailableError(DownMessage(now));
  }
  state.lost = false;
  state.checked_generation = loss_generation_.load(std::memory_order_acquire);
  state.last_used = absl::Now();
  if (observer_ != nullptr) observer_->OnReconnect(true);
  MarkUp();
  return absl::OkStatus();
}

absl::Status Database::Failed(soci::session& s, Session& state, DbErrorKind kind,
                              absl::string_view message) {
  const std::string text = OneLine(message);
  const bool mysql = url_.backend == Backend::kMySql;
  // soci reports some failures of a dead connection without a code: a
  // failed ping tells them from a statement the server refused.
  if (mysql && kind == DbErrorKind::kQuery && !s.is_connected()) kind = DbErrorKind::kConnection;
  if (observer_ != nullptr) observer_->OnError(kind);
  switch (kind) {
    case DbErrorKind::kQuery:
      return absl::InternalError(absl::StrCat("database: ", text));
    case DbErrorKind::kBusy:
      return absl::UnavailableError(absl::StrCat(
          "database busy: ", text, " (another transaction held a lock too long; retry)"));
    case DbErrorKind::kConnection:
      break;
  }
  if (!mysql) return absl::UnavailableError(absl::StrCat("database unavailable: ", text));
  state.lost = true;
  loss_generation_.fetch_add(1, std::memory_order_acq_rel);
  // Reopen at once: often only connections died (a quick server restart,
  // an idle timeout) and the next call finds this session working. While the
  // server stays away the backoff decides, and this marks the database down.
  (void)Reconnect(s, state);
  return absl::UnavailableError(
      absl::StrCat("database connection lost during the call (", text,
                   "); the service reconnects by itself, retry the call"));
}

void Database::MarkDown(absl::string_view cause) {
  const absl::Time now = options_.clock->Now();
  bool changed = false;
  {
    absl::MutexLock l(&mu_);
    last_cause_ = std::string(cause);
    if (available_.load(std::memory_order_relaxed)) {
      available_.store(false, std::memory_order_release);
      down_since_ = now;
      backoff_ = options_.reconnect_initial_backoff;
      changed = true;
    } else {
      backoff_ = std::min(backoff_ * 2, options_.reconnect_max_backoff);
    }
    next_attempt_ = now + backoff_ * absl::Uniform(jitter_, 0.8, 1.0);
  }
  if (changed) NotifyAvailability(cause);
}

void Database::MarkUp() {
  {
    absl::MutexLock l(&mu_);
    if (available_.load(std::memory_order_relaxed)) return;
    available_.store(true, std::memory_order_release);
    backoff_ = options_.reconnect_initial_backoff;
  }
  NotifyAvailability("");
}

void Database::NotifyAvailability(absl::string_view cause) {
  if (observer_ == nullptr) return;
  absl::MutexLock n(&notify_mu_);
  const bool up = available();
  observer_->OnAvailability(up, up ? "" : cause);
}

std::string Database::DownMessage(absl::Time now) {
  return absl::StrCat(
      "database unavailable for ",
      absl::FormatDuration(absl::Trunc(now - down_since_, absl::Milliseconds(100))), " (",
      last_cause_, "); reconnecting in the background, next attempt in ",
      absl::FormatDuration(
          absl::Trunc(std::max(next_attempt_ - now, absl::ZeroDuration()), absl::Milliseconds(10))),
      "; retry later");
}

absl::Status Database::InTransaction(const std::function<absl::Status(soci::session&)>& fn) {
  const bool mysql = url_.backend == Backend::kMySql;
  return Run([&](soci::session& s) -> absl::Status {
    // SQLite: IMMEDIATE takes the write lock up front (waiting up to the busy
    // timeout), so two writers never deadlock upgrading a read lock.
    s << (mysql ? "START TRANSACTION" : "BEGIN IMMEDIATE");
    absl::Status st;
    try {
      st = fn(s);
    } catch (...) {
      try {
        s << "ROLLBACK";
      } catch (...) {
      }
      throw;
    }
    if (st.ok()) {
      s << "COMMIT";
    } else {
      s << "ROLLBACK";
    }
    return st;
  });
}

}  // namespace aigw::db
