#include "libs/providers/error_class.h"

#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"

namespace aigw::providers {

ErrorClass ClassifyError(int http_status, absl::string_view type, absl::string_view code,
                         absl::string_view message) {
  if (http_status == 429) return ErrorClass::kRateLimited;
  if (http_status >= 500 || http_status == 408 || http_status == 409) {
    return ErrorClass::kServerError;
  }
  const std::string type_lower = absl::AsciiStrToLower(type);
  const std::string code_lower = absl::AsciiStrToLower(code);
  auto says = [&](absl::string_view word) {
    return absl::StrContains(type_lower, word) || absl::StrContains(code_lower, word);
  };
  // A key named bad is bad whatever the status (some OpenAI-compatible
  // servers answer 400 or 403 for it).
  if (http_status == 401 || says("authentication") || says("invalid_api_key")) {
    return ErrorClass::kKeyRejected;
  }
  if (http_status == 403) {
    if (says("unsupported_country") || says("region") || says("territory") ||
        (type.empty() && code.empty() &&
         absl::StrContains(absl::AsciiStrToLower(message), "country, region, or territory"))) {
      return ErrorClass::kProviderForbidden;
    }
    return ErrorClass::kKeyForbidden;
  }
  return ErrorClass::kRequestRefused;
}

}  // namespace aigw::providers
