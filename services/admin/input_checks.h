#ifndef AIGW_SERVICES_ADMIN_INPUT_CHECKS_H_
#define AIGW_SERVICES_ADMIN_INPUT_CHECKS_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "libs/http/host_allowlist.h"

namespace aigw::admin {

// The rules for what operators send; each failure is INVALID_ARGUMENT naming
// the field.

// Lowercase letters, digits, '-' and '_', starting with a letter or digit;
// at most 64 characters.
absl::Status CheckProviderCode(absl::string_view code);
// An absolute http or https URL with a host, and neither credentials, query
// nor fragment (the API paths are appended to it); at most 512 characters.
// With `allowed_hosts` (--provider_host_allowlist), its host must be on it.
absl::Status CheckBaseUrl(absl::string_view url,
                          const http::HostAllowlist* allowed_hosts = nullptr);
// "openai" | "anthropic", case-insensitive; "" gives "openai". Returns the
// lowercase form.
absl::StatusOr<std::string> NormalizeApiFormat(absl::string_view format);
// "strict" | "lru", case-insensitive; "" gives "strict".
absl::StatusOr<std::string> NormalizeKeyPolicy(absl::string_view policy);
// Not empty or blank, no control characters, at most `max_len` bytes.
absl::Status CheckName(absl::string_view field, absl::string_view value, size_t max_len);
// A model id as providers spell them ("gpt-4o", "claude-3-5-sonnet-20241022",
// "accounts/x/models/y"): no whitespace or control characters, at most 128.
absl::Status CheckModelCode(absl::string_view code);
// An API key: not empty, no whitespace or control characters, at most 512.
absl::Status CheckSecret(absl::string_view secret);
// Rate limits: 0 (unlimited) or more.
absl::Status CheckLimit(absl::string_view field, int64_t value);
// Token counts of a model: 0 (unknown) or more.
absl::Status CheckTokenCount(absl::string_view field, int64_t value);
// A price in USD per 1K tokens as integer nano-dollars: finite, not
// negative, at most one million dollars.
absl::StatusOr<int64_t> PriceToNanos(absl::string_view field, double usd);
double NanosToPrice(int64_t nanos);
// normal | disabled: what an operator may set (invalid and rate_limited come
// from the keypool and ValidateKey).
absl::Status CheckSettableKeyStatus(absl::string_view status);

}  // namespace aigw::admin

#endif  // AIGW_SERVICES_ADMIN_INPUT_CHECKS_H_
