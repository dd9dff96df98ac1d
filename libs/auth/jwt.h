#ifndef AIGW_LIBS_AUTH_JWT_H_
#define AIGW_LIBS_AUTH_JWT_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace aigw::auth {

// The claims aigw reads from a token.
struct Claims {
  // "sub": who is calling (an operator, or a service such as aigw-gateway).
  std::string subject;
  // "role": admin | service | anything else (ChatService callers).
  std::string role;
  // "exp": required.
  absl::Time expires_at = absl::InfinitePast();
  // "nbf": optional; InfinitePast when absent.
  absl::Time not_before = absl::InfinitePast();
  // "iat": optional; InfinitePast when absent.
  absl::Time issued_at = absl::InfinitePast();
};

// Longest token accepted; bounds the work an unauthenticated caller can cause.
inline constexpr size_t kMaxTokenBytes = 8192;

// A compact JWS signed HS256 with `secret`, carrying sub, role, iat, exp and
// (when set) nbf. Fails on an empty secret or role, or exp not after iat.
absl::StatusOr<std::string> MintJwt(absl::string_view secret, const Claims& claims);

// Checks a compact JWS and returns its claims. The header must say
// alg HS256 (anything else, "none" included, is refused before the
// signature is looked at), typ JWT when present, and no "crit"; the
// signature is compared in constant time; exp is required and must be after
// `now`; nbf, when present, must not be after `now`; role must be a non-empty
// string. Every failure is UNAUTHENTICATED with a short reason that never
// echoes the token.
absl::StatusOr<Claims> VerifyJwt(absl::string_view secret, absl::string_view token,
                                 absl::Time now);

// Base64url without padding (RFC 7515 section 2), and its strict inverse:
// no padding, no whitespace, no bits set past the data.
std::string Base64UrlEncode(absl::string_view data);
bool Base64UrlDecode(absl::string_view text, std::string* out);

}  // namespace aigw::auth

#endif  // AIGW_LIBS_AUTH_JWT_H_
