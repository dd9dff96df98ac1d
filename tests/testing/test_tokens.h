#ifndef AIGW_TESTS_TESTING_TEST_TOKENS_H_
#define AIGW_TESTS_TESTING_TEST_TOKENS_H_

#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace aigw::testing {

// "Bearer <token>": an HS256 token over `secret` naming `subject` in `role`
// (auth::kRoleAdmin, auth::kRoleService, or a caller's), expiring `ttl` from
// now; what a test puts in a call's authorization header.
std::string TestBearer(absl::string_view secret, absl::string_view subject,
                       absl::string_view role, absl::Duration ttl = absl::Hours(1));

}  // namespace aigw::testing

#endif  // AIGW_TESTS_TESTING_TEST_TOKENS_H_
