#include "libs/providers/retry_after.h"

#include <cmath>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"

namespace aigw::providers {
namespace {

// Nobody means a wait longer than a day; the cap also keeps the arithmetic
// far from overflow.
constexpr double kMaxMs = 86400.0 * 1000;

int64_t CeilMs(double ms) {
  if (ms <= 0) return 0;
  if (ms > kMaxMs) ms = kMaxMs;
  return static_cast<int64_t>(std::ceil(ms));
}

bool IsNumber(absl::string_view s) {
  if (s.empty()) return false;
  int dots = 0;
  for (char c : s) {
    if (c == '.') {
      if (++dots > 1) return false;
    } else if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) {
      return false;
    }
  }
  return s != ".";
}

}  // namespace

std::optional<int64_t> ParseRetryAfterMs(absl::string_view header, absl::Time now) {
  header = absl::StripAsciiWhitespace(header);
  if (header.empty()) return std::nullopt;
  if (IsNumber(header)) {
    double seconds;
    if (!absl::SimpleAtod(header, &seconds)) return std::nullopt;
    return CeilMs(seconds * 1000);
  }
  // RFC 9110 section 5.6.7: senders use IMF-fixdate; recipients also accept
  // the two obsolete forms.
  static constexpr const char* kFormats[] = {
      "%a, %d %b %Y %H:%M:%S GMT",  // Sun, 06 Nov 1994 08:49:37 GMT
      "%A, %d-%b-%y %H:%M:%S GMT",  // Sunday, 06-Nov-94 08:49:37 GMT
      "%a %b %e %H:%M:%S %Y",       // Sun Nov  6 08:49:37 1994
  };
  const std::string text(header);
  for (const char* format : kFormats) {
    absl::Time when;
    std::string error;
    if (absl::ParseTime(format, text, absl::UTCTimeZone(), &when, &error)) {
      return CeilMs(absl::ToDoubleMilliseconds(when - now));
    }
  }
  return std::nullopt;
}

std::optional<int64_t> ParseResetDurationMs(absl::string_view value) {
  value = absl::StripAsciiWhitespace(value);
  if (value.empty()) return std::nullopt;
  if (value == "0") return 0;
  double total_ms = 0;
  size_t pos = 0;
  while (pos < value.size()) {
    size_t start = pos;
    while (pos < value.size() &&
           (absl::ascii_isdigit(static_cast<unsigned char>(value[pos])) || value[pos] == '.')) {
      ++pos;
    }
    absl::string_view number = value.substr(start, pos - start);
    start = pos;
    while (pos < value.size() && !absl::ascii_isdigit(static_cast<unsigned char>(value[pos])) &&
           value[pos] != '.') {
      ++pos;
    }
    absl::string_view unit = value.substr(start, pos - start);
    double amount;
    if (!IsNumber(number) || !absl::SimpleAtod(number, &amount)) return std::nullopt;
    double unit_ms;
    if (unit == "h") {
      unit_ms = 3600e3;
    } else if (unit == "m") {
      unit_ms = 60e3;
    } else if (unit == "s") {
      unit_ms = 1e3;
    } else if (unit == "ms") {
      unit_ms = 1;
    } else if (unit == "us" || unit == "\xC2\xB5s" || unit == "\xCE\xBCs") {
      unit_ms = 1e-3;
    } else if (unit == "ns") {
      unit_ms = 1e-6;
    } else {
      return std::nullopt;
    }
    total_ms += amount * unit_ms;
    if (total_ms > kMaxMs) return static_cast<int64_t>(kMaxMs);
  }
  return CeilMs(total_ms);
}

}  // namespace aigw::providers
