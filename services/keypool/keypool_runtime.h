#ifndef AIGW_SERVICES_KEYPOOL_KEYPOOL_RUNTIME_H_
#define AIGW_SERVICES_KEYPOOL_KEYPOOL_RUNTIME_H_

#include <memory>

#include "absl/status/statusor.h"
#include "libs/common/clock.h"
#include "libs/crypto/secret_box.h"
#include "libs/db/database.h"
#include "prometheus/registry.h"
#include "services/keypool/allotment_store.h"
#include "services/keypool/allotter.h"
#include "services/keypool/key_pool.h"
#include "services/keypool/key_store.h"
#include "services/keypool/key_sync.h"
#include "services/keypool/keypool_metrics.h"
#include "services/keypool/keypool_role.h"
#include "services/keypool/keypool_service.h"
#include "services/keypool/keypool_window_store.h"
#include "services/keypool/leader_election.h"

namespace aigw::keypool {

// Two or more replicas on one database: one active (grants), the others
// standby (refuse with UNAVAILABLE, take over when it dies).
struct KeyPoolElectionConfig {
  // Off: this process grants whenever it runs (one replica only).
  bool enabled = false;
  // Its clock should be the pool's (KeyPoolConfig.clock).
  LeaderElectionOptions options;
};

struct KeyPoolConfig {
  KeyPoolOptions pool;
  KeySyncOptions sync;
  KeyPoolElectionConfig election;
  Clock* clock = Clock::Real();
};

// A running keypool: metrics, the in-memory pool, the store and the
// background sync, and with an election its role, owned together so they
// are torn down in the right order (granting stops first, then the sync
// thread after a final write-back, then the lease is released so a standby
// takes over at once).
class KeyPoolRuntime {
 public:
  // Loads the keys once (a wrong master key or an unreachable database fails
  // here, before the server starts) and starts the background sync. With an
  // election, makes its first step before returning (a free lease is taken
  // before the server serves) and keeps stepping in the background.
  // `registry` may be null (no metrics); `db` must outlive the runtime.
  static absl::StatusOr<std::unique_ptr<KeyPoolRuntime>> Start(db::Database* db,
                                                               const crypto::SecretBox& box,
                                                               prometheus::Registry* registry,
                                                               const KeyPoolConfig& config);
  ~KeyPoolRuntime();

  // The gRPC service over this runtime; it must not outlive the runtime.
  std::unique_ptr<KeyPoolService> NewService();
  // The health name kKeyPoolHealthName is SERVING while this replica grants:
  // always without an election, else following the role until Stop.
  void AttachHealth(grpc::HealthCheckServiceInterface* health);

  // Stops the background sync after a final write-back. Idempotent.
  void Stop();

  KeyPool& pool() { return *pool_; }
  KeySync& sync() { return *sync_; }
  Allotter& allotter() { return *allotter_; }
  int keys_loaded() const { return keys_loaded_; }
  // Null without an election.
  LeaderElection* election() { return election_.get(); }
  KeyPoolRole* role() { return role_.get(); }

 private:
  explicit KeyPoolRuntime(const crypto::SecretBox& box) : box_(box) {}
  absl::Status SetUpElection(db::Database* db, prometheus::Registry* registry,
                             const KeyPoolElectionConfig& config);
  // What a replica does when it wins the lease: the pool as the database
  // holds it, with the saved rate windows.
  absl::Status TakeOver(int64_t fencing);
  // The saved rate windows and the gateways' allotments into the pool.
  absl::Status RestoreWindows();

  crypto::SecretBox box_;
  std::unique_ptr<KeyPoolMetrics> metrics_;
  std::unique_ptr<KeyPool> pool_;
  std::unique_ptr<KeyStore> store_;
  std::unique_ptr<KeySync> sync_;
  std::unique_ptr<KeyWindowStore> windows_;
  std::unique_ptr<AllotmentStore> allotment_store_;
  std::unique_ptr<Allotter> allotter_;
  std::unique_ptr<LeaderElection> election_;
  std::unique_ptr<KeyPoolRole> role_;
  int keys_loaded_ = 0;
};

}  // namespace aigw::keypool

#endif  // AIGW_SERVICES_KEYPOOL_KEYPOOL_RUNTIME_H_
