#ifndef AIGW_LIBS_DB_COLUMN_H_
#define AIGW_LIBS_DB_COLUMN_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "libs/db/db_time.h"
#include "libs/db/dialect.h"

// A table's columns described once, ClickHouse-style: a constant array of
// Column<Row> (name, storage type, nullability, size and the field of the
// in-memory row that holds the value) that every writer and reader of the
// table walks, so a column is added, renamed or resized in one place. A
// description is the table as it is now; the migrations that made it stay
// as they were written (tests check the two agree on both backends).
namespace aigw::db {

// How a column's values are stored, with the SQL type each backend gives it
// (schema.cc's placeholders) and the C++ type of the row field.
enum class ColumnType {
  kVarchar,  // VARCHAR(max_chars) / std::string
  kText,     // TEXT (cut to max_chars by whoever fills the row) / std::string
  kWord,     // VARCHAR(max_chars) holding one of two words / bool
  kInt,      // INT / int32_t
  kBigInt,   // BIGINT / int64_t
  kBool,     // TINYINT(1) on MySQL, INTEGER on SQLite: 0 or 1 / bool
  kMoney,    // DECIMAL(20,9) / NUMERIC: exact decimal text in SQL, int64_t nano-units in code
  kTime,     // DATETIME(3) / TEXT: 'YYYY-MM-DD HH:MM:SS.mmm' UTC in SQL, absl::Time in code
};

// Text columns only: whether an empty value is stored as NULL (and NULL read
// back as empty). Every other column is NOT NULL.
enum class Nulls { kNotNull, kEmptyIsNull };

// What a column is, whatever row type holds it.
struct ColumnSpec {
  const char* name = nullptr;
  ColumnType type = ColumnType::kBigInt;
  Nulls nulls = Nulls::kNotNull;
  // Text and words: the most characters the column holds.
  size_t max_chars = 0;

  bool is_text() const { return type == ColumnType::kVarchar || type == ColumnType::kText; }
  bool nullable() const { return nulls == Nulls::kEmptyIsNull; }
};

// A column plus the field of `Row` that holds its value: exactly one field
// pointer is set, the one of its type. Built with the constexpr factories.
template <typename Row>
struct Column : ColumnSpec {
  std::string Row::*text = nullptr;  // kVarchar, kText
  int32_t Row::*int32 = nullptr;     // kInt
  int64_t Row::*int64 = nullptr;     // kBigInt, kMoney (nano-units)
  bool Row::*flag = nullptr;         // kBool, kWord
  absl::Time Row::*time = nullptr;   // kTime
  // kMoney, kTime (optional): the value already as its SQL text, made by
  // whoever built the row (off the writer's thread); empty when not made.
  std::string Row::*sql_text = nullptr;
  // kWord: the words stored for true and for false.
  const char* word_true = nullptr;
  const char* word_false = nullptr;

  static constexpr Column Varchar(const char* name, std::string Row::*field, size_t max_chars,
                                  Nulls nulls = Nulls::kNotNull) {
    return Spec(name, ColumnType::kVarchar, nulls, max_chars).Set(&Column::text, field);
  }
  static constexpr Column Text(const char* name, std::string Row::*field, size_t max_chars,
                               Nulls nulls = Nulls::kNotNull) {
    return Spec(name, ColumnType::kText, nulls, max_chars).Set(&Column::text, field);
  }
  static constexpr Column Word(const char* name, bool Row::*field, const char* word_true,
                               const char* word_false, size_t max_chars) {
    return Spec(name, ColumnType::kWord, Nulls::kNotNull, max_chars)
        .Set(&Column::flag, field)
        .Set(&Column::word_true, word_true)
        .Set(&Column::word_false, word_false);
  }
  static constexpr Column Int(const char* name, int32_t Row::*field) {
    return Spec(name, ColumnType::kInt).Set(&Column::int32, field);
  }
  static constexpr Column BigInt(const char* name, int64_t Row::*field) {
    return Spec(name, ColumnType::kBigInt).Set(&Column::int64, field);
  }
  static constexpr Column Bool(const char* name, bool Row::*field) {
    return Spec(name, ColumnType::kBool).Set(&Column::flag, field);
  }
  static constexpr Column Money(const char* name, int64_t Row::*nanos,
                                std::string Row::*sql_text = nullptr) {
    return Spec(name, ColumnType::kMoney)
        .Set(&Column::int64, nanos)
        .Set(&Column::sql_text, sql_text);
  }
  static constexpr Column Time(const char* name, absl::Time Row::*field,
                               std::string Row::*sql_text = nullptr) {
    return Spec(name, ColumnType::kTime).Set(&Column::time, field).Set(&Column::sql_text, sql_text);
  }

 private:
  static constexpr Column Spec(const char* name, ColumnType type, Nulls nulls = Nulls::kNotNull,
                               size_t max_chars = 0) {
    Column c;
    static_cast<ColumnSpec&>(c) = ColumnSpec{name, type, nulls, max_chars};
    return c;
  }
  // This column with one more member set.
  template <typename Value>
  constexpr Column Set(Value Column::*member, Value value) const {
    Column c = *this;
    c.*member = value;
    return c;
  }
};

// "a, b, c": the names in order, for INSERT and SELECT lists.
template <typename Row>
std::string ColumnNames(absl::Span<const Column<Row>> columns) {
  return absl::StrJoin(columns, ", ",
                       [](std::string* out, const Column<Row>& c) { out->append(c.name); });
}

// What a reader selects for a column whose stored value is `value` (the
// column's name, or an aggregate over it): NULL text as '', money as integer
// nano-units, times as text (RowReader reads these).
std::string ReadExpression(const ColumnSpec& column, const Dialect& dialect,
                           absl::string_view value);
inline std::string ReadExpression(const ColumnSpec& column, const Dialect& dialect) {
  return ReadExpression(column, dialect, column.name);
}

// The select list of ReadExpression of each column, in order.
template <typename Row>
std::string ReadExpressions(absl::Span<const Column<Row>> columns, const Dialect& dialect) {
  return absl::StrJoin(columns, ", ", [&](std::string* out, const Column<Row>& c) {
    out->append(ReadExpression(c, dialect));
  });
}

// A kMoney or kTime value as the SQL text both backends take ("0.000001500",
// "2026-03-10 12:00:00.000"): the row's ready-made text when it has one,
// else made into `scratch`.
template <typename Row>
const std::string& SqlText(const Column<Row>& column, const Row& row, std::string* scratch) {
  if (column.sql_text != nullptr && !(row.*column.sql_text).empty()) return row.*column.sql_text;
  *scratch = column.type == ColumnType::kMoney ? NanosToDecimal(row.*column.int64)
                                               : FormatDbTime(row.*column.time);
  return *scratch;
}

}  // namespace aigw::db

#endif  // AIGW_LIBS_DB_COLUMN_H_
