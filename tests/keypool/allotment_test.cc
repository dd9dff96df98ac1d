#include "services/keypool/allotment.h"

#include "gtest/gtest.h"

namespace aigw::keypool {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1767225600);

KeyBudget Limits(int64_t rpm, int64_t tpm, int64_t rpd) {
  KeyBudget b;
  b.rpm = rpm;
  b.tpm = tpm;
  b.rpd = rpd;
  return b;
}

TEST(AllotmentShareTest, EachLimitGivesItsShareRoundedDown) {
  AllotmentPolicy policy;  // 5% each, 25% together
  std::optional<HeldBack> s = ShareOf(Limits(100, 10'000, 1'000), policy);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->requests, 5);
  EXPECT_EQ(s->tokens, 500);
  EXPECT_EQ(s->day_requests, 50);
  s = ShareOf(Limits(59, 0, 0), policy);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->requests, 2);  // 2.95
}

TEST(AllotmentShareTest, UnlimitedDimensionsHoldNothingBack) {
  std::optional<HeldBack> s = ShareOf(Limits(0, 0, 0), AllotmentPolicy{});
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->requests, 0);
  EXPECT_EQ(s->tokens, 0);
  EXPECT_EQ(s->day_requests, 0);
  s = ShareOf(Limits(100, 0, 0), AllotmentPolicy{});
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->requests, 5);
  EXPECT_EQ(s->tokens, 0);
}

TEST(AllotmentShareTest, AllGatewaysTogetherStayWithinTheCap) {
  KeyBudget key = Limits(100, 0, 0);
  int64_t total = 0;
  for (int gateway = 0; gateway < 20; ++gateway) {
    key.held.requests = total;
    std::optional<HeldBack> s = ShareOf(key, AllotmentPolicy{});
    if (!s.has_value()) break;
    total += s->requests;
  }
  EXPECT_EQ(total, 25);
}

TEST(AllotmentShareTest, OnlyWhatIsFreeIsAllotted) {
  KeyBudget key = Limits(100, 1'000, 0);
  key.window_requests = 90;
  key.held.requests = 7;
  std::optional<HeldBack> s = ShareOf(key, AllotmentPolicy{});
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->requests, 3);  // 100 - 90 - 7
  key.window_requests = 93;
  EXPECT_FALSE(ShareOf(key, AllotmentPolicy{}).has_value());
  key.window_requests = 0;
  key.window_tokens = 1000;
  EXPECT_FALSE(ShareOf(key, AllotmentPolicy{}).has_value()) << "TPM has no token left";
}

TEST(AllotmentShareTest, AShareBelowOneRequestIsNone) {
  // 5% of 10 is half a request.
  EXPECT_FALSE(ShareOf(Limits(10, 0, 0), AllotmentPolicy{}).has_value());
  EXPECT_FALSE(ShareOf(Limits(0, 0, 19), AllotmentPolicy{}).has_value());
}

TEST(AllotmentShareTest, AtLeastHalfOfEachLimitStaysTheKeypools) {
  AllotmentPolicy policy;
  policy.share = 1.0;
  policy.max_share = 1.0;
  std::optional<HeldBack> s = ShareOf(Limits(10, 0, 0), policy);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->requests, 5);
  KeyBudget key = Limits(10, 0, 0);
  key.held.requests = 5;
  EXPECT_FALSE(ShareOf(key, policy).has_value());
}

TEST(AllotmentHeldBackTest, MinuteLimitsUntilCountedUntilTheDayUntilDayEnd) {
  Allotment a;
  a.requests = 3;
  a.tokens = 300;
  a.day_requests = 30;
  a.use_until = kT0 + absl::Seconds(60);
  a.counted_until = kT0 + absl::Seconds(121);
  a.day_end = kT0 + absl::Hours(24);
  HeldBack h = HeldBackAt(a, kT0);
  EXPECT_EQ(h.requests, 3);
  EXPECT_EQ(h.tokens, 300);
  EXPECT_EQ(h.day_requests, 30);
  EXPECT_EQ(NextChange(a, kT0), a.use_until);
  EXPECT_EQ(NextChange(a, a.use_until), a.counted_until);
  h = HeldBackAt(a, a.counted_until);
  EXPECT_EQ(h.requests, 0);
  EXPECT_EQ(h.tokens, 0);
  EXPECT_EQ(h.day_requests, 30);
  EXPECT_EQ(NextChange(a, a.counted_until), a.day_end);
  EXPECT_FALSE(Lapsed(a, a.day_end - absl::Nanoseconds(1)));
  EXPECT_TRUE(Lapsed(a, a.day_end));
  h = HeldBackAt(a, a.day_end);
  EXPECT_EQ(h.day_requests, 0);
}

TEST(AllotmentHeldBackTest, AnUnlimitedKeysAllotmentLapsesAtUseUntil) {
  Allotment a;
  a.use_until = kT0 + absl::Seconds(60);
  a.counted_until = kT0 + absl::Seconds(121);
  a.day_end = kT0 + absl::Hours(24);
  EXPECT_FALSE(Lapsed(a, kT0));
  EXPECT_TRUE(Lapsed(a, a.use_until));
}

}  // namespace
}  // namespace aigw::keypool
