#include "services/keypool/allotment.h"

#include <algorithm>
#include <cmath>

namespace aigw::keypool {
namespace {

// What allotments may hold back of a limit at most: at least half of each
// limit stays the keypool's (so a limit less what is held back is never 0,
// which would read as unlimited).
constexpr double kMaxShare = 0.5;

// One dimension of ShareOf: -1 when it cannot give one unit.
int64_t ShareOfLimit(int64_t limit, int64_t in_use, int64_t held, const AllotmentPolicy& policy) {
  if (limit <= 0) return 0;
  const auto fraction = [limit](double f) {
    return static_cast<int64_t>(std::floor(static_cast<double>(limit) * std::clamp(f, 0.0, kMaxShare)));
  };
  const int64_t share = std::min({fraction(policy.share), fraction(policy.max_share) - held,
                                  limit - in_use - held});
  return share >= 1 ? share : -1;
}

}  // namespace

HeldBack HeldBackAt(const Allotment& a, absl::Time now) {
  HeldBack h;
  if (now < a.counted_until) {
    h.requests = a.requests;
    h.tokens = a.tokens;
  }
  if (now < a.day_end) h.day_requests = a.day_requests;
  return h;
}

absl::Time NextChange(const Allotment& a, absl::Time now) {
  absl::Time next = absl::InfiniteFuture();
  if (now < a.counted_until && (a.requests > 0 || a.tokens > 0)) next = a.counted_until;
  if (now < a.day_end && a.day_requests > 0) next = std::min(next, a.day_end);
  // An allotment of an unlimited key holds nothing back but is still the
  // gateway's to use until use_until.
  if (now < a.use_until) next = std::min(next, a.use_until);
  return next;
}

std::optional<HeldBack> ShareOf(const KeyBudget& key, const AllotmentPolicy& policy) {
  HeldBack share;
  share.requests = ShareOfLimit(key.rpm, key.window_requests, key.held.requests, policy);
  share.tokens = ShareOfLimit(key.tpm, key.window_tokens, key.held.tokens, policy);
  share.day_requests = ShareOfLimit(key.rpd, key.requests_today, key.held.day_requests, policy);
  if (share.requests < 0 || share.tokens < 0 || share.day_requests < 0) return std::nullopt;
  return share;
}

}  // namespace aigw::keypool
