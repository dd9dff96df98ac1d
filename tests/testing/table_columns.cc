#include "tests/testing/table_columns.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "soci/soci.h"

namespace aigw::testing {

void PrintTo(const TableColumn& c, std::ostream* os) {
  *os << c.name << " " << c.type << (c.nullable ? " NULL" : " NOT NULL");
}

std::vector<TableColumn> ReadTableColumns(db::Database& db, const std::string& table) {
  std::vector<TableColumn> out;
  absl::Status st = db.Run([&](soci::session& s) {
    if (db.backend() == db::Backend::kSqlite) {
      std::string name, type;
      int not_null = 0;
      soci::statement q =
          (s.prepare << "SELECT name, type, \"notnull\" FROM pragma_table_info(:t)",
           soci::use(table), soci::into(name), soci::into(type), soci::into(not_null));
      q.execute();
      while (q.fetch()) out.push_back({name, type, not_null == 0});
      return absl::OkStatus();
    }
    std::string name, data_type, column_type, nullable;
    soci::statement q =
        (s.prepare << "SELECT column_name, data_type, column_type, is_nullable FROM "
                      "information_schema.columns WHERE table_schema = DATABASE() AND "
                      "table_name = :t ORDER BY ordinal_position",
         soci::use(table), soci::into(name), soci::into(data_type), soci::into(column_type),
         soci::into(nullable));
    q.execute();
    while (q.fetch()) {
      // MariaDB reports INT as int(11), MySQL 8 as int.
      const bool plain = data_type == "int" || data_type == "bigint";
      out.push_back(
          {name, absl::AsciiStrToLower(plain ? data_type : column_type), nullable == "YES"});
    }
    return absl::OkStatus();
  });
  EXPECT_TRUE(st.ok()) << st;
  return out;
}

TableColumn ExpectedColumn(const db::ColumnSpec& c, db::Backend backend) {
  const bool my = backend == db::Backend::kMySql;
  std::string type;
  switch (c.type) {
    case db::ColumnType::kVarchar:
    case db::ColumnType::kWord:
      type = absl::StrCat(my ? "varchar(" : "VARCHAR(", c.max_chars, ")");
      break;
    case db::ColumnType::kText:
      type = my ? "text" : "TEXT";
      break;
    case db::ColumnType::kInt:
      type = my ? "int" : "INT";
      break;
    case db::ColumnType::kBigInt:
      type = my ? "bigint" : "BIGINT";
      break;
    case db::ColumnType::kBool:
      type = my ? "tinyint(1)" : "INTEGER";
      break;
    case db::ColumnType::kMoney:
      type = my ? "decimal(20,9)" : "NUMERIC";
      break;
    case db::ColumnType::kTime:
      type = my ? "datetime(3)" : "TEXT";
      break;
  }
  return {c.name, type, c.nullable()};
}

}  // namespace aigw::testing
