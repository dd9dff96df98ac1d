#include "libs/db/database_url.h"

#include <algorithm>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "libs/common/env_flags.h"

namespace aigw::db {
namespace {

// Percent-decoding for the user:password part of a URL.
std::string PercentDecode(absl::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    int hi, lo;
    auto hex = [](char c) {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    if (s[i] == '%' && i + 2 < s.size() &&
        (hi = hex(s[i + 1])) >= 0 && (lo = hex(s[i + 2])) >= 0) {
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

// soci's mysql connect string quotes values with spaces or quotes.
std::string SociQuote(absl::string_view v) {
  if (v.find_first_of(" '\\") == absl::string_view::npos && !v.empty()) {
    return std::string(v);
  }
  std::string out = "'";
  for (char c : v) {
    if (c == '\'' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('\'');
  return out;
}

// soci's key=value form ("host=... db=... password=..."): the text before the
// first '=' is a key. A URL's password may hold '=' too ("mysql://u:a=b@h/db").
bool IsSociForm(absl::string_view rest) {
  rest = absl::StripLeadingAsciiWhitespace(rest);
  const size_t eq = rest.find('=');
  if (eq == absl::string_view::npos || eq == 0) return false;
  for (char c : rest.substr(0, eq)) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  }
  return true;
}

// soci's key=value connect string for messages, each password shown as ***.
// Read as soci's MySQL backend reads it: name=value pairs apart by spaces, a
// value a word or '...' with backslash escapes. From a part that is no pair
// on, nothing is shown ("..."): soci will refuse it anyway.
std::string SociDisplay(absl::string_view rest) {
  std::string out;
  size_t i = 0;
  while (true) {
    while (i < rest.size() && rest[i] == ' ') ++i;
    if (i == rest.size()) break;
    const absl::string_view sep = out.empty() ? "" : " ";
    const size_t eq = rest.find('=', i);
    const absl::string_view name =
        rest.substr(i, eq == absl::string_view::npos ? absl::string_view::npos : eq - i);
    if (eq == absl::string_view::npos || absl::StrContains(name, ' ')) {
      absl::StrAppend(&out, sep, "...");
      break;
    }
    const size_t value_start = eq + 1;
    i = value_start;
    if (i < rest.size() && rest[i] == '\'') {
      for (++i; i < rest.size() && rest[i] != '\''; ++i) {
        if (rest[i] == '\\') ++i;  // the escaped character
      }
      i = std::min(i + 1, rest.size());
    } else {
      while (i < rest.size() && rest[i] != ' ') ++i;
    }
    const bool secret = name == "password" || name == "pass";
    absl::StrAppend(&out, sep, name, "=",
                    secret ? "***" : rest.substr(value_start, i - value_start));
  }
  return out;
}

// `url` for an error message: the password of "scheme://user:password@..."
// replaced with ***.
std::string RedactUrl(absl::string_view url) {
  const size_t scheme = url.find("://");
  const size_t at = url.rfind('@');
  if (scheme == absl::string_view::npos || at == absl::string_view::npos || at < scheme) {
    return std::string(url);
  }
  const size_t colon = url.substr(0, at).find(':', scheme + 3);
  if (colon == absl::string_view::npos) return std::string(url);
  return absl::StrCat(url.substr(0, colon + 1), "***", url.substr(at));
}

absl::StatusOr<DatabaseUrl> ParseMySql(absl::string_view rest, absl::string_view url) {
  DatabaseUrl out;
  out.backend = Backend::kMySql;
  if (IsSociForm(rest)) {
    out.connect_string = std::string(rest);
    out.display = absl::StrCat("mysql://", SociDisplay(rest));
    if (!absl::StrContains(rest, "db=") && !absl::StrContains(rest, "dbname=")) {
      return absl::InvalidArgumentError(absl::StrCat(
          "database URL ", out.display, " names no database (add db=NAME)"));
    }
    return out;
  }
  // user:pass@host:port/db
  absl::string_view auth, hostpart = rest;
  if (size_t at = rest.rfind('@'); at != absl::string_view::npos) {
    auth = rest.substr(0, at);
    hostpart = rest.substr(at + 1);
  }
  size_t slash = hostpart.find('/');
  if (slash == absl::string_view::npos || slash + 1 >= hostpart.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "database URL '", RedactUrl(url), "' names no database: expected mysql://user:password@host:port/dbname"));
  }
  absl::string_view hostport = hostpart.substr(0, slash);
  absl::string_view dbname = hostpart.substr(slash + 1);
  if (size_t q = dbname.find('?'); q != absl::string_view::npos) dbname = dbname.substr(0, q);
  absl::string_view host = hostport, port = "3306";
  if (size_t colon = hostport.rfind(':'); colon != absl::string_view::npos) {
    host = hostport.substr(0, colon);
    port = hostport.substr(colon + 1);
  }
  int port_num = 0;
  if (host.empty() || !absl::SimpleAtoi(port, &port_num) || port_num <= 0 || port_num > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(
        "database URL '", RedactUrl(url), "': bad host or port (expected mysql://user:password@host:port/dbname)"));
  }
  std::string user, pass;
  if (!auth.empty()) {
    std::vector<absl::string_view> up = absl::StrSplit(auth, absl::MaxSplits(':', 1));
    user = PercentDecode(up[0]);
    if (up.size() > 1) pass = PercentDecode(up[1]);
  }
  out.connect_string = absl::StrCat("host=", SociQuote(host), " port=", port_num,
                                    " db=", SociQuote(dbname));
  if (!user.empty()) absl::StrAppend(&out.connect_string, " user=", SociQuote(user));
  if (!pass.empty()) absl::StrAppend(&out.connect_string, " password=", SociQuote(pass));
  // A server that does not answer (a host gone from the network) fails a
  // reconnect attempt after 5 s instead of the system's TCP timeout.
  absl::StrAppend(&out.connect_string, " charset=utf8mb4 connect_timeout=5");
  out.display = absl::StrCat("mysql://", user.empty() ? "" : absl::StrCat(user, pass.empty() ? "" : ":***", "@"),
                             host, ":", port_num, "/", dbname);
  return out;
}

}  // namespace

absl::StatusOr<DatabaseUrl> DatabaseUrl::Parse(absl::string_view url) {
  constexpr absl::string_view kSqlite = "sqlite3://";
  constexpr absl::string_view kSqliteShort = "sqlite://";
  constexpr absl::string_view kMySql = "mysql://";
  constexpr absl::string_view kMariaDb = "mariadb://";
  if (absl::StartsWith(url, kSqlite) || absl::StartsWith(url, kSqliteShort)) {
    absl::string_view path = url.substr(absl::StartsWith(url, kSqlite) ? kSqlite.size() : kSqliteShort.size());
    if (path.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "database URL '", url, "' names no file (e.g. sqlite3://var/aigw.db)"));
    }
    DatabaseUrl out;
    out.backend = Backend::kSqlite;
    out.sqlite_path = std::string(path);
    // sqlite3 timeout is in seconds: how long a writer waits for the lock.
    out.connect_string = absl::StrCat("db=", SociQuote(path), " timeout=30");
    out.display = std::string(url);
    return out;
  }
  if (absl::StartsWith(url, kMySql)) return ParseMySql(url.substr(kMySql.size()), url);
  if (absl::StartsWith(url, kMariaDb)) return ParseMySql(url.substr(kMariaDb.size()), url);
  return absl::InvalidArgumentError(absl::StrCat(
      "database URL '", RedactUrl(url),
      "' is not understood: use sqlite3://PATH or mysql://user:password@host:port/dbname"));
}

std::string DatabaseUrl::FromLegacyEnv() {
  std::string host = GetEnvOr("DB_HOST", "");
  if (host.empty()) return "";
  std::string user = GetEnvOr("DB_USERNAME", "root");
  std::string pass = GetEnvOr("DB_PASSWORD", "");
  // The soci key=value form needs no percent-encoding of the password.
  return absl::StrCat("mysql://host=", SociQuote(host), " port=", GetEnvOr("DB_PORT", "3306"),
                      " db=", SociQuote(GetEnvOr("DB_DATABASE", "aigw")), " user=", SociQuote(user),
                      pass.empty() ? "" : absl::StrCat(" password=", SociQuote(pass)),
                      " charset=utf8mb4 connect_timeout=5");
}

}  // namespace aigw::db
