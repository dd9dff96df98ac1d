#ifndef AIGW_SERVICES_GATEWAY_PREFETCHING_KEY_LEASER_H_
#define AIGW_SERVICES_GATEWAY_PREFETCHING_KEY_LEASER_H_

#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/node_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "libs/common/clock.h"
#include "libs/common/periodic_task.h"
#include "prometheus/counter.h"
#include "services/gateway/key_leaser.h"

namespace aigw::gateway {

// Keeps a few leases per provider ready, so a call usually starts without a
// round trip to the keypool (the round trip was most of the gateway's added
// latency).
//
// The keypool stays the one authority on limits: every ready lease was
// granted and counted by it (LeaseKey.prefetch), and it grants them only from
// keys under half of each of their limits, so near a limit every lease is
// asked for on need, exactly as without prefetching. A ready lease unused
// for `ttl` goes back with outcome RELEASED, which takes its counts off the
// key; so does every ready lease of a key that this gateway has just seen
// rate-limited or refused (its next call would fail the same way), and every
// lease of it a refill brings while its Retry-After (at least `ttl`) runs:
// such a refill was granted before the keypool heard of the 429.
//
// How many are kept follows the demand: about twice the provider's calls in
// flight, at least `min_stock`, at most `max_stock`; refills are asked for
// asynchronously when half are used, one refill per provider at a time.
//
// Calls that find no ready lease wait together: at most kMaxFetches
// LeaseKey calls per provider are out at once, each asking for enough
// leases for the calls waiting, and each answer serves them in arrival order.
// So a burst of thousands of calls makes a few round trips, not thousands
// (each outstanding gRPC call holds ~13 KB and keypool CPU). A call that
// excludes keys (a retry) asks on its own, and so does a call whose token
// estimate is far above the provider's usual (more than twice the moving
// average plus 1024): ready leases are counted with the usual estimate, and
// a big call must pass the keypool's TPM check with its own.
//
// Thread-safe. `done` runs on the caller's thread when a ready lease serves
// the call, else on the inner leaser's thread.
class PrefetchingKeyLeaser final : public KeyLeaser {
 public:
  // The most leases kept ready per provider, and the most one LeaseKey may
  // prefetch (the keypool's limit).
  static constexpr int kMaxStock = 64;

  struct Options {
    // The most leases kept ready per provider (at most 64); 0 turns
    // prefetching off.
    int max_stock = 64;
    // The fewest kept when prefetching is on: refills then come every
    // min_stock / 2 calls or so even when calls come one at a time.
    int min_stock = 8;
    // A ready lease unused this long goes back to the keypool.
    absl::Duration ttl = absl::Seconds(2);
    // How often a background thread gives back expired leases; zero starts
    // no thread (tests call ReleaseExpired).
    absl::Duration sweep_interval = absl::Milliseconds(250);
    // Calls served from ready leases / by a round trip; may be null.
    prometheus::Counter* from_stock = nullptr;
    prometheus::Counter* from_keypool = nullptr;
  };

  // `inner` and `clock` are not owned and must outlive this.
  PrefetchingKeyLeaser(KeyLeaser* inner, Clock* clock, Options options);
  // Stops the sweeper and gives every ready lease back.
  ~PrefetchingKeyLeaser() override;

  void Lease(const aigw::v1::LeaseKeyRequest& request,
             std::function<void(LeaseResult)> done) override;
  void Report(const aigw::v1::ReportUsageRequest& request) override;

  // Gives back the ready leases older than the ttl.
  void ReleaseExpired();
  // Gives back every ready lease (shutdown).
  void ReleaseAll();

  // Ready leases of a provider now.
  int ready(const std::string& provider_code);

 private:
  struct ReadyLease {
    aigw::v1::LeaseKeyResponse lease;
    absl::Time granted_at;
  };
  struct Waiter {
    std::function<void(LeaseResult)> done;
  };
  struct Stock {
    std::deque<ReadyLease> ready;
    // Calls waiting for a lease, first come first served.
    std::deque<Waiter> waiters;
    // Leases handed to calls and not reported yet.
    int in_use = 0;
    bool refill_in_flight = false;
    // LeaseKey calls out for waiters, and the leases they asked for.
    int fetches_in_flight = 0;
    int asked_in_flight = 0;
    // The provider, and the model of the latest call: what refills and
    // fetches name.
    std::string provider_code;
    std::string model;
    // Moving average of the calls' token estimates; ready leases are asked
    // for with it.
    double usual_tokens = -1;
  };
  // A call waiting for a lease, with what to hand it.
  using Handoff = std::pair<std::function<void(LeaseResult)>, LeaseResult>;
  static constexpr int kMaxFetches = 4;
  struct InUse {
    Stock* stock;
    int64_t key_id;
  };

  Stock& StockFor(const std::string& provider_code) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // How many leases `stock` should hold.
  int Target(const Stock& stock) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Moves the ready leases whose ttl has passed into `out`.
  void TakeExpired(Stock& stock, absl::Time now, std::vector<std::string>* out)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Track(Stock& stock, const aigw::v1::LeaseKeyResponse& lease)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A LeaseKey for the stock: its provider and model, the usual estimate,
  // `prefetch` more.
  aigw::v1::LeaseKeyRequest StockRequest(const Stock& stock, int prefetch) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Folds a call's token estimate into the stock's usual one; whether the
  // call is big (over twice the usual plus kBigCallSlack) and must ask the
  // keypool with its own estimate.
  bool NoteEstimate(Stock& stock, int64_t estimate) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Moves the oldest ready lease the request may take (its key neither
  // excluded nor shunned) into `*hit`, if there is one.
  void TakeReady(Stock& stock, const aigw::v1::LeaseKeyRequest& request, absl::Time now,
                 std::optional<LeaseResult>* hit) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A LeaseKey of the call's own (a big call, one that excludes keys, or
  // while stopping); its lease is tracked. rpcs_running_ was counted.
  void LeaseAlone(Stock* stock, const aigw::v1::LeaseKeyRequest& request,
                  std::function<void(LeaseResult)> done);
  // A refill when the stock is down to half its target and none is out.
  std::optional<aigw::v1::LeaseKeyRequest> PlanRefill(Stock& stock)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void SendRefill(Stock* stock, aigw::v1::LeaseKeyRequest request);
  // A LeaseKey for the waiters, if they need one and fewer than kMaxFetches
  // are out.
  std::optional<aigw::v1::LeaseKeyRequest> PlanFetch(Stock& stock)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void SendFetch(Stock* stock, aigw::v1::LeaseKeyRequest request);
  // Takes a refill's or fetch's answer: all its leases join the ready ones
  // (its own first), the waiters are served from the oldest, and while
  // stopping what is left goes into `unwanted`.
  void Absorb(Stock& stock, aigw::v1::LeaseKeyResponse answer, std::vector<Handoff>* handoffs,
              std::vector<std::string>* unwanted) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Release(std::vector<std::string> lease_ids);
  // Whether the key was seen rate-limited or refused and is not to be kept
  // ready before `shunned_` says.
  bool Shunned(int64_t key_id, absl::Time now) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  KeyLeaser* const inner_;
  Clock* const clock_;
  const Options options_;

  absl::Mutex mu_;
  absl::node_hash_map<std::string, Stock> stocks_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, InUse> in_use_ ABSL_GUARDED_BY(mu_);
  // Keys reported RATE_LIMITED or AUTH_FAILED, until when none of their
  // leases is kept ready (swept by ReleaseExpired).
  absl::flat_hash_map<int64_t, absl::Time> shunned_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // LeaseKey calls still running (the destructor waits for them).
  int rpcs_running_ ABSL_GUARDED_BY(mu_) = 0;
  // Gives back the ready leases unused for `ttl` (ReleaseExpired).
  PeriodicTask sweeper_;
};

}  // namespace aigw::gateway

#endif  // AIGW_SERVICES_GATEWAY_PREFETCHING_KEY_LEASER_H_
