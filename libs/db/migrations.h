#ifndef AIGW_LIBS_DB_MIGRATIONS_H_
#define AIGW_LIBS_DB_MIGRATIONS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "libs/db/database.h"

namespace aigw::db {

// One schema change, written for both backends.
struct Migration {
  int version;
  std::string description;
  std::vector<std::string> (*statements)(Backend backend);
};

// Every migration, oldest first. Versions only ever grow; a released
// migration is never edited, a new one is appended.
const std::vector<Migration>& AllMigrations();

// Applies the migrations newer than the recorded schema version, each with
// its version row, under a lock so that several services starting at once
// apply each exactly once. Returns the versions applied now (empty: the
// schema was current).
absl::StatusOr<std::vector<int>> ApplyMigrations(Database& db);

// The highest version recorded in aigw_schema_migrations (0 if none).
absl::StatusOr<int> CurrentSchemaVersion(Database& db);

}  // namespace aigw::db

#endif  // AIGW_LIBS_DB_MIGRATIONS_H_
