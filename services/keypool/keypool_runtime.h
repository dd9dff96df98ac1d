#ifndef AIGW_SERVICES_KEYPOOL_KEYPOOL_RUNTIME_H_
#define AIGW_SERVICES_KEYPOOL_KEYPOOL_RUNTIME_H_

#include <memory>

#include "absl/status/statusor.h"
#include "libs/common/clock.h"
#include "libs/crypto/secret_box.h"
#include "libs/db/database.h"
#include "prometheus/registry.h"
#include "services/keypool/key_pool.h"
#include "services/keypool/key_store.h"
#include "services/keypool/key_sync.h"
#include "services/keypool/keypool_metrics.h"
#include "services/keypool/keypool_service.h"

namespace aigw::keypool {

struct KeyPoolConfig {
  KeyPoolOptions pool;
  KeySyncOptions sync;
  Clock* clock = Clock::Real();
};

// A running keypool: metrics, the in-memory pool, the store and the
// background sync, owned together so they are torn down in the right order
// (the sync thread first).
class KeyPoolRuntime {
 public:
  // Loads the keys once (a wrong master key or an unreachable database fails
  // here, before the server starts) and starts the background sync.
  // `registry` may be null (no metrics); `db` must outlive the runtime.
  static absl::StatusOr<std::unique_ptr<KeyPoolRuntime>> Start(db::Database* db,
                                                               const crypto::SecretBox& box,
                                                               prometheus::Registry* registry,
                                                               const KeyPoolConfig& config);
  ~KeyPoolRuntime();

  // The gRPC service over this runtime; it must not outlive the runtime.
  std::unique_ptr<KeyPoolService> NewService();

  // Stops the background sync after a final write-back. Idempotent.
  void Stop();

  KeyPool& pool() { return *pool_; }
  KeySync& sync() { return *sync_; }
  int keys_loaded() const { return keys_loaded_; }

 private:
  explicit KeyPoolRuntime(const crypto::SecretBox& box) : box_(box) {}

  crypto::SecretBox box_;
  std::unique_ptr<KeyPoolMetrics> metrics_;
  std::unique_ptr<KeyPool> pool_;
  std::unique_ptr<KeyStore> store_;
  std::unique_ptr<KeySync> sync_;
  int keys_loaded_ = 0;
};

}  // namespace aigw::keypool

#endif  // AIGW_SERVICES_KEYPOOL_KEYPOOL_RUNTIME_H_
