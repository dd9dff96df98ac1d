#ifndef AIGW_TESTS_TESTING_TABLE_COLUMNS_H_
#define AIGW_TESTS_TESTING_TABLE_COLUMNS_H_

#include <ostream>
#include <string>
#include <vector>

#include "libs/db/column.h"
#include "libs/db/database.h"

namespace aigw::testing {

// A column of a table as the database reports it, so that a description
// (libs/db/column.h) can be checked against what the migrations made.
struct TableColumn {
  std::string name;
  // SQLite: the declared type ("VARCHAR(64)", "BIGINT"). MySQL: the column
  // type without integer display widths ("varchar(64)", "bigint",
  // "tinyint(1)", "decimal(20,9)", "datetime(3)", "text").
  std::string type;
  bool nullable = false;

  bool operator==(const TableColumn&) const = default;
};
void PrintTo(const TableColumn& c, std::ostream* os);

// The columns of `table` in definition order (empty when there is no such
// table); failures are reported to gtest.
std::vector<TableColumn> ReadTableColumns(db::Database& db, const std::string& table);

// What a described column must be on `backend` (schema.cc's placeholders).
TableColumn ExpectedColumn(const db::ColumnSpec& column, db::Backend backend);

// The expected columns of a whole description.
template <typename Row>
std::vector<TableColumn> ExpectedColumns(absl::Span<const db::Column<Row>> columns,
                                         db::Backend backend) {
  std::vector<TableColumn> out;
  for (const db::Column<Row>& c : columns) out.push_back(ExpectedColumn(c, backend));
  return out;
}

}  // namespace aigw::testing

#endif  // AIGW_TESTS_TESTING_TABLE_COLUMNS_H_
