#include "services/usage/sql_literal.h"

#include "absl/strings/match.h"
#include "soci/soci.h"

namespace aigw::usage {

absl::StatusOr<SqlQuoter> SqlQuoter::ForDatabase(db::Database& db) {
  if (db.backend() != db::Backend::kMySql) return SqlQuoter(false);
  std::string mode;
  absl::Status st = db.Run([&](soci::session& s) {
    soci::indicator ind;
    s << "SELECT @@SESSION.sql_mode", soci::into(mode, ind);
    if (ind != soci::i_ok) mode.clear();
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  return SqlQuoter(!absl::StrContains(mode, "NO_BACKSLASH_ESCAPES"));
}

void SqlQuoter::Append(absl::string_view text, std::string* out) const {
  out->push_back('\'');
  for (char c : text) {
    switch (c) {
      case '\'':
        out->append("''");
        break;
      case '\\':
        out->append(backslash_escapes_ ? "\\\\" : "\\");
        break;
      case '\0':
        break;
      default:
        out->push_back(c);
    }
  }
  out->push_back('\'');
}

std::string SqlQuoter::Quote(absl::string_view text) const {
  std::string out;
  out.reserve(text.size() + 2);
  Append(text, &out);
  return out;
}

void SqlQuoter::AppendOrNull(absl::string_view text, std::string* out) const {
  if (text.empty()) {
    out->append("NULL");
  } else {
    Append(text, out);
  }
}

}  // namespace aigw::usage
