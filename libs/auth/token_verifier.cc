#include "libs/auth/token_verifier.h"

#include <utility>

namespace aigw::auth {

TokenVerifier::TokenVerifier(JwtKeySet keys, Clock* clock, size_t max_cached)
    : keys_(std::move(keys)), clock_(clock), max_cached_(max_cached) {}

TokenVerifier::TokenVerifier(std::string secret, Clock* clock, size_t max_cached)
    : TokenVerifier(JwtKeySet::Hs256Only(secret), clock, max_cached) {}

absl::StatusOr<Claims> TokenVerifier::Verify(absl::string_view token) const {
  const absl::Time now = clock_->Now();
  {
    absl::ReaderMutexLock lock(&mu_);
    auto it = cache_.find(token);
    if (it != cache_.end()) {
      // nbf was in the past when the token was cached, so only exp can have
      // changed its verdict since.
      if (now < it->second.expires_at) return it->second;
      return absl::UnauthenticatedError("invalid token: expired");
    }
  }
  absl::StatusOr<Claims> claims = VerifyJwt(keys_, token, now);
  if (!claims.ok() || max_cached_ == 0) return claims;
  absl::MutexLock lock(&mu_);
  if (cache_.size() >= max_cached_) {
    absl::erase_if(cache_, [now](const auto& entry) { return now >= entry.second.expires_at; });
    if (cache_.size() >= max_cached_) cache_.clear();
  }
  cache_.emplace(std::string(token), *claims);
  return claims;
}

size_t TokenVerifier::cached() const {
  absl::ReaderMutexLock lock(&mu_);
  return cache_.size();
}

}  // namespace aigw::auth
