#include "services/usage/sql_literal.h"

#include "absl/strings/match.h"
#include "soci/soci.h"

namespace aigw::usage {
namespace {

// Length of the valid UTF-8 sequence starting at s[i], or 0 if invalid.
size_t Utf8SequenceLength(absl::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  if (c < 0x80) return 1;
  size_t len;
  unsigned char lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;  // no UTF-16 surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  if (b(i + 1) < lo || b(i + 1) > hi) return 0;
  for (size_t k = 2; k < len; ++k) {
    if (b(i + k) < 0x80 || b(i + k) > 0xBF) return 0;
  }
  return len;
}

}  // namespace

size_t Utf8Length(absl::string_view text) {
  size_t n = 0;
  for (char c : text) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  }
  return n;
}

std::string CleanUtf8(absl::string_view text, size_t max_chars) {
  std::string out;
  out.reserve(std::min(text.size(), max_chars * 4));
  size_t chars = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t len = Utf8SequenceLength(text, i);
    absl::string_view piece = len == 0 ? absl::string_view("\xEF\xBF\xBD") : text.substr(i, len);
    i += len == 0 ? 1 : len;
    if (piece.size() == 1 && piece[0] == '\0') continue;
    if (chars == max_chars) break;
    out.append(piece.data(), piece.size());
    ++chars;
  }
  return out;
}

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
