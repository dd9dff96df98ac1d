#include "libs/providers/error_class.h"

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

}  // namespace
}  // namespace aigw::providers
