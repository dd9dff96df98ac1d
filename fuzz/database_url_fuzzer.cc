// DatabaseUrl::Parse on arbitrary text: no crash, and the password never
// shows, neither in `display` (logged at startup) nor in an error message.
//
// The password is found in the input by the documented forms: the
// "password=" / "pass=" value of the soci key=value form (quoted or not), or
// what follows the first ':' before the last '@' of a URL. A piece of it
// counts when the same URL with another password does not show it too (a
// password equal to the host name, or to a word of the parser's hints).

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "libs/db/database_url.h"

namespace {

constexpr size_t kPiece = 6;  // a leaked piece this long counts

// True when `rest` (after "mysql://") is soci's key=value form, as
// DatabaseUrl documents it: it starts with a key and '='. Written here again
// on purpose: the parser's own test would not see it take a URL for that form.
bool IsSociForm(absl::string_view rest) {
  rest = absl::StripLeadingAsciiWhitespace(rest);
  const size_t eq = rest.find('=');
  if (eq == absl::string_view::npos || eq == 0) return false;
  for (char c : rest.substr(0, eq)) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  }
  return true;
}

// Where in `url` a password may be, as [begin, end) offsets.
std::vector<std::pair<size_t, size_t>> PasswordSpans(absl::string_view url) {
  std::vector<std::pair<size_t, size_t>> spans;
  // SQLite has no password: its URL is a path, shown as it is.
  if (absl::StartsWith(url, "sqlite")) return spans;
  const size_t scheme = url.find("://");
  if (scheme == absl::string_view::npos) return spans;
  const bool mysql = absl::StartsWith(url, "mysql://") || absl::StartsWith(url, "mariadb://");
  if (mysql && IsSociForm(url.substr(scheme + 3))) {
    // name=value pairs apart by spaces; a value is a word or '...' with
    // backslash escapes (soci's MySQL backend); a part with no '=' ends it.
    size_t i = scheme + 3;
    while (i < url.size()) {
      if (url[i] == ' ') {
        ++i;
        continue;
      }
      const size_t eq = url.find('=', i);
      if (eq == absl::string_view::npos || url.substr(i, eq - i).find(' ') != absl::string_view::npos) {
        break;
      }
      const absl::string_view name = url.substr(i, eq - i);
      size_t end = eq + 1;
      if (end < url.size() && url[end] == '\'') {
        ++end;
        while (end < url.size() && url[end] != '\'') end += url[end] == '\\' ? 2 : 1;
        end = std::min(end + 1, url.size());
      } else {
        end = std::min(url.find(' ', end), url.size());
      }
      if (name == "password" || name == "pass") spans.emplace_back(eq + 1, end);
      i = end;
    }
    return spans;
  }
  if (size_t at = url.rfind('@'); at != absl::string_view::npos && at > scheme) {
    absl::string_view auth = url.substr(scheme + 3, at - scheme - 3);
    if (size_t colon = auth.find(':'); colon != absl::string_view::npos) {
      spans.emplace_back(scheme + 3 + colon + 1, at);
    }
  }
  return spans;
}

// What the parser shows of `url`: its display, or its error message.
std::string Shown(absl::string_view url) {
  absl::StatusOr<aigw::db::DatabaseUrl> parsed = aigw::db::DatabaseUrl::Parse(url);
  return parsed.ok() ? parsed->display : std::string(parsed.status().message());
}

// True when `shown` holds a piece of the password at `span` that the same
// URL with another password does not show: that piece came from the
// password.
bool Leaks(absl::string_view url, std::pair<size_t, size_t> span, absl::string_view shown) {
  const absl::string_view password = url.substr(span.first, span.second - span.first);
  if (password.size() < kPiece) return false;
  std::string other(url);
  // Another password of the same shape: quotes kept, so the parts after it
  // stay as they were.
  const size_t keep_front = password.front() == '\'' ? 1 : 0;
  const size_t keep_back = password.size() > 1 && password.back() == '\'' ? 1 : 0;
  other.replace(span.first + keep_front, password.size() - keep_front - keep_back,
                password.size() - keep_front - keep_back, '\x01');
  const std::string shown_other = Shown(other);
  for (size_t i = 0; i + kPiece <= password.size(); ++i) {
    const absl::string_view piece = password.substr(i, kPiece);
    if (absl::StrContains(shown, piece) && !absl::StrContains(shown_other, piece)) return true;
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view url(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<aigw::db::DatabaseUrl> parsed = aigw::db::DatabaseUrl::Parse(url);
  std::string shown;
  if (parsed.ok()) {
    if (parsed->connect_string.empty() || parsed->display.empty()) abort();
    if (parsed->backend == aigw::db::Backend::kSqlite && parsed->sqlite_path.empty()) abort();
    shown = parsed->display;
  } else {
    if (parsed.status().code() != absl::StatusCode::kInvalidArgument) abort();
    shown = std::string(parsed.status().message());
  }
  for (const auto& span : PasswordSpans(url)) {
    if (Leaks(url, span, shown)) {
      fprintf(stderr, "password shown: %s\n", shown.c_str());
      abort();
    }
  }
  return 0;
}
