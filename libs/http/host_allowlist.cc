#include "libs/http/host_allowlist.h"

#include <curl/curl.h>

#include <algorithm>
#include <memory>

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

// Lowercase, no [brackets] around an IPv6 address, no trailing dot.
std::string NormalizeHost(absl::string_view host) {
  if (absl::StartsWith(host, "[") && absl::EndsWith(host, "]")) {
    host = host.substr(1, host.size() - 2);
  }
  absl::ConsumeSuffix(&host, ".");
  return absl::AsciiStrToLower(host);
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
  if (out.empty()) {
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
    const bool bracketed = absl::StartsWith(entry, "[") && absl::EndsWith(entry, "]");
    if (absl::StrContains(entry, "://") || absl::StrContains(entry, '/') ||
        absl::StrContains(entry, '@') || absl::StrContains(entry, '?') ||
        absl::StrContains(entry, '%') || absl::StrContains(entry, ' ') ||
        (!bracketed && std::count(entry.begin(), entry.end(), ':') == 1)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "provider host allow-list entry '", entry,
          "' must be a host name or address alone (no scheme, port or path), e.g. api.openai.com"));
    }
    if (absl::StartsWith(entry, "*.")) {
      const std::string domain = NormalizeHost(entry.substr(2));
      if (domain.empty() || absl::StrContains(domain, '*')) {
        return absl::InvalidArgumentError(
            absl::StrCat("provider host allow-list entry '", entry, "' has no domain after *."));
      }
      out.suffixes_.push_back(absl::StrCat(".", domain));
      continue;
    }
    if (absl::StrContains(entry, '*')) {
      return absl::InvalidArgumentError(absl::StrCat(
          "provider host allow-list entry '", entry, "': '*' only as a leading '*.' is allowed"));
    }
    out.exact_.push_back(NormalizeHost(entry));
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
