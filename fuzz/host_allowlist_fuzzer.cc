// The provider host allow-list (libs/http/host_allowlist) and admin's
// base_url check (services/admin/input_checks CheckBaseUrl), on an arbitrary
// list and URL: the list is an operator's flag, the URL what an admin (or a
// hand-edited database row) makes the gateway send keys and prompts to.
//
// Input: the list, a NUL byte, the URL.
//
// A list that parses prints as one that parses to the same list, and allows
// exactly the hosts it allowed. A URL that Check lets through names a host
// the list allows (or the list is empty); UrlHost's host is lowercase,
// without brackets or a trailing dot. A base_url that CheckBaseUrl accepts
// under the list keeps its host when an adapter joins an API path to it
// (JoinUrl), so the host the admin's check saw is the one the request goes
// to.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "fuzz/nul_split.h"
#include "libs/http/host_allowlist.h"
#include "libs/providers/adapter.h"
#include "services/admin/input_checks.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto parts = aigw::fuzz::SplitAtFirstNul(data, size);
  if (!parts.has_value()) return -1;
  const auto [list_text, url] = *parts;

  absl::StatusOr<aigw::http::HostAllowlist> list = aigw::http::HostAllowlist::Parse(list_text);
  if (!list.ok()) {
    if (list.status().code() != absl::StatusCode::kInvalidArgument) abort();
    return 0;
  }
  absl::StatusOr<aigw::http::HostAllowlist> again =
      aigw::http::HostAllowlist::Parse(list->ToString());
  if (!again.ok() || again->ToString() != list->ToString()) {
    fprintf(stderr, "list '%s' prints as '%s', which does not parse back\n",
            std::string(list_text).c_str(), list->ToString().c_str());
    abort();
  }

  absl::StatusOr<std::string> host = aigw::http::UrlHost(url);
  if (host.ok()) {
    if (host->empty() || absl::AsciiStrToLower(*host) != *host || absl::EndsWith(*host, ".") ||
        absl::StartsWith(*host, "[")) {
      abort();
    }
    if (list->Allows(*host) != again->Allows(*host)) abort();
  }
  const absl::Status checked = list->Check(url);
  if (checked.ok() && !list->empty() && (!host.ok() || !list->Allows(*host))) {
    fprintf(stderr, "'%s' passed the list '%s'\n", std::string(url).c_str(),
            list->ToString().c_str());
    abort();
  }
  if (!checked.ok() && checked.code() != absl::StatusCode::kFailedPrecondition) abort();

  const absl::Status base_url = aigw::admin::CheckBaseUrl(url, &*list);
  if (base_url.ok()) {
    if (!checked.ok() || !host.ok()) abort();
    for (absl::string_view path : {"/chat/completions", "/v1/messages", "/models"}) {
      absl::StatusOr<std::string> sent_to =
          aigw::http::UrlHost(aigw::providers::JoinUrl(url, path));
      if (!sent_to.ok() || *sent_to != *host) {
        fprintf(stderr, "base_url '%s' names host %s, but %s goes to %s\n",
                std::string(url).c_str(), host->c_str(), std::string(path).c_str(),
                sent_to.ok() ? sent_to->c_str() : "no host");
        abort();
      }
    }
  } else if (base_url.code() != absl::StatusCode::kInvalidArgument) {
    abort();
  }
  return 0;
}
