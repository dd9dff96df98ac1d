#ifndef AIGW_SERVICES_KEYPOOL_ALLOTMENT_H_
#define AIGW_SERVICES_KEYPOOL_ALLOTMENT_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/time/time.h"

namespace aigw::keypool {

// Allotments: how a gateway rides through a time without a keypool.
//
// A gateway asks the active keypool, every few seconds, for an allotment of
// each key of a provider it serves (AllotKeys): a share of the key's RPM,
// TPM and RPD that the gateway may spend on its own, without asking, but
// only while no keypool answers its leases, and only until `use_until`.
// The keypool holds that share back from everyone else for as long as the
// gateway's use of it can count against the key's limits:
//   - RPM and TPM until `counted_until` = use_until + 60 s + slack (a
//     request made just before use_until leaves the provider's sliding
//     window 60 s later);
//   - RPD until the end of the calendar day of use_until (`day_end`).
// Every grant checks window + held back + 1 <= limit (KeyEntry::Fits), and
// an allotment is only granted from what is free (limit - window - held
// back), so the keypool's grants plus every gateway's spending never exceed
// a limit, whatever the gateways do within their allotments.
//
// The life of an allotment (AllotKeys, allotment_store.h):
//   - granted: stored in the database (t_ai_keypool_allotments, under the
//     fencing number) before the gateway hears of it, so a standby that
//     takes over holds back exactly what its predecessor granted;
//   - extended: a gateway that did not use it lists it again and gets a
//     later use_until (the same share; a lost answer leaves the gateway with
//     the earlier use_until, which is safe);
//   - settled: a gateway that used it lists it with what it used; the
//     keypool counts that into the key's window and day (at the time of the
//     settlement, never earlier than it happened) and drops the allotment.
//     The gateway never uses an allotment again once it has sent it back
//     used, whatever the answer;
//   - abandoned (a gateway that died, or stopped asking): nothing is known
//     of its use, so the keypool counts it as fully used: RPM/TPM held back
//     until counted_until, RPD until day_end.
// Shares are small (AllotmentPolicy): their cost is that much less of each
// key for the keypool's own leases, all the time.
struct Allotment {
  std::string id;
  // The gateway it was granted to (its name, for operators).
  std::string holder;
  int64_t key_id = 0;
  // The share of each limit; 0 where the key has no such limit (unlimited).
  int64_t requests = 0;
  int64_t tokens = 0;
  int64_t day_requests = 0;
  absl::Time use_until;
  absl::Time counted_until;
  absl::Time day_end;
};

// What allotments hold back of a key's limits at some instant.
struct HeldBack {
  int64_t requests = 0;
  int64_t tokens = 0;
  int64_t day_requests = 0;

  HeldBack& operator+=(const HeldBack& o) {
    requests += o.requests;
    tokens += o.tokens;
    day_requests += o.day_requests;
    return *this;
  }
};

// What `a` holds back at `now`.
HeldBack HeldBackAt(const Allotment& a, absl::Time now);
// When what `a` holds back next changes after `now`; InfiniteFuture when
// it holds nothing back any more.
absl::Time NextChange(const Allotment& a, absl::Time now);
// Whether `a` holds nothing back at `now` (it can be forgotten).
inline bool Lapsed(const Allotment& a, absl::Time now) {
  return NextChange(a, now) == absl::InfiniteFuture();
}

// How big an allotment is (flags in keypool_flags.cc).
struct AllotmentPolicy {
  // Each gateway's share of each limit of a key.
  double share = 0.05;
  // What all allotments of a key may hold back together (at most 0.5:
  // more is taken as 0.5).
  double max_share = 0.25;
  // How long a gateway may use an allotment without asking again.
  absl::Duration use_for = absl::Seconds(60);
  // Added to counted_until, for the time the gateway's clock may run on
  // after the keypool's (the gateway times use_for from before it asked).
  absl::Duration slack = absl::Seconds(1);
};

// One key's limits (0 = unlimited) and what is in use now.
struct KeyBudget {
  int64_t rpm = 0;
  int64_t tpm = 0;
  int64_t rpd = 0;
  int64_t window_requests = 0;
  int64_t window_tokens = 0;
  int64_t requests_today = 0;
  HeldBack held;
};

// The share of a key one more gateway gets: per limit the smallest of
// limit * policy.share, limit * policy.max_share - held back, and
// limit - in use - held back (rounded down); 0 for a dimension without a
// limit (the gateway may use it freely, nothing is held back). nullopt when
// some limited dimension would get less than one request (or one token).
std::optional<HeldBack> ShareOf(const KeyBudget& key, const AllotmentPolicy& policy);

}  // namespace aigw::keypool

#endif  // AIGW_SERVICES_KEYPOOL_ALLOTMENT_H_
