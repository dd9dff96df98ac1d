#include "libs/common/clock.h"

#include "gtest/gtest.h"

namespace aigw {
namespace {

TEST(ManualClockTest, MovesOnlyWhenTold) {
  const absl::Time start = absl::FromUnixSeconds(1767225600);
  ManualClock clock(start);
  EXPECT_EQ(clock.Now(), start);
  EXPECT_EQ(clock.Now(), start);
  clock.Advance(absl::Milliseconds(1500));
  EXPECT_EQ(clock.Now(), start + absl::Milliseconds(1500));
  clock.Set(start - absl::Hours(1));  // a wall clock may step back
  EXPECT_EQ(clock.Now(), start - absl::Hours(1));
}

TEST(ManualClockTest, KeepsNanoseconds) {
  ManualClock clock(absl::FromUnixNanos(1));
  clock.Advance(absl::Nanoseconds(2));
  EXPECT_EQ(absl::ToUnixNanos(clock.Now()), 3);
}

TEST(RealClockTest, IsOneClockThatFollowsTheSystemTime) {
  EXPECT_EQ(Clock::Real(), Clock::Real());
  const absl::Time before = absl::Now();
  const absl::Time now = Clock::Real()->Now();
  EXPECT_LE(before, now);
  EXPECT_LE(now, absl::Now());
}

}  // namespace
}  // namespace aigw
