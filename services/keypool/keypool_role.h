#ifndef AIGW_SERVICES_KEYPOOL_KEYPOOL_ROLE_H_
#define AIGW_SERVICES_KEYPOOL_KEYPOOL_ROLE_H_

#include <atomic>
#include <cstdint>
#include <functional>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/health_check_service_interface.h"
#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "services/keypool/keypool_service.h"
#include "services/keypool/leader_election.h"

namespace aigw::keypool {

// The gRPC health name that is SERVING exactly while this replica grants
// (the readiness probe names it, so the Service routes to the active one);
// the overall status ("") says only that the process lives.
inline constexpr char kKeyPoolHealthName[] = "aigw.v1.KeyPool";

// A keypool replica's role in an active/standby pair, from a LeaderElection:
//   - active (granting) once it holds the leader lease AND has taken over:
//     `take_over` (KeySync::ReloadFresh, then the saved rate windows) ran
//     with that fencing number. Until then, and whenever the election says
//     it is not active (lost, lapsed, released), every KeyPool call is
//     UNAVAILABLE, the health name NOT_SERVING, write-back off.
//   - a takeover that fails (database unreachable) is tried again after the
//     election's next step.
// Metrics: aigw_keypool_role{role} (1 for the current role: active |
// standby), aigw_keypool_takeovers_total, aigw_keypool_fencing.
// Thread-safe; CheckServing is lock-free.
class KeyPoolRole : public ServingGate {
 public:
  // Makes the pool ready to grant for `fencing`; not OK leaves it standby.
  using TakeOver = std::function<absl::Status(int64_t fencing)>;

  // Registers itself as `election`'s role callback (none of the pointers is
  // owned; `registry` may be null).
  KeyPoolRole(LeaderElection* election, TakeOver take_over, prometheus::Registry* registry);

  // ServingGate: OK while active; UNAVAILABLE naming the active replica.
  absl::Status CheckServing() const override;
  // Whether write-back may run: this replica took over with the fencing
  // number it still holds (its validity may have lapsed: the write's fence
  // decides).
  bool MayWrite() const;
  // The fencing number the pool was taken over with (0: standby).
  int64_t serving_fencing() const { return serving_fencing_.load(std::memory_order_acquire); }

  // From now on the health name follows the role. `health` must outlive
  // DetachHealth.
  void AttachHealth(grpc::HealthCheckServiceInterface* health);
  void DetachHealth();

  // Refuses every call from now on (shutdown), keeping MayWrite for the
  // final write-back.
  void StopGranting();

  // Called after every election step: retries a failed takeover and makes
  // the health name follow a lapse of validity.
  void AfterStep();

 private:
  void OnRoleChange(bool active, int64_t fencing);
  void TryTakeOver(int64_t fencing);
  void Publish();

  LeaderElection* const election_;
  const TakeOver take_over_;
  std::atomic<int64_t> serving_fencing_{0};
  std::atomic<bool> stopped_{false};
  // The fencing number won and not yet taken over (a failed takeover).
  std::atomic<int64_t> pending_fencing_{0};

  prometheus::Gauge* role_active_ = nullptr;
  prometheus::Gauge* role_standby_ = nullptr;
  prometheus::Counter* takeovers_ = nullptr;
  prometheus::Gauge* fencing_gauge_ = nullptr;
  prometheus::Histogram* renewal_seconds_ = nullptr;
  prometheus::Counter* lapsed_seconds_ = nullptr;

  absl::Mutex health_mu_;
  grpc::HealthCheckServiceInterface* health_ ABSL_GUARDED_BY(health_mu_) = nullptr;
  // What the health name was last set to (-1: never).
  int published_ ABSL_GUARDED_BY(health_mu_) = -1;
};

}  // namespace aigw::keypool

#endif  // AIGW_SERVICES_KEYPOOL_KEYPOOL_ROLE_H_
