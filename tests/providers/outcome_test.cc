#include "libs/providers/outcome.h"

#include "gtest/gtest.h"

namespace aigw::providers {
namespace {

// The error bodies OpenAI and Anthropic document, by (status, type, code).
TEST(ClassifyErrorTest, OpenAiErrors) {
  EXPECT_EQ(ClassifyError(401, "invalid_request_error", "invalid_api_key"),
            ErrorClass::kKeyRejected);
  // "You must be a member of an organization", "IP not authorized": 401
  // without a code, still the key's.
  EXPECT_EQ(ClassifyError(401, "invalid_request_error", ""), ErrorClass::kKeyRejected);
  EXPECT_EQ(ClassifyError(403, "request_forbidden", "unsupported_country_region_territory"),
            ErrorClass::kProviderForbidden);
  EXPECT_EQ(ClassifyError(403, "", "", "Country, region, or territory not supported"),
            ErrorClass::kProviderForbidden);
  // A project without access to a model.
  EXPECT_EQ(ClassifyError(403, "invalid_request_error", "model_not_found"),
            ErrorClass::kKeyForbidden);
  EXPECT_EQ(ClassifyError(429, "requests", "rate_limit_exceeded"), ErrorClass::kRateLimited);
  EXPECT_EQ(ClassifyError(429, "insufficient_quota", "insufficient_quota"),
            ErrorClass::kRateLimited);
  EXPECT_EQ(ClassifyError(400, "invalid_request_error", ""), ErrorClass::kRequestRefused);
  EXPECT_EQ(ClassifyError(404, "invalid_request_error", "model_not_found"),
            ErrorClass::kRequestRefused);
  EXPECT_EQ(ClassifyError(500, "server_error", ""), ErrorClass::kServerError);
  EXPECT_EQ(ClassifyError(409, "", ""), ErrorClass::kServerError);
}

TEST(ClassifyErrorTest, AnthropicErrors) {
  EXPECT_EQ(ClassifyError(401, "authentication_error", ""), ErrorClass::kKeyRejected);
  EXPECT_EQ(ClassifyError(403, "permission_error", ""), ErrorClass::kKeyForbidden);
  EXPECT_EQ(ClassifyError(429, "rate_limit_error", ""), ErrorClass::kRateLimited);
  EXPECT_EQ(ClassifyError(529, "overloaded_error", ""), ErrorClass::kServerError);
  EXPECT_EQ(ClassifyError(413, "request_too_large", ""), ErrorClass::kRequestRefused);
}

TEST(ClassifyErrorTest, AKeyNamedBadIsRejectedWhateverTheStatus) {
  // OpenAI-compatible servers that answer 400 or 403 for a bad key.
  EXPECT_EQ(ClassifyError(400, "", "invalid_api_key"), ErrorClass::kKeyRejected);
  EXPECT_EQ(ClassifyError(403, "authentication_error", ""), ErrorClass::kKeyRejected);
  // A 403 message alone never makes a key bad.
  EXPECT_EQ(ClassifyError(403, "", "", "Incorrect API key"), ErrorClass::kKeyForbidden);
}

TEST(OutcomeTest, ClassifiesAttempts) {
  EXPECT_EQ(ClassifyAttempt(absl::OkStatus(), 200), aigw::v1::SUCCESS);
  EXPECT_EQ(ClassifyAttempt(absl::OkStatus(), 429), aigw::v1::RATE_LIMITED);
  EXPECT_EQ(ClassifyAttempt(absl::OkStatus(), 401), aigw::v1::AUTH_FAILED);
  EXPECT_EQ(ClassifyAttempt(absl::OkStatus(), 403), aigw::v1::PERMISSION_DENIED);
  EXPECT_EQ(ClassifyAttempt(absl::OkStatus(), 500), aigw::v1::SERVER_ERROR);
  EXPECT_EQ(ClassifyAttempt(absl::OkStatus(), 529), aigw::v1::SERVER_ERROR);
  EXPECT_EQ(ClassifyAttempt(absl::OkStatus(), 408), aigw::v1::SERVER_ERROR);
  EXPECT_EQ(ClassifyAttempt(absl::OkStatus(), 400), aigw::v1::CLIENT_ERROR);
  EXPECT_EQ(ClassifyAttempt(absl::OkStatus(), 404), aigw::v1::CLIENT_ERROR);
  EXPECT_EQ(ClassifyAttempt(absl::UnavailableError("refused"), 0), aigw::v1::NETWORK_ERROR);
  EXPECT_EQ(ClassifyAttempt(absl::DeadlineExceededError("slow"), 0), aigw::v1::NETWORK_ERROR);
}

TEST(OutcomeTest, NextSteps) {
  EXPECT_EQ(NextStepFor(aigw::v1::RATE_LIMITED), NextStep::kRetryOtherKey);
  EXPECT_EQ(NextStepFor(aigw::v1::AUTH_FAILED), NextStep::kRetryOtherKey);
  EXPECT_EQ(NextStepFor(aigw::v1::SERVER_ERROR), NextStep::kRetrySameKey);
  EXPECT_EQ(NextStepFor(aigw::v1::NETWORK_ERROR), NextStep::kRetrySameKey);
  EXPECT_EQ(NextStepFor(aigw::v1::CLIENT_ERROR), NextStep::kGiveUp);
}

providers::UpstreamError Error(int status, std::string type, std::string code = "") {
  providers::UpstreamError e;
  e.http_status = status;
  e.type = std::move(type);
  e.code = std::move(code);
  e.message = "text";
  return e;
}

TEST(OutcomeTest, UpstreamErrorsByWhatTheProviderMeant) {
  auto is = [](providers::UpstreamError e, aigw::v1::Outcome outcome, NextStep next) {
    const Verdict v = ClassifyUpstreamError(e);
    EXPECT_EQ(v.outcome, outcome) << e.http_status << " " << e.type << " " << e.code;
    EXPECT_EQ(v.next, next) << e.http_status << " " << e.type << " " << e.code;
  };
  // The key itself.
  is(Error(401, "invalid_request_error", "invalid_api_key"), aigw::v1::AUTH_FAILED,
     NextStep::kRetryOtherKey);
  is(Error(401, "authentication_error"), aigw::v1::AUTH_FAILED, NextStep::kRetryOtherKey);
  is(Error(403, "authentication_error"), aigw::v1::AUTH_FAILED, NextStep::kRetryOtherKey);
  // A 403 refuses the request: this key for it, or every key from here.
  is(Error(403, "permission_error"), aigw::v1::PERMISSION_DENIED, NextStep::kRetryOtherKey);
  is(Error(403, ""), aigw::v1::PERMISSION_DENIED, NextStep::kRetryOtherKey);
  is(Error(403, "request_forbidden", "unsupported_country_region_territory"),
     aigw::v1::PERMISSION_DENIED, NextStep::kNextTarget);
  is(Error(429, "requests", "rate_limit_exceeded"), aigw::v1::RATE_LIMITED,
     NextStep::kRetryOtherKey);
  is(Error(529, "overloaded_error"), aigw::v1::SERVER_ERROR, NextStep::kRetrySameKey);
  is(Error(400, "invalid_request_error"), aigw::v1::CLIENT_ERROR, NextStep::kGiveUp);
  is(Error(404, "not_found_error"), aigw::v1::CLIENT_ERROR, NextStep::kGiveUp);
}


// What the gateway decides for an attempt is what usage reads back from the
// stored row and what the keypool does with the key: one table for all.
TEST(OutcomeTest, TheHttpStatusMeansTheSameToEveryService) {
  struct Row {
    int status;
    aigw::v1::Outcome outcome;
    KeyVerdict key;
  };
  for (const Row& r : {Row{200, aigw::v1::SUCCESS, KeyVerdict::kWorks},
                       Row{302, aigw::v1::SERVER_ERROR, KeyVerdict::kFailing},
                       Row{400, aigw::v1::CLIENT_ERROR, KeyVerdict::kWorks},
                       Row{401, aigw::v1::AUTH_FAILED, KeyVerdict::kRejected},
                       Row{403, aigw::v1::PERMISSION_DENIED, KeyVerdict::kRefusedRequest},
                       Row{404, aigw::v1::CLIENT_ERROR, KeyVerdict::kWorks},
                       // The provider's trouble, not the request's: retried.
                       Row{408, aigw::v1::SERVER_ERROR, KeyVerdict::kFailing},
                       Row{409, aigw::v1::SERVER_ERROR, KeyVerdict::kFailing},
                       Row{429, aigw::v1::RATE_LIMITED, KeyVerdict::kRateLimited},
                       Row{503, aigw::v1::SERVER_ERROR, KeyVerdict::kFailing}}) {
    const aigw::v1::Outcome outcome = ClassifyAttempt(absl::OkStatus(), r.status);
    EXPECT_EQ(outcome, r.outcome) << r.status;
    EXPECT_EQ(KeyVerdictFor(outcome), r.key) << r.status;
    if (r.status >= 400) {
      EXPECT_EQ(ClassifyUpstreamError(Error(r.status, "")).outcome, r.outcome) << r.status;
    }
  }
  EXPECT_EQ(ClassifyAttempt(absl::OkStatus(), 408), aigw::v1::SERVER_ERROR);
  EXPECT_EQ(NextStepFor(ClassifyAttempt(absl::OkStatus(), 409)), NextStep::kRetrySameKey);
}

TEST(OutcomeTest, ErrorCodesNameTheirOutcome) {
  EXPECT_EQ(OutcomeForErrorCode("AUTH_FAILED"), aigw::v1::AUTH_FAILED);
  EXPECT_EQ(OutcomeForErrorCode("SERVER_ERROR"), aigw::v1::SERVER_ERROR);
  EXPECT_EQ(OutcomeForErrorCode(error_code::kTimeout), aigw::v1::NETWORK_ERROR);
  EXPECT_EQ(OutcomeForErrorCode(error_code::kBadResponse), aigw::v1::SERVER_ERROR);
  EXPECT_EQ(OutcomeForErrorCode(error_code::kResponseTooLarge), aigw::v1::SERVER_ERROR);
  EXPECT_EQ(OutcomeForErrorCode(error_code::kRedirect), aigw::v1::SERVER_ERROR);
  EXPECT_EQ(OutcomeForErrorCode(error_code::kStreamInterrupted), aigw::v1::NETWORK_ERROR);
  EXPECT_EQ(OutcomeForErrorCode(error_code::kStreamTooLong), aigw::v1::NETWORK_ERROR);
  EXPECT_EQ(OutcomeForErrorCode(error_code::kStreamTooLarge), aigw::v1::CLIENT_ERROR);
  EXPECT_EQ(OutcomeForErrorCode(error_code::kClientTooSlow), aigw::v1::CLIENT_ERROR);
  EXPECT_EQ(OutcomeForErrorCode(error_code::kCancelled), aigw::v1::CLIENT_ERROR);
  EXPECT_EQ(OutcomeForErrorCode(error_code::kNoAvailableKeys), aigw::v1::NOT_SENT);
  EXPECT_EQ(OutcomeForErrorCode(error_code::kKeypoolUnavailable), aigw::v1::NOT_SENT);
  EXPECT_EQ(OutcomeForErrorCode(error_code::kHostNotAllowed), aigw::v1::NOT_SENT);
  EXPECT_EQ(OutcomeForErrorCode(error_code::kUnsupportedCapability), aigw::v1::NOT_SENT);
  EXPECT_EQ(OutcomeForErrorCode("HTTP_502"), std::nullopt);
  EXPECT_EQ(OutcomeForErrorCode(""), std::nullopt);
  EXPECT_EQ(OutcomeForErrorCode("OUTCOME_UNSPECIFIED"), std::nullopt);
}

TEST(OutcomeTest, WhatAnOutcomeSaysAboutTheKey) {
  EXPECT_EQ(KeyVerdictFor(aigw::v1::NETWORK_ERROR), KeyVerdict::kFailing);
  EXPECT_EQ(KeyVerdictFor(aigw::v1::RELEASED), KeyVerdict::kNothing);
  EXPECT_EQ(KeyVerdictFor(aigw::v1::NOT_SENT), KeyVerdict::kNothing);
  EXPECT_EQ(KeyVerdictFor(aigw::v1::OUTCOME_UNSPECIFIED), KeyVerdict::kNothing);
}

}  // namespace
}  // namespace aigw::providers
