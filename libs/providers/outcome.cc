#include "libs/providers/outcome.h"

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

Verdict VerdictFor(ErrorClass error_class) {
  switch (error_class) {
    case ErrorClass::kRateLimited:
      return {aigw::v1::RATE_LIMITED, NextStep::kRetryOtherKey};
    case ErrorClass::kKeyRejected:
      return {aigw::v1::AUTH_FAILED, NextStep::kRetryOtherKey};
    case ErrorClass::kKeyForbidden:
      return {aigw::v1::PERMISSION_DENIED, NextStep::kRetryOtherKey};
    case ErrorClass::kProviderForbidden:
      return {aigw::v1::PERMISSION_DENIED, NextStep::kNextTarget};
    case ErrorClass::kServerError:
      return {aigw::v1::SERVER_ERROR, NextStep::kRetrySameKey};
    case ErrorClass::kRequestRefused:
      break;
  }
  return {aigw::v1::CLIENT_ERROR, NextStep::kGiveUp};
}

aigw::v1::Outcome ClassifyAttempt(const absl::Status& transport, int http_status) {
  if (!transport.ok()) return aigw::v1::NETWORK_ERROR;
  if (http_status >= 200 && http_status < 300) return aigw::v1::SUCCESS;
  if (http_status >= 300 && http_status < 400) return aigw::v1::SERVER_ERROR;
  return VerdictFor(ClassifyError(http_status, "", "")).outcome;
}

NextStep NextStepFor(aigw::v1::Outcome outcome) {
  switch (outcome) {
    case aigw::v1::RATE_LIMITED:
    case aigw::v1::AUTH_FAILED:
    case aigw::v1::PERMISSION_DENIED:
      return NextStep::kRetryOtherKey;
    case aigw::v1::SERVER_ERROR:
    case aigw::v1::NETWORK_ERROR:
      return NextStep::kRetrySameKey;
    default:
      return NextStep::kGiveUp;
  }
}

std::optional<aigw::v1::Outcome> OutcomeForErrorCode(absl::string_view code) {
  struct Code {
    absl::string_view name;
    aigw::v1::Outcome outcome;
  };
  static constexpr Code kCodes[] = {
      {error_code::kTimeout, aigw::v1::NETWORK_ERROR},
      {error_code::kBadResponse, aigw::v1::SERVER_ERROR},
      {error_code::kResponseTooLarge, aigw::v1::SERVER_ERROR},
      {error_code::kRedirect, aigw::v1::SERVER_ERROR},
      {error_code::kStreamInterrupted, aigw::v1::NETWORK_ERROR},
      {error_code::kStreamTooLong, aigw::v1::NETWORK_ERROR},
      {error_code::kStreamTooLarge, aigw::v1::CLIENT_ERROR},
      {error_code::kClientTooSlow, aigw::v1::CLIENT_ERROR},
      {error_code::kCancelled, aigw::v1::CLIENT_ERROR},
      {error_code::kNoAvailableKeys, aigw::v1::NOT_SENT},
      {error_code::kKeypoolUnavailable, aigw::v1::NOT_SENT},
      {error_code::kHostNotAllowed, aigw::v1::NOT_SENT},
      {error_code::kUnsupportedCapability, aigw::v1::NOT_SENT},
  };
  aigw::v1::Outcome named;
  if (aigw::v1::Outcome_Parse(std::string(code), &named) &&
      named != aigw::v1::OUTCOME_UNSPECIFIED) {
    return named;
  }
  for (const Code& c : kCodes) {
    if (c.name == code) return c.outcome;
  }
  return std::nullopt;
}

KeyVerdict KeyVerdictFor(aigw::v1::Outcome outcome) {
  switch (outcome) {
    case aigw::v1::SUCCESS:
    case aigw::v1::CLIENT_ERROR:
      return KeyVerdict::kWorks;
    case aigw::v1::RATE_LIMITED:
      return KeyVerdict::kRateLimited;
    case aigw::v1::AUTH_FAILED:
      return KeyVerdict::kRejected;
    case aigw::v1::PERMISSION_DENIED:
      return KeyVerdict::kRefusedRequest;
    case aigw::v1::SERVER_ERROR:
    case aigw::v1::NETWORK_ERROR:
      return KeyVerdict::kFailing;
    default:
      return KeyVerdict::kNothing;
  }
}

}  // namespace aigw::providers
