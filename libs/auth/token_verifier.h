#ifndef AIGW_LIBS_AUTH_TOKEN_VERIFIER_H_
#define AIGW_LIBS_AUTH_TOKEN_VERIFIER_H_

#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "libs/auth/jwt.h"
#include "libs/common/clock.h"

namespace aigw::auth {

// VerifyJwt with a memory of tokens already verified, so that a client
// sending the same token on every call (the gateway's service token, an
// operator's token) pays the signature check (an RSA verification or an
// HMAC) and JSON parsing once, and one hash lookup
// after that. A remembered token is honoured only until its exp. The cache is
// bounded: when full, expired entries go, and if that is not enough, all of
// them. Failures are not remembered. Thread-safe.
class TokenVerifier {
 public:
  TokenVerifier(JwtKeySet keys, Clock* clock = Clock::Real(), size_t max_cached = 4096);
  // One HS256 secret (development clusters, tests).
  TokenVerifier(std::string secret, Clock* clock = Clock::Real(), size_t max_cached = 4096);

  absl::StatusOr<Claims> Verify(absl::string_view token) const;

  size_t cached() const;

 private:
  const JwtKeySet keys_;
  Clock* const clock_;
  const size_t max_cached_;
  mutable absl::Mutex mu_;
  mutable absl::flat_hash_map<std::string, Claims> cache_ ABSL_GUARDED_BY(mu_);
};

}  // namespace aigw::auth

#endif  // AIGW_LIBS_AUTH_TOKEN_VERIFIER_H_
