#include "services/admin/input_checks.h"

#include <curl/curl.h>

#include <cmath>
#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace aigw::admin {
namespace {

absl::Status Invalid(absl::string_view field, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(field, " ", why));
}

bool HasControlOrSpace(absl::string_view s) {
  for (unsigned char c : s) {
    if (c <= 0x20 || c == 0x7f) return true;
  }
  return false;
}

struct CurlUrlDeleter {
  void operator()(CURLU* u) const { curl_url_cleanup(u); }
};

// One part of a parsed URL; empty when absent.
std::string UrlPart(CURLU* u, CURLUPart part) {
  char* value = nullptr;
  if (curl_url_get(u, part, &value, 0) != CURLUE_OK || value == nullptr) return "";
  std::string out(value);
  curl_free(value);
  return out;
}

}  // namespace

absl::Status CheckProviderCode(absl::string_view code) {
  if (code.empty()) return Invalid("provider_code", "is required");
  if (code.size() > 64) return Invalid("provider_code", "is longer than 64 characters");
  for (size_t i = 0; i < code.size(); ++i) {
    const char c = code[i];
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (alnum || (i > 0 && (c == '-' || c == '_'))) continue;
    return Invalid("provider_code",
                   absl::StrCat("'", code, "' must be lowercase letters, digits, '-' and '_', "
                                           "starting with a letter or digit"));
  }
  return absl::OkStatus();
}

absl::Status CheckBaseUrl(absl::string_view url, const http::HostAllowlist* allowed_hosts) {
  if (url.empty()) return Invalid("base_url", "is required");
  if (url.size() > 512) return Invalid("base_url", "is longer than 512 characters");
  if (HasControlOrSpace(url)) return Invalid("base_url", "contains whitespace");
  const std::string lower = absl::AsciiStrToLower(url);
  if (lower.rfind("http://", 0) != 0 && lower.rfind("https://", 0) != 0) {
    return Invalid("base_url", absl::StrCat("'", url, "' is not an http(s) URL"));
  }
  // curl reads "https:///v1" as host "v1"; an operator meant something else.
  const size_t authority = lower.find("://") + 3;
  if (authority >= lower.size() || lower[authority] == '/') {
    return Invalid("base_url", absl::StrCat("'", url, "' has no host"));
  }
  std::unique_ptr<CURLU, CurlUrlDeleter> u(curl_url());
  const std::string text(url);
  if (u == nullptr || curl_url_set(u.get(), CURLUPART_URL, text.c_str(), 0) != CURLUE_OK) {
    return Invalid("base_url", absl::StrCat("'", url, "' is not a valid URL"));
  }
  // libcurl also takes hosts such as ".." that no one can mean (nor list in
  // --provider_host_allowlist); UrlHost does not.
  if (UrlPart(u.get(), CURLUPART_HOST).empty() || !http::UrlHost(url).ok()) {
    return Invalid("base_url", absl::StrCat("'", url, "' has no host"));
  }
  if (!UrlPart(u.get(), CURLUPART_USER).empty() || !UrlPart(u.get(), CURLUPART_PASSWORD).empty()) {
    return Invalid("base_url", "must not carry credentials (API keys are stored as keys)");
  }
  if (!UrlPart(u.get(), CURLUPART_QUERY).empty() || !UrlPart(u.get(), CURLUPART_FRAGMENT).empty() ||
      text.find('?') != std::string::npos || text.find('#') != std::string::npos) {
    return Invalid("base_url", "must not have a query or fragment (API paths are appended to it)");
  }
  if (allowed_hosts != nullptr) {
    // An admin could otherwise send a provider's keys, and every prompt, to
    // a host of their choosing.
    if (absl::Status st = allowed_hosts->Check(url); !st.ok()) {
      return Invalid("base_url", absl::StrCat("'", url, "': ", st.message()));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> NormalizeApiFormat(absl::string_view format) {
  std::string f = absl::AsciiStrToLower(absl::StripAsciiWhitespace(format));
  if (f.empty()) return std::string("openai");
  if (f == "openai" || f == "anthropic") return f;
  return Invalid("api_format", absl::StrCat("'", format, "' must be openai or anthropic"));
}

absl::StatusOr<std::string> NormalizeKeyPolicy(absl::string_view policy) {
  std::string p = absl::AsciiStrToLower(absl::StripAsciiWhitespace(policy));
  if (p.empty()) return std::string("strict");
  if (p == "strict" || p == "lru") return p;
  return Invalid("key_policy", absl::StrCat("'", policy, "' must be strict or lru"));
}

absl::Status CheckName(absl::string_view field, absl::string_view value, size_t max_len) {
  if (absl::StripAsciiWhitespace(value).empty()) return Invalid(field, "must not be empty");
  if (value.size() > max_len) return Invalid(field, absl::StrCat("is longer than ", max_len, " bytes"));
  for (unsigned char c : value) {
    if (c < 0x20 || c == 0x7f) return Invalid(field, "contains control characters");
  }
  return absl::OkStatus();
}

absl::Status CheckModelCode(absl::string_view code) {
  if (code.empty()) return Invalid("model_code", "is required");
  if (code.size() > 128) return Invalid("model_code", "is longer than 128 characters");
  if (HasControlOrSpace(code)) return Invalid("model_code", "contains whitespace");
  return absl::OkStatus();
}

absl::Status CheckSecret(absl::string_view secret) {
  // The value itself never appears in a message.
  if (secret.empty()) return Invalid("api_key", "is required");
  if (secret.size() > 512) return Invalid("api_key", "is longer than 512 characters");
  if (HasControlOrSpace(secret)) return Invalid("api_key", "contains whitespace");
  return absl::OkStatus();
}

absl::Status CheckLimit(absl::string_view field, int64_t value) {
  if (value < 0) return Invalid(field, absl::StrCat("must be 0 (unlimited) or more, not ", value));
  return absl::OkStatus();
}

absl::Status CheckTokenCount(absl::string_view field, int64_t value) {
  if (value < 0) return Invalid(field, absl::StrCat("must be 0 or more, not ", value));
  return absl::OkStatus();
}

absl::StatusOr<int64_t> PriceToNanos(absl::string_view field, double usd) {
  if (!std::isfinite(usd)) return Invalid(field, "must be a finite number");
  if (usd < 0) return Invalid(field, absl::StrCat("must not be negative (", usd, ")"));
  if (usd > 1e6) return Invalid(field, absl::StrCat("is out of range (", usd, " USD per 1K tokens)"));
  return static_cast<int64_t>(std::llround(usd * 1e9));
}

double NanosToPrice(int64_t nanos) { return static_cast<double>(nanos) / 1e9; }

absl::Status CheckSettableKeyStatus(absl::string_view status) {
  if (status == "normal" || status == "disabled") return absl::OkStatus();
  return Invalid("status", absl::StrCat("'", status,
                                        "' must be normal or disabled (invalid and rate_limited "
                                        "are set by the keypool and ValidateKey)"));
}

}  // namespace aigw::admin
