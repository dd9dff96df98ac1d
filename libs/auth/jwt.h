#ifndef AIGW_LIBS_AUTH_JWT_H_
#define AIGW_LIBS_AUTH_JWT_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "libs/auth/jwt_key.h"

namespace aigw::auth {

// The roles a token's "role" claim names that aigw knows (auth_policy.h
// says what each may call).
inline constexpr char kRoleAdmin[] = "admin";
inline constexpr char kRoleService[] = "service";

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

// A compact JWS signed with `key` (header {"alg":"RS256","kid":<the key's
// thumbprint>,"typ":"JWT"}, or {"alg":"HS256","typ":"JWT"} for a secret),
// carrying sub, role, iat, exp and (when set) nbf. Fails on a key that
// cannot sign (a public key), an empty role, or exp not after iat.
absl::StatusOr<std::string> MintJwt(const JwtKey& key, const Claims& claims);
// The same, HS256 over `secret` (development clusters, tests).
absl::StatusOr<std::string> MintJwt(absl::string_view secret, const Claims& claims);

// Checks a compact JWS against the keys a service accepts and returns its
// claims. The header must say alg HS256 or RS256 ("none" and everything
// else are refused before any key is looked at) and the token is checked
// only against keys of that algorithm (and of its kid, when both have one):
// an RS256 public key is never an HMAC secret, so an HS256 token "signed"
// with the public key's text fails (alg confusion). typ JWT when present,
// no "crit"; exp is required and must be after `now`; nbf, when present,
// must not be after `now`; role must be a non-empty string. The key's scope
// bounds the role: a service key signs only role `service`, an operator key
// never signs it. Every failure is UNAUTHENTICATED with a short reason that
// never echoes the token.
absl::StatusOr<Claims> VerifyJwt(const JwtKeySet& keys, absl::string_view token, absl::Time now);
// The same, with the one HS256 secret `secret` (any role).
absl::StatusOr<Claims> VerifyJwt(absl::string_view secret, absl::string_view token,
                                 absl::Time now);

// Base64url without padding (RFC 7515 section 2), and its strict inverse:
// no padding, no whitespace, no bits set past the data.
std::string Base64UrlEncode(absl::string_view data);
bool Base64UrlDecode(absl::string_view text, std::string* out);

}  // namespace aigw::auth

#endif  // AIGW_LIBS_AUTH_JWT_H_
