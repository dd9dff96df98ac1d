#ifndef AIGW_SERVICES_USAGE_SQL_LITERAL_H_
#define AIGW_SERVICES_USAGE_SQL_LITERAL_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "libs/db/column.h"
#include "libs/db/database.h"

namespace aigw::usage {

// Quotes text as an SQL string literal. The usage service writes its bulk
// statements as literal multi-row INSERTs: one statement for hundreds of rows
// is what makes ingestion fast, and binding thousands of parameters through
// soci would cost more than the insert itself.
//
// Quotes are doubled (standard SQL, and the form soci's placeholder scanner
// understands: a backslash-escaped quote would make it see ":x" inside a
// literal as a parameter). MySQL's backslash is doubled unless the session
// runs with NO_BACKSLASH_ESCAPES. NUL bytes are dropped (SQLite cannot carry
// them in statement text). Other bytes pass as they are: the text must be
// valid UTF-8 already (BuildRow cleans every field of a call), or a strict
// utf8mb4 column refuses the whole batch.
class SqlQuoter {
 public:
  // Reads the session's sql_mode on MySQL.
  static absl::StatusOr<SqlQuoter> ForDatabase(db::Database& db);
  explicit SqlQuoter(bool backslash_escapes) : backslash_escapes_(backslash_escapes) {}

  void Append(absl::string_view text, std::string* out) const;
  std::string Quote(absl::string_view text) const;
  // NULL for empty text.
  void AppendOrNull(absl::string_view text, std::string* out) const;

 private:
  bool backslash_escapes_;
};

// The value of a described column of `row` as an SQL literal: text quoted
// (NULL for empty text where the column takes NULL), numbers and money as
// they are, bools as 1 / 0, times quoted.
template <typename Row>
void AppendLiteral(const db::Column<Row>& c, const Row& row, const SqlQuoter& quoter,
                   std::string* out) {
  switch (c.type) {
    case db::ColumnType::kVarchar:
    case db::ColumnType::kText:
      if (c.nullable()) {
        quoter.AppendOrNull(row.*c.text, out);
      } else {
        quoter.Append(row.*c.text, out);
      }
      break;
    case db::ColumnType::kWord:
      quoter.Append(row.*c.flag ? c.word_true : c.word_false, out);
      break;
    case db::ColumnType::kInt:
      absl::StrAppend(out, row.*c.int32);
      break;
    case db::ColumnType::kBigInt:
      absl::StrAppend(out, row.*c.int64);
      break;
    case db::ColumnType::kBool:
      out->push_back(row.*c.flag ? '1' : '0');
      break;
    case db::ColumnType::kMoney: {
      std::string scratch;
      out->append(db::SqlText(c, row, &scratch));
      break;
    }
    case db::ColumnType::kTime: {
      // The time text holds no quote to escape.
      std::string scratch;
      absl::StrAppend(out, "'", db::SqlText(c, row, &scratch), "'");
      break;
    }
  }
}

// "(v1,v2,...)": the described columns of `row` as one row of a multi-row
// INSERT.
template <typename Row>
void AppendRowLiteral(absl::Span<const db::Column<Row>> columns, const Row& row,
                      const SqlQuoter& quoter, std::string* out) {
  out->push_back('(');
  for (size_t i = 0; i < columns.size(); ++i) {
    if (i > 0) out->push_back(',');
    AppendLiteral(columns[i], row, quoter, out);
  }
  out->push_back(')');
}

}  // namespace aigw::usage

#endif  // AIGW_SERVICES_USAGE_SQL_LITERAL_H_
