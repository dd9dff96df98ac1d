#ifndef AIGW_LIBS_DB_ROW_READER_H_
#define AIGW_LIBS_DB_ROW_READER_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "libs/db/column.h"
#include "libs/db/db_time.h"
#include "soci/soci.h"

namespace aigw::db {

// Reads rows of described columns from a soci statement into a `Row`: the
// statement selects ReadExpression of each column, in order; Bind adds one
// `into` per column (text and number fields straight into the row, bools,
// words and times into cells), and Complete, after each fetch, turns the
// cells into the row's fields.
template <typename Row>
class RowReader {
 public:
  explicit RowReader(absl::Span<const Column<Row>> columns)
      : columns_(columns), ints_(columns.size()), texts_(columns.size()) {}

  RowReader(const RowReader&) = delete;
  RowReader& operator=(const RowReader&) = delete;

  // `row` must outlive the statement's fetches.
  void Bind(soci::statement& st, Row* row) {
    row_ = row;
    for (size_t i = 0; i < columns_.size(); ++i) {
      const Column<Row>& c = columns_[i];
      switch (c.type) {
        case ColumnType::kVarchar:
        case ColumnType::kText:
          st.exchange(soci::into(row->*c.text));
          break;
        case ColumnType::kInt:
          st.exchange(soci::into(row->*c.int32));
          break;
        case ColumnType::kBigInt:
        case ColumnType::kMoney:
          st.exchange(soci::into(row->*c.int64));
          break;
        case ColumnType::kBool:
          st.exchange(soci::into(ints_[i]));
          break;
        case ColumnType::kWord:
        case ColumnType::kTime:
          st.exchange(soci::into(texts_[i]));
          break;
      }
    }
  }

  // INTERNAL for a stored time it cannot read.
  absl::Status Complete() {
    for (size_t i = 0; i < columns_.size(); ++i) {
      const Column<Row>& c = columns_[i];
      switch (c.type) {
        case ColumnType::kBool:
          row_->*c.flag = ints_[i] != 0;
          break;
        case ColumnType::kWord:
          row_->*c.flag = texts_[i] == c.word_true;
          break;
        case ColumnType::kTime:
          if (!ParseDbTime(texts_[i], &(row_->*c.time))) {
            return absl::InternalError(
                absl::StrCat("unreadable time '", texts_[i], "' in the database"));
          }
          break;
        default:
          break;
      }
    }
    return absl::OkStatus();
  }

 private:
  absl::Span<const Column<Row>> columns_;
  Row* row_ = nullptr;
  std::vector<int> ints_;
  std::vector<std::string> texts_;
};

}  // namespace aigw::db

#endif  // AIGW_LIBS_DB_ROW_READER_H_
