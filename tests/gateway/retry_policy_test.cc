#include "services/gateway/retry_policy.h"

#include "gtest/gtest.h"

namespace aigw::gateway {
namespace {

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
