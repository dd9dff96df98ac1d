#include "libs/db/column.h"

#include "absl/strings/str_cat.h"

namespace aigw::db {

std::string ReadExpression(const ColumnSpec& c, const Dialect& d, absl::string_view value) {
  switch (c.type) {
    case ColumnType::kVarchar:
    case ColumnType::kText:
      return c.nullable() ? absl::StrCat("COALESCE(", value, ",'')") : std::string(value);
    case ColumnType::kMoney:
      return d.DecimalToNanos(value);
    case ColumnType::kTime:
      return d.is_mysql() ? absl::StrCat("CAST(", value, " AS CHAR)") : std::string(value);
    default:
      return std::string(value);
  }
}

}  // namespace aigw::db
