#ifndef AIGW_SERVICES_KEYPOOL_ALLOTTER_H_
#define AIGW_SERVICES_KEYPOOL_ALLOTTER_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "libs/common/periodic_task.h"
#include "services/keypool/allotment_store.h"
#include "services/keypool/key_pool.h"
#include "services/keypool/keypool_metrics.h"

namespace aigw::keypool {

// AllotKeys (allotment.h) off the gRPC threads: each request is planned in
// the pool, stored (AllotmentStore, under the fencing number this replica
// grants with) and only then confirmed and answered; a plan that cannot be
// stored is undone and answered UNAVAILABLE, leaving every allotment as it
// was. One request at a time, in arrival order, on a thread of its own, so
// a slow database never holds a gRPC thread (LeaseKey's) and plans never
// interleave.
//
// Also: Restore (a takeover: the stored allotments replace the pool's) and
// Sweep (lapsed allotments forgotten; the gauge). Thread-safe.
class Allotter {
 public:
  using Done = std::function<void(absl::StatusOr<AllotmentPlan>)>;

  // None of the pointers is owned; `metrics` may be null. `fencing` gives
  // the fencing number to store grants under (0 without an election).
  Allotter(KeyPool* pool, AllotmentStore* store, std::function<int64_t()> fencing,
           KeyPoolMetrics* metrics);
  ~Allotter() { Stop(); }

  // From Start to Stop requests run on the allotter's thread; otherwise
  // inline on the caller's.
  void Start();
  // Answers what is queued UNAVAILABLE.
  void Stop();

  // `done` runs on the allotter's thread (or the caller's, when stopped).
  void Allot(std::string provider_code, std::string holder, std::vector<AllotmentUse> held,
             bool give_back, Done done);
  // The same, on the caller's thread.
  absl::StatusOr<AllotmentPlan> AllotNow(const std::string& provider_code,
                                         const std::string& holder,
                                         const std::vector<AllotmentUse>& held,
                                         bool give_back = false);

  // The stored allotments replace the pool's (after a fresh load).
  absl::Status Restore();
  // Forgets lapsed allotments and updates the gauge.
  void Sweep();

 private:
  struct Request {
    std::string provider_code;
    std::string holder;
    std::vector<AllotmentUse> held;
    bool give_back = false;
    Done done;
  };
  void RunQueued();

  KeyPool* const pool_;
  AllotmentStore* const store_;
  const std::function<int64_t()> fencing_;
  KeyPoolMetrics* const metrics_;
  absl::Mutex mu_;
  bool running_ ABSL_GUARDED_BY(mu_) = false;
  std::deque<Request> queue_ ABSL_GUARDED_BY(mu_);
  PeriodicTask worker_{absl::InfiniteDuration(), [this] { RunQueued(); }};
};

}  // namespace aigw::keypool

#endif  // AIGW_SERVICES_KEYPOOL_ALLOTTER_H_
