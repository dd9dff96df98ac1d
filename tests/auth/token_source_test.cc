#include "libs/auth/token_source.h"

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "libs/auth/jwt.h"

namespace aigw::auth {
namespace {

constexpr char kSecret[] = "test-secret-0123456789abcdef0123456789";

TEST(TokenSourceTest, MintsABearerTokenAndRenewsItAtHalfLife) {
  ManualClock clock;
  TokenSource source(kSecret, "service", "aigw-gateway", absl::Hours(1), &clock);
  const std::string first = source.AuthorizationHeader();
  ASSERT_TRUE(absl::StartsWith(first, "Bearer "));
  absl::StatusOr<Claims> c = VerifyJwt(kSecret, first.substr(7), clock.Now());
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->role, "service");
  EXPECT_EQ(c->subject, "aigw-gateway");
  EXPECT_EQ(c->expires_at, clock.Now() + absl::Hours(1));

  clock.Advance(absl::Minutes(29));
  EXPECT_EQ(source.AuthorizationHeader(), first);
  clock.Advance(absl::Minutes(2));
  const std::string second = source.AuthorizationHeader();
  EXPECT_NE(second, first);
  // The renewed token is good well past the first one's expiry.
  EXPECT_TRUE(VerifyJwt(kSecret, second.substr(7), clock.Now() + absl::Minutes(45)).ok());
}

TEST(TokenSourceTest, WithoutASecretSendsNothing) {
  TokenSource source("", "service", "aigw-gateway");
  EXPECT_EQ(source.AuthorizationHeader(), "");
}

}  // namespace
}  // namespace aigw::auth
