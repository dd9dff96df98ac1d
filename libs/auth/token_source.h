#ifndef AIGW_LIBS_AUTH_TOKEN_SOURCE_H_
#define AIGW_LIBS_AUTH_TOKEN_SOURCE_H_

#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "libs/auth/jwt_key.h"
#include "libs/common/clock.h"

namespace aigw::auth {

// The token a service presents on its own outgoing calls (the gateway to
// keypool and usage, role `service`), minted with the service's own key (its
// RS256 private key, or the shared HS256 secret of a development cluster) and
// re-minted once half its lifetime has passed, so a long-lived channel never
// sends an expired token. Thread-safe; a call costs a mutex and a string
// copy.
class TokenSource {
 public:
  // Without a key, empty headers: auth is off (dev mode) and the peers are
  // expected to have it off too.
  TokenSource(std::optional<JwtKey> key, std::string role, std::string subject,
              absl::Duration ttl = absl::Hours(1), Clock* clock = Clock::Real());
  // HS256 over `secret`; an empty one gives empty headers.
  TokenSource(absl::string_view secret, std::string role, std::string subject,
              absl::Duration ttl = absl::Hours(1), Clock* clock = Clock::Real());

  // "Bearer <jwt>", or "" without a key. Attach it as the `authorization`
  // metadata: ctx.AddMetadata("authorization", ...).
  std::string AuthorizationHeader();

 private:
  const std::optional<JwtKey> key_;
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
