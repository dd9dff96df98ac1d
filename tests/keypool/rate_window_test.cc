#include "services/keypool/rate_window.h"

#include "gtest/gtest.h"

namespace aigw::keypool {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1767225600);

TEST(RateWindowTest, EventCountsUntilExactlySixtySecondsLater) {
  RateWindow w;
  w.Add(kT0, 10);
  w.Expire(kT0 + absl::Seconds(60) - absl::Nanoseconds(1));
  EXPECT_EQ(w.requests(), 1);
  EXPECT_EQ(w.tokens(), 10);
  w.Expire(kT0 + absl::Seconds(60));
  EXPECT_EQ(w.requests(), 0);
  EXPECT_EQ(w.tokens(), 0);
}

TEST(RateWindowTest, RemoveTakesOneEventBackOutWhileItIsInTheWindow) {
  RateWindow w;
  const uint64_t a = w.Add(kT0, 10);
  const uint64_t b = w.Add(kT0, 30);  // the same bucket as a
  const uint64_t c = w.Add(kT0 + absl::Seconds(1), 5);
  w.Remove(b, 30);
  EXPECT_EQ(w.requests(), 2);
  EXPECT_EQ(w.tokens(), 15);
  w.Remove(c, 5);
  EXPECT_EQ(w.requests(), 1);
  EXPECT_EQ(w.tokens(), 10);
  // Gone from the window: removing it changes nothing.
  w.Expire(kT0 + absl::Seconds(60));
  EXPECT_EQ(w.requests(), 0);
  w.Remove(a, 10);
  EXPECT_EQ(w.requests(), 0);
  EXPECT_EQ(w.tokens(), 0);
}

TEST(RateWindowTest, SlidesOneEventAtATime) {
  RateWindow w;
  for (int i = 0; i < 5; ++i) w.Add(kT0 + absl::Seconds(10 * i), 100 + i);
  w.Expire(kT0 + absl::Seconds(59));
  EXPECT_EQ(w.requests(), 5);
  w.Expire(kT0 + absl::Seconds(60));
  EXPECT_EQ(w.requests(), 4);
  EXPECT_EQ(w.tokens(), 101 + 102 + 103 + 104);
  w.Expire(kT0 + absl::Seconds(85));
  EXPECT_EQ(w.requests(), 2);
  EXPECT_EQ(w.tokens(), 103 + 104);
  w.Expire(kT0 + absl::Seconds(100));
  EXPECT_EQ(w.requests(), 0);
  EXPECT_EQ(w.bucket_count(), 0u);
}

TEST(RateWindowTest, SameInstantSharesABucket) {
  RateWindow w;
  for (int i = 0; i < 100; ++i) w.Add(kT0, 1);
  EXPECT_EQ(w.bucket_count(), 1u);
  EXPECT_EQ(w.requests(), 100);
  w.Expire(kT0 + absl::Seconds(60));
  EXPECT_EQ(w.requests(), 0);
}

TEST(RateWindowTest, AdjustChangesOnlyItsEventAndIgnoresExpiredOnes) {
  RateWindow w;
  const uint64_t a = w.Add(kT0, 100);
  const uint64_t b = w.Add(kT0 + absl::Seconds(1), 100);
  w.Adjust(b, -40);
  EXPECT_EQ(w.tokens(), 160);
  w.Adjust(a, 25);
  EXPECT_EQ(w.tokens(), 185);
  w.Expire(kT0 + absl::Seconds(60));
  EXPECT_EQ(w.tokens(), 60);
  // a has left the window; adjusting it must not touch what remains.
  w.Adjust(a, 1000);
  EXPECT_EQ(w.tokens(), 60);
  // Never below zero.
  w.Adjust(b, -1000);
  EXPECT_EQ(w.tokens(), 0);
  EXPECT_EQ(w.requests(), 1);
}

TEST(RateWindowTest, EarliestFitIsWhenEnoughEventsLeave) {
  RateWindow w;
  w.Add(kT0, 30);
  w.Add(kT0 + absl::Seconds(5), 30);
  w.Add(kT0 + absl::Seconds(9), 30);
  const absl::Time now = kT0 + absl::Seconds(20);
  w.Expire(now);
  // RPM 3: the first event must leave.
  EXPECT_EQ(w.EarliestFit(now, 3, 0, 0), kT0 + absl::Seconds(60));
  // RPM 4: fits now.
  EXPECT_EQ(w.EarliestFit(now, 4, 0, 0), now);
  // TPM 100 with 50 more tokens: 90 + 50 - 100 = 40 must leave -> two events.
  EXPECT_EQ(w.EarliestFit(now, 0, 100, 50), kT0 + absl::Seconds(65));
  // More tokens than the limit itself: never.
  EXPECT_EQ(w.EarliestFit(now, 0, 100, 101), absl::InfiniteFuture());
}

TEST(RateWindowTest, PastCapacityMergesConservativelyAndStaysBounded) {
  RateWindow w(/*exact_capacity=*/4);
  // 10 000 events 1 ms apart: far more than the capacity.
  for (int i = 0; i < 10000; ++i) w.Add(kT0 + absl::Milliseconds(i), 1);
  EXPECT_EQ(w.requests(), 10000);
  EXPECT_LE(w.bucket_count(), 4u + 1024u);
  // Nothing may leave early: at t0+65 s exactly the events at > 5000 ms are
  // still in (4999 of them); merged buckets may keep a few more.
  w.Expire(kT0 + absl::Seconds(65));
  EXPECT_GE(w.requests(), 4999);
  EXPECT_LT(w.requests(), 4999 + 200);
  const absl::Time last = kT0 + absl::Milliseconds(9999);
  w.Expire(last + absl::Seconds(60) - absl::Nanoseconds(1));
  EXPECT_GE(w.requests(), 1);
  w.Expire(last + absl::Seconds(60));
  EXPECT_EQ(w.requests(), 0);
}

}  // namespace
}  // namespace aigw::keypool
