#include "libs/db/migrations.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "soci/soci.h"

namespace aigw::db {
namespace {

constexpr char kLedger[] = "aigw_schema_migrations";

absl::Status EnsureLedger(soci::session& s, Backend b) {
  s << absl::StrCat("CREATE TABLE IF NOT EXISTS ", kLedger,
                    " (version INT NOT NULL PRIMARY KEY, description VARCHAR(255) NOT NULL, "
                    "applied_at VARCHAR(32) NOT NULL)",
                    b == Backend::kMySql ? " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4" : "");
  return absl::OkStatus();
}

int MaxVersion(soci::session& s) {
  int version = 0;
  soci::indicator ind;
  s << absl::StrCat("SELECT MAX(version) FROM ", kLedger), soci::into(version, ind);
  return ind == soci::i_ok ? version : 0;
}

}  // namespace

absl::StatusOr<int> CurrentSchemaVersion(Database& db) {
  int version = 0;
  absl::Status st = db.Run([&](soci::session& s) {
    absl::Status ledger = EnsureLedger(s, db.backend());
    if (!ledger.ok()) return ledger;
    version = MaxVersion(s);
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  return version;
}

absl::StatusOr<std::vector<int>> ApplyMigrations(Database& db) {
  std::vector<int> applied;
  const bool mysql = db.backend() == Backend::kMySql;
  absl::Status st = db.Run([&](soci::session& s) -> absl::Status {
    absl::Status ledger = EnsureLedger(s, db.backend());
    if (!ledger.ok()) return ledger;
    // MySQL DDL is not transactional: a named lock keeps concurrent starters
    // out while one of them migrates. SQLite's BEGIN IMMEDIATE below is the
    // lock there.
    if (mysql) {
      int got = 0;
      s << "SELECT GET_LOCK('aigw_schema_migrations', 120)", soci::into(got);
      if (got != 1) {
        return absl::DeadlineExceededError(
            "another process held the schema migration lock for 120 s");
      }
    }
    absl::Status result;
    for (const Migration& m : AllMigrations()) {
      s << (mysql ? "START TRANSACTION" : "BEGIN IMMEDIATE");
      try {
        if (MaxVersion(s) >= m.version) {
          s << "COMMIT";
          continue;
        }
        for (const std::string& sql : m.statements(db.backend())) s << sql;
        const std::string now = absl::FormatTime("%Y-%m-%d %H:%M:%S", absl::Now(), absl::UTCTimeZone());
        s << absl::StrCat("INSERT INTO ", kLedger, " (version, description, applied_at) VALUES (:v, :d, :t)"),
            soci::use(m.version), soci::use(m.description), soci::use(now);
        s << "COMMIT";
        applied.push_back(m.version);
      } catch (const soci::soci_error& e) {
        try {
          s << "ROLLBACK";
        } catch (...) {
        }
        result = absl::InternalError(absl::StrCat("schema migration ", m.version, " (",
                                                  m.description, ") failed: ",
                                                  OneLine(e.get_error_message())));
        break;
      }
    }
    if (mysql) {
      int released = 0;
      s << "SELECT RELEASE_LOCK('aigw_schema_migrations')", soci::into(released);
    }
    return result;
  });
  if (!st.ok()) return st;
  return applied;
}

}  // namespace aigw::db
