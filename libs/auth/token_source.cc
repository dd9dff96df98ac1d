#include "libs/auth/token_source.h"

#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "libs/auth/jwt.h"
#include "spdlog/spdlog.h"

namespace aigw::auth {

namespace {

std::optional<JwtKey> SecretKey(absl::string_view secret) {
  absl::StatusOr<JwtKey> key = JwtKey::Hs256(secret);
  if (!key.ok()) return std::nullopt;
  return *std::move(key);
}

}  // namespace

TokenSource::TokenSource(std::optional<JwtKey> key, std::string role, std::string subject,
                         absl::Duration ttl, Clock* clock)
    : key_(std::move(key)),
      role_(std::move(role)),
      subject_(std::move(subject)),
      ttl_(ttl),
      clock_(clock) {}

TokenSource::TokenSource(absl::string_view secret, std::string role, std::string subject,
                         absl::Duration ttl, Clock* clock)
    : TokenSource(SecretKey(secret), std::move(role), std::move(subject), ttl, clock) {}

std::string TokenSource::AuthorizationHeader() {
  if (!key_.has_value()) return "";
  const absl::Time now = clock_->Now();
  absl::MutexLock lock(&mu_);
  if (now < refresh_at_) return header_;
  Claims claims;
  claims.subject = subject_;
  claims.role = role_;
  // Whole seconds on the wire: start from the second so the token is valid
  // at once on a peer whose clock agrees.
  claims.issued_at = absl::FromUnixSeconds(absl::ToUnixSeconds(now));
  claims.expires_at = claims.issued_at + ttl_;
  absl::StatusOr<std::string> jwt = MintJwt(*key_, claims);
  if (!jwt.ok()) {
    // Only a misuse (empty role, non-positive ttl, a public key) gets here; the peer will
    // answer UNAUTHENTICATED, which names the problem better than a crash.
    spdlog::error("msg=\"cannot mint a service token\" role=\"{}\" error=\"{}\"", role_,
                  std::string(jwt.status().message()));
    return "";
  }
  header_ = absl::StrCat("Bearer ", *jwt);
  refresh_at_ = now + ttl_ / 2;
  return header_;
}

}  // namespace aigw::auth
