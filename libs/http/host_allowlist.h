#ifndef AIGW_LIBS_HTTP_HOST_ALLOWLIST_H_
#define AIGW_LIBS_HTTP_HOST_ALLOWLIST_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace aigw::http {

// The hosts aigw may send provider requests to (--provider_host_allowlist).
// Without it an admin can point a provider's base_url at any host and so
// receive its keys and every prompt sent to it; with it, admin refuses such
// a base_url and the gateway and admin refuse to send to such a host even
// when the database row was edited by hand.
//
// The host is the one libcurl connects to: URLs are parsed with libcurl's
// own parser, so "https://api.openai.com@evil.example/" is evil.example and
// is refused. Matching is exact and case-insensitive (a trailing dot
// ignored); "*.example.com" allows every subdomain of example.com, not
// example.com itself. An empty list allows every host.
class HostAllowlist {
 public:
  // Comma-separated hostnames or IP addresses ("api.openai.com,
  // *.openai.azure.com, 10.0.0.7"), spaces around entries ignored.
  // INVALID_ARGUMENT for an entry that is a URL, carries a port or a path,
  // or is empty between commas.
  static absl::StatusOr<HostAllowlist> Parse(absl::string_view list);

  bool empty() const { return exact_.empty() && suffixes_.empty(); }

  // OK when the list is empty or `url`'s host is on it; otherwise
  // FAILED_PRECONDITION (the provider's configuration is outside the
  // policy) naming the host and the flag. A URL with no host that
  // libcurl can parse is refused too (unless the list is empty).
  absl::Status Check(absl::string_view url) const;

  // Whether `host` (no port, no brackets) is on the list.
  bool Allows(absl::string_view host) const;

  // The entries, comma-separated, for logs.
  std::string ToString() const;

 private:
  std::vector<std::string> exact_;
  // ".example.com" for "*.example.com".
  std::vector<std::string> suffixes_;
};

// The host libcurl would connect to for `url`, lowercased, without brackets
// or a trailing dot; INVALID_ARGUMENT when libcurl cannot parse it or it has
// no host, or a host that is neither a name (labels between single dots) nor
// an IPv6 address.
absl::StatusOr<std::string> UrlHost(absl::string_view url);

}  // namespace aigw::http

#endif  // AIGW_LIBS_HTTP_HOST_ALLOWLIST_H_
