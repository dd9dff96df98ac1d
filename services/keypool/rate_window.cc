#include "services/keypool/rate_window.h"

#include <algorithm>

namespace aigw::keypool {
namespace {

constexpr int64_t kSpanNs = 60'000'000'000;
// Past the exact capacity, events closer together than this share a bucket.
constexpr int64_t kCoarseNs = kSpanNs / 1024;

}  // namespace

void RateWindow::Expire(absl::Time now) {
  const int64_t cutoff = absl::ToUnixNanos(now) - kSpanNs;
  while (!buckets_.empty() && buckets_.front().last_ns <= cutoff) {
    requests_ -= buckets_.front().requests;
    tokens_ -= buckets_.front().tokens;
    buckets_.pop_front();
    ++front_handle_;
  }
}

uint64_t RateWindow::Add(absl::Time now, int64_t tokens) {
  const int64_t ns = absl::ToUnixNanos(now);
  requests_ += 1;
  tokens_ += tokens;
  if (!buckets_.empty()) {
    Bucket& tail = buckets_.back();
    // The same instant is exact to share. A clock that stepped back lands in
    // the newest bucket, which leaves the window later: conservative.
    const bool same_or_earlier = ns <= tail.last_ns;
    const bool coarse = buckets_.size() >= exact_capacity_ && ns - tail.first_ns < kCoarseNs;
    if (same_or_earlier || coarse) {
      tail.last_ns = std::max(tail.last_ns, ns);
      tail.requests += 1;
      tail.tokens += tokens;
      return front_handle_ + buckets_.size() - 1;
    }
  }
  buckets_.push_back(Bucket{ns, ns, 1, tokens});
  return front_handle_ + buckets_.size() - 1;
}

void RateWindow::Adjust(uint64_t handle, int64_t delta) {
  if (handle < front_handle_ || handle - front_handle_ >= buckets_.size()) return;
  Bucket& b = buckets_[handle - front_handle_];
  const int64_t updated = std::max<int64_t>(0, b.tokens + delta);
  tokens_ += updated - b.tokens;
  b.tokens = updated;
}

void RateWindow::Remove(uint64_t handle, int64_t tokens) {
  if (handle < front_handle_ || handle - front_handle_ >= buckets_.size()) return;
  Bucket& b = buckets_[handle - front_handle_];
  if (b.requests > 0) {
    b.requests -= 1;
    requests_ -= 1;
  }
  Adjust(handle, -tokens);
}

std::vector<RateWindow::Slice> RateWindow::Slices(absl::Duration granularity) const {
  const int64_t g = std::max<int64_t>(1, absl::ToInt64Nanoseconds(granularity));
  std::vector<Slice> out;
  int64_t slice_start = 0;
  for (const Bucket& b : buckets_) {
    if (out.empty() || b.first_ns - slice_start >= g) {
      out.push_back(Slice{absl::FromUnixNanos(b.last_ns), 0, 0});
      slice_start = b.first_ns;
    }
    Slice& s = out.back();
    s.at = std::max(s.at, absl::FromUnixNanos(b.last_ns));
    s.requests += b.requests;
    s.tokens += b.tokens;
  }
  return out;
}

void RateWindow::Seed(absl::Time at, int64_t requests, int64_t tokens) {
  if (requests <= 0 && tokens <= 0) return;
  requests = std::max<int64_t>(0, requests);
  tokens = std::max<int64_t>(0, tokens);
  const int64_t ns = absl::ToUnixNanos(at);
  requests_ += requests;
  tokens_ += tokens;
  if (!buckets_.empty() && ns <= buckets_.back().last_ns) {
    buckets_.back().requests += requests;
    buckets_.back().tokens += tokens;
    return;
  }
  buckets_.push_back(Bucket{ns, ns, requests, tokens});
}

absl::Time RateWindow::EarliestFit(absl::Time now, int64_t max_requests, int64_t max_tokens,
                                   int64_t tokens) const {
  if (max_tokens > 0 && tokens > max_tokens) return absl::InfiniteFuture();
  const int64_t need_requests =
      max_requests > 0 ? std::max<int64_t>(0, requests_ + 1 - max_requests) : 0;
  const int64_t need_tokens =
      max_tokens > 0 ? std::max<int64_t>(0, tokens_ + tokens - max_tokens) : 0;
  if (need_requests == 0 && need_tokens == 0) return now;
  int64_t freed_requests = 0;
  int64_t freed_tokens = 0;
  for (const Bucket& b : buckets_) {
    freed_requests += b.requests;
    freed_tokens += b.tokens;
    if (freed_requests >= need_requests && freed_tokens >= need_tokens) {
      return absl::FromUnixNanos(b.last_ns) + kSpan;
    }
  }
  // Unreachable with consistent totals: an empty window always fits.
  return buckets_.empty() ? now : absl::FromUnixNanos(buckets_.back().last_ns) + kSpan;
}

}  // namespace aigw::keypool
