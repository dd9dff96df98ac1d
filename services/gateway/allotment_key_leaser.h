#ifndef AIGW_SERVICES_GATEWAY_ALLOTMENT_KEY_LEASER_H_
#define AIGW_SERVICES_GATEWAY_ALLOTMENT_KEY_LEASER_H_

#include <atomic>
#include <cstdint>
#include <optional>
#include <deque>
#include <functional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/node_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "aigw/v1/keypool.pb.h"
#include "libs/common/clock.h"
#include "libs/common/periodic_task.h"
#include "prometheus/counter.h"
#include "services/gateway/key_leaser.h"

namespace aigw::gateway {

// Rides through a time without a keypool on allotments
// (services/keypool/allotment.h): every `refresh_interval` the gateway asks
// the keypool (AllotKeys) for a share of each key of every provider it has
// served, which the keypool holds back from every other lease. Leases go to
// `inner` as before; only when no keypool answers (UNAVAILABLE or
// DEADLINE_EXCEEDED, after the inner leaser's own handover wait) is a call
// served from an allotment, within its limits as this gateway counts them:
//   - requests and tokens in any sliding 60 s at most its per-minute share,
//     requests in all at most its per-day share (0 = the key has no such
//     limit); tokens counted by the call's estimate, then its real count;
//   - only until its deadline: the time the AllotKeys was sent plus the
//     valid_for the keypool gave, so never past the keypool's use_until;
//   - not a key this gateway saw rate-limited or refused since.
// Beyond that the call fails fast with UNAVAILABLE (and moves to its
// fallbacks) as without allotments. When a keypool answers again, leases
// go to it at once: the allotment is only asked after each failure.
//
// On each refresh the gateway lists what it holds with what it spent of
// each: unused ones are extended, used ones settled (counted into the key by
// the keypool) and never used again, whatever the answer; a failed refresh
// keeps the unused ones until their deadlines. A lease from an allotment
// has an id starting "allot:"; its report stays here (never sent to the
// keypool, which counts the allotment's use when it is settled).
//
// Metrics (any may be null): calls served from allotments, calls refused
// with no keypool and no allotment left, refreshes by result, and seconds
// without a keypool (from the first lease no keypool answered to the next
// one that one did; added as it goes, at each refresh).
//
// Thread-safe. `done` runs on the inner leaser's thread.
class AllotmentKeyLeaser final : public KeyLeaser {
 public:
  // One AllotKeys round trip (blocking; called on the refresher's thread).
  using AllotKeysFn = std::function<absl::StatusOr<aigw::v1::AllotKeysResponse>(
      const aigw::v1::AllotKeysRequest&)>;

  struct Options {
    // This gateway's name in the keypool's allotments (pod name and pid).
    std::string holder;
    // How often allotments are asked for; zero starts no thread (tests
    // call Refresh). Well under the keypool's --allotment_use_for.
    absl::Duration refresh_interval = absl::Seconds(15);
    prometheus::Counter* served = nullptr;
    prometheus::Counter* refused = nullptr;
    prometheus::Counter* refreshed = nullptr;
    prometheus::Counter* refresh_failed = nullptr;
    prometheus::Counter* seconds_without_keypool = nullptr;
  };

  // `inner` and `clock` are not owned and must outlive this.
  AllotmentKeyLeaser(KeyLeaser* inner, AllotKeysFn allot_keys, Clock* clock, Options options);
  ~AllotmentKeyLeaser() override;

  void Lease(const aigw::v1::LeaseKeyRequest& request,
             std::function<void(LeaseResult)> done) override;
  void Report(const aigw::v1::ReportUsageRequest& request) override;

  // One AllotKeys per provider served so far.
  void Refresh();
  // Stops refreshing and gives every allotment back (shutdown): the
  // keypool stops holding them back at once instead of when they lapse.
  void GiveBack();

  // Allotments of a provider usable for one more request now (tests).
  int usable(const std::string& provider_code);

  static constexpr char kLeasePrefix[] = "allot:";

 private:
  struct Spend {
    uint64_t seq;
    absl::Time at;
    int64_t tokens;
  };
  struct Held {
    aigw::v1::KeyAllotment grant;
    absl::Time deadline;
    // Requests of the last 60 s, oldest first.
    std::deque<Spend> recent;
    int64_t recent_tokens = 0;
    // Spent since granted (what the next refresh reports).
    int64_t requests = 0;
    int64_t tokens = 0;
    // Seen rate-limited or refused: not used again.
    bool shunned = false;
  };
  struct ProviderAllotments {
    std::string provider_code;
    aigw::v1::AllotKeysResponse provider;  // base_url, api_format, provider_id
    std::vector<Held> held;
    size_t next = 0;
  };
  struct Issued {
    std::string provider_code;
    std::string allotment_id;
    uint64_t seq;
    int64_t estimate;
  };

  // A lease from an allotment of the request's provider, if one fits.
  std::optional<aigw::v1::LeaseKeyResponse> FromAllotment(const std::string& provider_code,
                                                          int64_t estimated_tokens,
                                                          const std::vector<int64_t>& exclude);
  static bool Fits(Held& h, absl::Time now, int64_t tokens);
  Held* Find(const std::string& provider_code, const std::string& allotment_id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RefreshOne(const std::string& provider_code, bool give_back);
  void NoKeypool(absl::Time now);
  void KeypoolAnswered(absl::Time now);
  // Adds the time without a keypool so far to the counter.
  void AccountWithoutKeypool(absl::Time now);

  KeyLeaser* const inner_;
  const AllotKeysFn allot_keys_;
  Clock* const clock_;
  const Options options_;

  absl::Mutex mu_;
  absl::node_hash_map<std::string, ProviderAllotments> providers_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, Issued> issued_ ABSL_GUARDED_BY(mu_);
  uint64_t seq_ ABSL_GUARDED_BY(mu_) = 0;
  // Since when no keypool has answered, in Unix ns (0: one answers).
  std::atomic<int64_t> without_since_ns_{0};
  PeriodicTask refresher_;
};

}  // namespace aigw::gateway

#endif  // AIGW_SERVICES_GATEWAY_ALLOTMENT_KEY_LEASER_H_
