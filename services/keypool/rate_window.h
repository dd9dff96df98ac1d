#ifndef AIGW_SERVICES_KEYPOOL_RATE_WINDOW_H_
#define AIGW_SERVICES_KEYPOOL_RATE_WINDOW_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <vector>

#include "absl/time/time.h"

namespace aigw::keypool {

// The requests and tokens of one key over the last 60 seconds, exactly: a
// request recorded at t counts while now < t + 60 s and stops counting at
// t + 60 s.
//
// Events are kept one per bucket (events at the same instant share one) as
// long as the window holds fewer than `exact_capacity` buckets. Past that,
// new events merge into the newest bucket when it began less than 1/1024 of
// the window ago, and a bucket leaves the window 60 s after its *last* event.
// That errs towards counting an event slightly too long, never too short, so
// a limit can never be exceeded; memory stays bounded (about
// exact_capacity + 1024 buckets). A key with an RPM limit gets
// exact_capacity >= its limit, so a strict key is always exact.
//
// Not thread-safe: the pool guards each key with its provider's mutex.
class RateWindow {
 public:
  static constexpr absl::Duration kSpan = absl::Seconds(60);
  static constexpr size_t kDefaultExactCapacity = 1024;

  explicit RateWindow(size_t exact_capacity = kDefaultExactCapacity)
      : exact_capacity_(exact_capacity) {}

  void set_exact_capacity(size_t n) { exact_capacity_ = n < 1 ? 1 : n; }

  // Drops the events that no longer count at `now`.
  void Expire(absl::Time now);

  // Totals of the events still in the window (as of the last Expire).
  int64_t requests() const { return requests_; }
  int64_t tokens() const { return tokens_; }

  // Records one request with `tokens` tokens at `now`. Returns a handle that
  // Adjust takes to correct those tokens later.
  uint64_t Add(absl::Time now, int64_t tokens);

  // Changes the tokens of the event behind `handle` by `delta` if it is
  // still in the window (an event that has left no longer matters). Never
  // takes a bucket below zero.
  void Adjust(uint64_t handle, int64_t delta);

  // Takes the event behind `handle` (one request, `tokens` tokens) back out,
  // if it is still in the window: the lease it counted was never used.
  void Remove(uint64_t handle, int64_t tokens);

  // The earliest time >= now at which one more request carrying `tokens`
  // fits under `max_requests` and `max_tokens` (0 = unlimited), if nothing
  // else is added meanwhile. absl::InfiniteFuture() when it never fits
  // (tokens alone exceed max_tokens). Call after Expire(now).
  absl::Time EarliestFit(absl::Time now, int64_t max_requests, int64_t max_tokens,
                         int64_t tokens) const;

  size_t bucket_count() const { return buckets_.size(); }

  // Events merged into slices, for saving the window (a standby takes over
  // with it): `at` is the time of the newest event a slice holds, so a
  // slice leaves a window no earlier than any of its events did.
  struct Slice {
    absl::Time at;
    int64_t requests = 0;
    int64_t tokens = 0;
  };
  // The events in the window (as of the last Expire), oldest first, each
  // slice spanning less than `granularity`.
  std::vector<Slice> Slices(absl::Duration granularity) const;
  // Counts `requests` requests carrying `tokens` at `at`, like that many
  // Adds (restoring a saved window, oldest first; an `at` before the newest
  // event lands in the newest bucket, which errs towards counting longer).
  void Seed(absl::Time at, int64_t requests, int64_t tokens);

 private:
  struct Bucket {
    int64_t first_ns;
    int64_t last_ns;
    int64_t requests;
    int64_t tokens;
  };

  std::deque<Bucket> buckets_;
  // Handle of buckets_.front(); handles grow by one per bucket ever made.
  uint64_t front_handle_ = 0;
  int64_t requests_ = 0;
  int64_t tokens_ = 0;
  size_t exact_capacity_;
};

}  // namespace aigw::keypool

#endif  // AIGW_SERVICES_KEYPOOL_RATE_WINDOW_H_
