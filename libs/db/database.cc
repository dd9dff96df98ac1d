#include "libs/db/database.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "soci/connection-pool.h"
#include "soci/mysql/soci-mysql.h"
#include "soci/soci.h"
#include "soci/sqlite3/soci-sqlite3.h"

namespace aigw::db {

std::string OneLine(absl::string_view text) {
  std::string s = absl::StrReplaceAll(text, {{"\r", " "}, {"\n", " "}, {"\t", " "}});
  while (s.find("  ") != std::string::npos) s = absl::StrReplaceAll(s, {{"  ", " "}});
  return std::string(absl::StripAsciiWhitespace(s));
}

Database::Database(DatabaseUrl url, int pool_size)
    : url_(std::move(url)),
      pool_size_(pool_size),
      dialect_(std::make_unique<Dialect>(url_.backend)) {}

Database::~Database() = default;

absl::StatusOr<std::unique_ptr<Database>> Database::Open(const DatabaseUrl& url, int pool_size) {
  if (url.backend == Backend::kSqlite && url.sqlite_path == ":memory:") pool_size = 1;
  if (pool_size < 1) pool_size = 1;
  if (url.backend == Backend::kSqlite && url.sqlite_path != ":memory:") {
    std::filesystem::path parent = std::filesystem::path(url.sqlite_path).parent_path();
    std::error_code ec;
    if (!parent.empty()) std::filesystem::create_directories(parent, ec);
    if (ec) {
      return absl::FailedPreconditionError(absl::StrCat(
          "cannot create directory ", parent.string(), " for database ", url.display,
          ": ", ec.message()));
    }
  }
  std::unique_ptr<Database> db(new Database(url, pool_size));
  db->pool_ = std::make_unique<soci::connection_pool>(pool_size);
  for (int i = 0; i < pool_size; ++i) {
    soci::session& s = db->pool_->at(i);
    try {
      if (url.backend == Backend::kSqlite) {
        s.open(*soci::factory_sqlite3(), url.connect_string);
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
        s.open(*soci::factory_mysql(), url.connect_string);
        s << "SET time_zone = '+00:00'";
      }
    } catch (const soci::soci_error& e) {
      return absl::UnavailableError(absl::StrCat(
          "cannot open database ", url.display, ": ", OneLine(e.get_error_message())));
    } catch (const std::exception& e) {
      return absl::UnavailableError(
          absl::StrCat("cannot open database ", url.display, ": ", OneLine(e.what())));
    }
  }
  return db;
}

absl::Status Database::Run(const std::function<absl::Status(soci::session&)>& fn) {
  soci::session s(*pool_);
  try {
    return fn(s);
  } catch (const soci::mysql_soci_error& e) {
    // 2006 server gone, 2013 lost connection: reconnect so the next call on
    // this pooled session works again.
    if (e.err_num_ == 2006 || e.err_num_ == 2013) {
      try {
        s.reconnect();
        s << "SET time_zone = '+00:00'";
      } catch (...) {
      }
      return absl::UnavailableError(absl::StrCat("database: ", OneLine(e.get_error_message())));
    }
    return absl::InternalError(absl::StrCat("database: ", OneLine(e.get_error_message())));
  } catch (const soci::soci_error& e) {
    return absl::InternalError(absl::StrCat("database: ", OneLine(e.get_error_message())));
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("database: ", OneLine(e.what())));
  }
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
