#include "services/gateway/retry_policy.h"

#include "gtest/gtest.h"

namespace aigw::gateway {
namespace {

TEST(RetryPolicyTest, ClassifiesAttempts) {
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

TEST(RetryPolicyTest, NextSteps) {
  EXPECT_EQ(NextStepFor(aigw::v1::RATE_LIMITED, 429), NextStep::kRetryOtherKey);
  EXPECT_EQ(NextStepFor(aigw::v1::AUTH_FAILED, 401), NextStep::kRetryOtherKey);
  EXPECT_EQ(NextStepFor(aigw::v1::SERVER_ERROR, 503), NextStep::kRetrySameKey);
  EXPECT_EQ(NextStepFor(aigw::v1::NETWORK_ERROR, 0), NextStep::kRetrySameKey);
  EXPECT_EQ(NextStepFor(aigw::v1::CLIENT_ERROR, 400), NextStep::kGiveUp);
}

providers::UpstreamError Error(int status, std::string type, std::string code = "") {
  providers::UpstreamError e;
  e.http_status = status;
  e.type = std::move(type);
  e.code = std::move(code);
  e.message = "text";
  return e;
}

TEST(RetryPolicyTest, UpstreamErrorsByWhatTheProviderMeant) {
  auto is = [](providers::UpstreamError e, aigw::v1::Outcome outcome, NextStep next) {
    const ErrorVerdict v = ClassifyUpstreamError(e);
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

TEST(RetryPolicyTest, ExponentialBackoffCappedAt10Seconds) {
  RetryOptions o;  // 1 s, x2, cap 10 s, jitter 0.2
  // unit_random 0.5 is the middle of the jitter band: no jitter.
  EXPECT_EQ(BackoffDelay(o, 1, std::nullopt, 0.5), absl::Seconds(1));
  EXPECT_EQ(BackoffDelay(o, 2, std::nullopt, 0.5), absl::Seconds(2));
  EXPECT_EQ(BackoffDelay(o, 3, std::nullopt, 0.5), absl::Seconds(4));
  EXPECT_EQ(BackoffDelay(o, 4, std::nullopt, 0.5), absl::Seconds(8));
  EXPECT_EQ(BackoffDelay(o, 5, std::nullopt, 0.5), absl::Seconds(10));
  EXPECT_EQ(BackoffDelay(o, 9, std::nullopt, 0.5), absl::Seconds(10));
}

TEST(RetryPolicyTest, JitterStaysInItsBand) {
  RetryOptions o;
  EXPECT_EQ(BackoffDelay(o, 2, std::nullopt, 0.0), absl::Seconds(1.6));
  EXPECT_EQ(BackoffDelay(o, 2, std::nullopt, 1.0), absl::Seconds(2.4));
  const absl::Duration d = BackoffDelay(o, 2, std::nullopt, 0.25);
  EXPECT_GT(d, absl::Seconds(1.6));
  EXPECT_LT(d, absl::Seconds(2));
}

TEST(RetryPolicyTest, RetryAfterWinsAndIsNotJittered) {
  RetryOptions o;
  EXPECT_EQ(BackoffDelay(o, 1, 3000, 0.0), absl::Seconds(3));
  EXPECT_EQ(BackoffDelay(o, 3, 0, 0.9), absl::ZeroDuration());
}

}  // namespace
}  // namespace aigw::gateway
