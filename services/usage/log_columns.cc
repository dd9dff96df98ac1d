#include "services/usage/log_columns.h"

namespace aigw::usage {

const std::string& LogInsertColumns() {
  static const std::string* const kNames = new std::string(db::ColumnNames<LogRow>(kLogColumns));
  return *kNames;
}

void AppendLogValues(const LogRow& row, const SqlQuoter& quoter, std::string* out) {
  AppendRowLiteral<LogRow>(kLogColumns, row, quoter, out);
}

}  // namespace aigw::usage
