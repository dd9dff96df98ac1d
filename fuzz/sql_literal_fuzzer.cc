// usage::SqlQuoter, which writes callers' and providers' text (user ids,
// user agents, error messages, model names) into the SQL text of the usage
// service's bulk INSERTs, on arbitrary bytes, in both of its modes.
//
// Input: the first byte's low bit picks MySQL's backslash escapes (on / off,
// NO_BACKSLASH_ESCAPES and SQLite); the rest is the text.
//
// Read back as the backend's lexer reads a string literal, the quoted text is
// exactly the text without its NUL bytes, and the literal ends at its last
// byte (so no text can end it early and go on as SQL); it holds an even
// number of quotes (a scanner that only toggles on quotes, as soci's
// placeholder scanner does, is outside the literal after it, so a ":name"
// in the text is never taken for a parameter); AppendOrNull writes NULL for
// empty text and appends the same literal otherwise.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "services/usage/sql_literal.h"

namespace {

// The text of the string literal at the start of `sql` as MySQL (with
// backslash escapes) or standard SQL reads it, and the offset just past its
// closing quote; nullopt when it does not start with a quote or never ends.
std::optional<std::pair<std::string, size_t>> ReadLiteral(absl::string_view sql,
                                                          bool backslash_escapes) {
  if (sql.empty() || sql[0] != '\'') return std::nullopt;
  std::string text;
  size_t i = 1;
  while (i < sql.size()) {
    const char c = sql[i];
    if (c == '\'') {
      if (i + 1 < sql.size() && sql[i + 1] == '\'') {
        text.push_back('\'');
        i += 2;
        continue;
      }
      return std::make_pair(text, i + 1);
    }
    if (backslash_escapes && c == '\\') {
      if (i + 1 >= sql.size()) return std::nullopt;
      // MySQL's escapes (String Literals, table 11.1); \% and \_ keep the
      // backslash, any other escaped character stands for itself.
      const char e = sql[i + 1];
      switch (e) {
        case '0': text.push_back('\0'); break;
        case 'b': text.push_back('\b'); break;
        case 'n': text.push_back('\n'); break;
        case 'r': text.push_back('\r'); break;
        case 't': text.push_back('\t'); break;
        case 'Z': text.push_back('\x1a'); break;
        case '%': case '_': text.push_back('\\'); text.push_back(e); break;
        default: text.push_back(e);
      }
      i += 2;
      continue;
    }
    text.push_back(c);
    ++i;
  }
  return std::nullopt;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return -1;
  const bool backslash_escapes = (data[0] & 1) != 0;
  const absl::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  const aigw::usage::SqlQuoter quoter(backslash_escapes);

  const std::string literal = quoter.Quote(text);
  std::string expected(text);
  std::erase(expected, '\0');
  const auto read = ReadLiteral(literal, backslash_escapes);
  if (!read.has_value() || read->first != expected || read->second != literal.size()) {
    fprintf(stderr, "literal %s does not read back as the text (backslash escapes %d)\n",
            literal.c_str(), backslash_escapes);
    abort();
  }
  if (std::count(literal.begin(), literal.end(), '\'') % 2 != 0) abort();

  std::string appended = "x";
  quoter.AppendOrNull(text, &appended);
  if (appended != (text.empty() ? std::string("xNULL") : "x" + literal)) abort();
  return 0;
}
