#ifndef AIGW_LIBS_SERVER_DATABASE_MONITOR_H_
#define AIGW_LIBS_SERVER_DATABASE_MONITOR_H_

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/health_check_service_interface.h"
#include "libs/common/periodic_task.h"
#include "libs/db/database.h"
#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/registry.h"

namespace aigw::server {

// The name under which every binary's grpc.health.v1 answers whether its
// database is reachable (SERVING) or not (NOT_SERVING).
inline constexpr char kDatabaseHealthName[] = "aigw.database";

// Shows the database's state in a service's metrics and readiness, and
// keeps probing it so both are right (and lost sessions reconnect) even
// when no call comes:
//   aigw_db_up                      1 while the database answers, else 0
//   aigw_db_errors_total{kind}      failed database calls: connection |
//                                   busy | query (see db::DbErrorKind)
//   aigw_db_reconnects_total{result}  ok | failed
// grpc.health.v1: `kDatabaseHealthName` and each of `bound_services` (gRPC
// services that cannot answer without the database) are SERVING exactly
// while the database is up. The overall status ("") is left alone: it says
// the process lives, so a liveness probe does not restart a service that
// only waits for its database.
// Thread-safe.
class DatabaseMonitor : public db::DatabaseObserver {
 public:
  // Registers itself as `db`'s observer; `db` must outlive this.
  DatabaseMonitor(db::Database* db, prometheus::Registry& registry,
                  std::vector<std::string> bound_services);
  ~DatabaseMonitor() override;

  // From now on the health statuses follow the database (set at once to
  // the current state). `health` must outlive Stop().
  void AttachHealth(grpc::HealthCheckServiceInterface* health);
  // Pings the database every `interval` on a thread of its own.
  void StartProbing(absl::Duration interval);
  // Stops probing and leaves the health statuses alone (shutdown sets them).
  void Stop();

  // db::DatabaseObserver
  void OnAvailability(bool up, absl::string_view cause) override;
  void OnError(db::DbErrorKind kind) override;
  void OnReconnect(bool ok) override;

 private:
  void SetHealthLocked(bool up) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  db::Database* const db_;
  const std::vector<std::string> bound_services_;
  prometheus::Gauge* up_;
  // By db::DbErrorKind.
  std::array<prometheus::Counter*, 3> errors_{};
  prometheus::Counter* reconnects_ok_;
  prometheus::Counter* reconnects_failed_;

  absl::Mutex mu_;
  grpc::HealthCheckServiceInterface* health_ ABSL_GUARDED_BY(mu_) = nullptr;
  absl::Time down_since_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  std::unique_ptr<PeriodicTask> prober_;
};

}  // namespace aigw::server

#endif  // AIGW_LIBS_SERVER_DATABASE_MONITOR_H_
