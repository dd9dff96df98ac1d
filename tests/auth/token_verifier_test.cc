#include "libs/auth/token_verifier.h"

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "libs/auth/jwt.h"

namespace aigw::auth {
namespace {

constexpr char kSecret[] = "test-secret-0123456789abcdef0123456789";

std::string Token(ManualClock& clock, absl::string_view subject, absl::Duration ttl) {
  Claims c;
  c.subject = std::string(subject);
  c.role = "admin";
  c.issued_at = clock.Now();
  c.expires_at = clock.Now() + ttl;
  return *MintJwt(kSecret, c);
}

TEST(TokenVerifierTest, RemembersAVerifiedTokenUntilItExpires) {
  ManualClock clock;
  TokenVerifier v(kSecret, &clock);
  const std::string t = Token(clock, "alice", absl::Minutes(10));
  ASSERT_TRUE(v.Verify(t).ok());
  EXPECT_EQ(v.cached(), 1u);
  absl::StatusOr<Claims> again = v.Verify(t);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->subject, "alice");
  EXPECT_EQ(v.cached(), 1u);

  clock.Advance(absl::Minutes(10));
  absl::StatusOr<Claims> late = v.Verify(t);
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(absl::StrContains(late.status().message(), "expired"));
}

TEST(TokenVerifierTest, DoesNotRememberFailures) {
  ManualClock clock;
  TokenVerifier v(kSecret, &clock);
  TokenVerifier other("another-secret-0123456789abcdef0123", &clock);
  const std::string t = Token(clock, "alice", absl::Minutes(10));
  EXPECT_FALSE(other.Verify(t).ok());
  EXPECT_FALSE(other.Verify(t).ok());
  EXPECT_EQ(other.cached(), 0u);
  // A token refused for nbf becomes good when its time comes.
  Claims c;
  c.role = "admin";
  c.not_before = clock.Now() + absl::Minutes(1);
  c.expires_at = clock.Now() + absl::Minutes(5);
  const std::string early = *MintJwt(kSecret, c);
  EXPECT_FALSE(v.Verify(early).ok());
  clock.Advance(absl::Minutes(1));
  EXPECT_TRUE(v.Verify(early).ok());
}

TEST(TokenVerifierTest, StaysWithinItsBoundDroppingExpiredEntriesFirst) {
  ManualClock clock;
  TokenVerifier v(kSecret, &clock, /*max_cached=*/2);
  const std::string short_lived = Token(clock, "a", absl::Minutes(1));
  const std::string long_lived = Token(clock, "b", absl::Hours(1));
  ASSERT_TRUE(v.Verify(short_lived).ok());
  ASSERT_TRUE(v.Verify(long_lived).ok());
  clock.Advance(absl::Minutes(2));
  const std::string third = Token(clock, "c", absl::Hours(1));
  ASSERT_TRUE(v.Verify(third).ok());
  EXPECT_EQ(v.cached(), 2u);  // the expired one went, the live one stayed
  const std::string fourth = Token(clock, "d", absl::Hours(1));
  ASSERT_TRUE(v.Verify(fourth).ok());
  EXPECT_LE(v.cached(), 2u);
  // Whatever was dropped still verifies, from scratch.
  EXPECT_TRUE(v.Verify(long_lived).ok());
  EXPECT_TRUE(v.Verify(third).ok());
}

}  // namespace
}  // namespace aigw::auth
