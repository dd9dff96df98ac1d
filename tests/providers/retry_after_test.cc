#include "libs/providers/retry_after.h"

#include "gtest/gtest.h"

namespace aigw::providers {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(784111777);  // Sun, 06 Nov 1994 08:49:37 GMT

TEST(RetryAfterTest, DelaySeconds) {
  EXPECT_EQ(ParseRetryAfterMs("120", kNow), 120000);
  EXPECT_EQ(ParseRetryAfterMs(" 0 ", kNow), 0);
  EXPECT_EQ(ParseRetryAfterMs("1.5", kNow), 1500);
  EXPECT_EQ(ParseRetryAfterMs("0.0001", kNow), 1);  // rounded up, never to "no wait"
  // Absurd values are capped at a day rather than overflowing.
  EXPECT_EQ(ParseRetryAfterMs("99999999999999999999", kNow), 86400000);
}

TEST(RetryAfterTest, HttpDates) {
  EXPECT_EQ(ParseRetryAfterMs("Sun, 06 Nov 1994 08:49:47 GMT", kNow), 10000);
  EXPECT_EQ(ParseRetryAfterMs("Sunday, 06-Nov-94 08:49:47 GMT", kNow), 10000);
  EXPECT_EQ(ParseRetryAfterMs("Sun Nov  6 08:49:47 1994", kNow), 10000);
  EXPECT_EQ(ParseRetryAfterMs("Sun, 06 Nov 1994 08:00:00 GMT", kNow), 0);  // in the past
}

TEST(RetryAfterTest, Garbage) {
  for (const char* bad : {"", "  ", "-5", "5s", "1.2.3", ".", "tomorrow", "Sun, 99 Nov 1994"}) {
    EXPECT_FALSE(ParseRetryAfterMs(bad, kNow).has_value()) << bad;
  }
}

TEST(ResetDurationTest, GoDurations) {
  EXPECT_EQ(ParseResetDurationMs("1s"), 1000);
  EXPECT_EQ(ParseResetDurationMs("6m0s"), 360000);
  EXPECT_EQ(ParseResetDurationMs("20ms"), 20);
  EXPECT_EQ(ParseResetDurationMs("1h2m3.5s"), 3723500);
  EXPECT_EQ(ParseResetDurationMs("0"), 0);
  EXPECT_EQ(ParseResetDurationMs("250us"), 1);
  EXPECT_EQ(ParseResetDurationMs("17.3ms"), 18);
}

TEST(ResetDurationTest, Garbage) {
  for (const char* bad : {"", "s", "10", "1x", "1.2.3s", "-1s", "m5"}) {
    EXPECT_FALSE(ParseResetDurationMs(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace aigw::providers
