#ifndef AIGW_LIBS_AUTH_TOKEN_SOURCE_H_
#define AIGW_LIBS_AUTH_TOKEN_SOURCE_H_

#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "libs/common/clock.h"

namespace aigw::auth {

// The token a service presents on its own outgoing calls (the gateway to
// keypool and usage with role `service`, admin to keypool with role
// `admin`), minted from the shared secret and re-minted once half its
// lifetime has passed, so a long-lived channel never sends an expired token.
// Thread-safe; a call costs a mutex and a string copy.
class TokenSource {
 public:
  // An empty `secret` gives empty headers: auth is off (dev mode) and the
  // peers are expected to have it off too.
  TokenSource(std::string secret, std::string role, std::string subject,
              absl::Duration ttl = absl::Hours(1), Clock* clock = Clock::Real());

  // "Bearer <jwt>", or "" without a secret. Attach it as the
  // `authorization` metadata: ctx.AddMetadata("authorization", ...).
  std::string AuthorizationHeader();

 private:
  const std::string secret_;
  const std::string role_;
  const std::string subject_;
  const absl::Duration ttl_;
  Clock* const clock_;
  absl::Mutex mu_;
  std::string header_ ABSL_GUARDED_BY(mu_);
  absl::Time refresh_at_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

}  // namespace aigw::auth

#endif  // AIGW_LIBS_AUTH_TOKEN_SOURCE_H_
