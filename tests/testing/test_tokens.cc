#include "tests/testing/test_tokens.h"

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "libs/auth/jwt.h"

namespace aigw::testing {

std::string TestBearer(absl::string_view secret, absl::string_view subject,
                       absl::string_view role, absl::Duration ttl) {
  auth::Claims c;
  c.subject = std::string(subject);
  c.role = std::string(role);
  c.expires_at = absl::Now() + ttl;
  absl::StatusOr<std::string> token = auth::MintJwt(secret, c);
  EXPECT_TRUE(token.ok()) << token.status();
  return absl::StrCat("Bearer ", token.ok() ? *token : "");
}

}  // namespace aigw::testing
