#include "libs/http/host_allowlist.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>

#include <memory>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace aigw::http {
namespace {

struct CurlUrlDeleter {
  void operator()(CURLU* u) const { curl_url_cleanup(u); }
};

// An IPv6 address as inet_ntop writes it (lowercase, the longest run of
// zeros compressed), so "0:0::1" and libcurl's "::1" compare equal; nullopt
// when `text` is not one.
std::optional<std::string> CanonicalIpv6(absl::string_view text) {
  const std::string s(text);
  in6_addr address;
  char out[INET6_ADDRSTRLEN];
  if (inet_pton(AF_INET6, s.c_str(), &address) != 1 ||
      inet_ntop(AF_INET6, &address, out, sizeof(out)) == nullptr) {
    return std::nullopt;
  }
  return std::string(out);
}

// Lowercase, no [brackets] around an IPv6 address (which is canonical), no
// trailing dot.
std::string NormalizeHost(absl::string_view host) {
  if (absl::StartsWith(host, "[") && absl::EndsWith(host, "]")) {
    host = host.substr(1, host.size() - 2);
  }
  absl::ConsumeSuffix(&host, ".");
  if (absl::StrContains(host, ':')) {
    if (std::optional<std::string> address = CanonicalIpv6(host)) return *std::move(address);
  }
  return absl::AsciiStrToLower(host);
}

// Labels of letters, digits, '-' and '_' (bytes of UTF-8 too, for names
// written in Unicode) between single dots.
bool IsHostName(absl::string_view name) {
  if (name.empty()) return false;
  for (absl::string_view label : absl::StrSplit(name, '.')) {
    if (label.empty()) return false;
    for (unsigned char c : label) {
      if (!absl::ascii_isalnum(c) && c != '-' && c != '_' && c < 0x80) return false;
    }
  }
  return true;
}

// One entry of the list as it is matched: a host ("api.openai.com",
// "10.0.0.7", "::1"), or for "*.example.com" the domain whose subdomains it
// allows.
struct Entry {
  std::string host;
  bool wildcard = false;
};

absl::StatusOr<Entry> ParseEntry(absl::string_view entry) {
  const auto refused = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("provider host allow-list entry '", entry, "' ", why));
  };
  const absl::string_view kNotAHost =
      "must be a host name or address alone (no scheme, port or path), e.g. api.openai.com";
  // Brackets and colons belong to IPv6 addresses only.
  if (entry.find_first_of("[]:") != absl::string_view::npos) {
    const bool bracketed = absl::StartsWith(entry, "[") && absl::EndsWith(entry, "]");
    std::optional<std::string> address =
        CanonicalIpv6(bracketed ? entry.substr(1, entry.size() - 2) : entry);
    if (!address.has_value()) return refused(kNotAHost);
    return Entry{*std::move(address), false};
  }
  absl::string_view name = entry;
  const bool wildcard = absl::ConsumePrefix(&name, "*.");
  if (absl::StrContains(name, '*')) return refused("has a '*' that is not a leading '*.'");
  absl::ConsumeSuffix(&name, ".");
  if (wildcard && name.empty()) return refused("has no domain after *.");
  if (!IsHostName(name)) return refused(kNotAHost);
  return Entry{absl::AsciiStrToLower(name), wildcard};
}

}  // namespace

absl::StatusOr<std::string> UrlHost(absl::string_view url) {
  std::unique_ptr<CURLU, CurlUrlDeleter> u(curl_url());
  const std::string text(url);
  char* host = nullptr;
  if (u == nullptr || curl_url_set(u.get(), CURLUPART_URL, text.c_str(), 0) != CURLUE_OK ||
      curl_url_get(u.get(), CURLUPART_HOST, &host, 0) != CURLUE_OK || host == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("'", url, "' is not a URL with a host"));
  }
  std::string out = NormalizeHost(host);
  curl_free(host);
  // libcurl takes names such as ".." as hosts; no list entry can name one.
  if (!IsHostName(out) && !CanonicalIpv6(out).has_value()) {
    return absl::InvalidArgumentError(absl::StrCat("'", url, "' is not a URL with a host"));
  }
  return out;
}

absl::StatusOr<HostAllowlist> HostAllowlist::Parse(absl::string_view list) {
  HostAllowlist out;
  if (absl::StripAsciiWhitespace(list).empty()) return out;
  for (absl::string_view raw : absl::StrSplit(list, ',')) {
    const absl::string_view entry = absl::StripAsciiWhitespace(raw);
    if (entry.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("provider host allow-list '", list, "' has an empty entry"));
    }
    absl::StatusOr<Entry> parsed = ParseEntry(entry);
    if (!parsed.ok()) return parsed.status();
    if (parsed->wildcard) {
      out.suffixes_.push_back(absl::StrCat(".", parsed->host));
    } else {
      out.exact_.push_back(std::move(parsed->host));
    }
  }
  return out;
}

bool HostAllowlist::Allows(absl::string_view host) const {
  const std::string h = NormalizeHost(host);
  if (h.empty()) return false;
  for (const std::string& e : exact_) {
    if (h == e) return true;
  }
  for (const std::string& s : suffixes_) {
    if (h.size() > s.size() && absl::EndsWith(h, s)) return true;
  }
  return false;
}

absl::Status HostAllowlist::Check(absl::string_view url) const {
  if (empty()) return absl::OkStatus();
  absl::StatusOr<std::string> host = UrlHost(url);
  if (!host.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat(host.status().message(), ": not sent (--provider_host_allowlist is set)"));
  }
  if (Allows(*host)) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      "host ", *host, " is not in the provider host allow-list (--provider_host_allowlist: ",
      ToString(), ")"));
}

std::string HostAllowlist::ToString() const {
  std::vector<std::string> all = exact_;
  for (const std::string& s : suffixes_) all.push_back(absl::StrCat("*", s));
  return absl::StrJoin(all, ",");
}

}  // namespace aigw::http
