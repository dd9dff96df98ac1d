#ifndef AIGW_LIBS_SERVER_SERVICE_MAIN_H_
#define AIGW_LIBS_SERVER_SERVICE_MAIN_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/impl/codegen/service_type.h"
#include "grpcpp/support/server_interceptor.h"
#include "libs/auth/server_auth.h"
#include "libs/common/env_flags.h"
#include "libs/db/database.h"
#include "prometheus/registry.h"

namespace aigw::server {

// What distinguishes one aigw binary from another.
struct ServiceSpec {
  // "gateway", "keypool", "usage", "admin": names the binary aigw-<name>.
  std::string name;
  int default_grpc_port = 0;
  int default_metrics_port = 0;
  // The service's own flags that fall back to environment variables.
  std::vector<EnvFlag> env_flags;
  // gRPC services (full names, "aigw.v1.UsageService") that cannot answer
  // without the database: grpc.health.v1 has them NOT_SERVING while it is
  // unreachable (see DatabaseMonitor), so a readiness probe naming them
  // takes the instance out of rotation. The overall status ("") stays
  // SERVING: the process is alive and heals by itself.
  std::vector<std::string> database_bound_services;
};

// What the shared start-up hands a service once the database is migrated.
struct ServiceContext {
  const ServiceSpec* spec = nullptr;
  db::Database* db = nullptr;
  prometheus::Registry* metrics = nullptr;
  // Checks every call's bearer token before any handler runs (see
  // libs/auth/server_auth.h); services use it to name the caller and to mint
  // tokens for their own calls to peers (NewTokenSource).
  auth::ServerAuth* auth = nullptr;
};

// What a service gives back: the gRPC services to register and hooks for
// shutdown.
struct ServiceParts {
  // Both sync and callback services derive from grpc::Service.
  std::vector<std::unique_ptr<grpc::Service>> services;
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
      interceptors;
  // Called once the gRPC server serves, with its health service (which the
  // service may then set names of, until on_shutdown returns).
  std::function<void(grpc::HealthCheckServiceInterface*)> on_serving;
  // Called after the gRPC server has stopped taking calls and drained: stop
  // background work and flush what must not be lost.
  std::function<void()> on_shutdown;
  // Held for the life of the process (background workers and the like).
  std::vector<std::shared_ptr<void>> keep_alive;
};

using ServiceFactory = std::function<absl::StatusOr<ServiceParts>(ServiceContext&)>;

// The whole life of an aigw binary: flags (with env fallbacks), logging,
// authentication of every call (bearer JWT, role per method; refused before
// start without token keys, --jwt_public_keys_file or AIGW_JWT_SECRET, unless
// --auth_disabled_for_dev on loopback),
// database open and migrations, the gRPC server with health, reflection and
// metrics interceptors, the Prometheus /metrics endpoint, then waiting for
// SIGTERM/SIGINT and draining in-flight calls. Returns the process exit code.
// A start-up failure is one line on stderr and exit code 1.
int RunServiceMain(const ServiceSpec& spec, int argc, char** argv, const ServiceFactory& factory);

}  // namespace aigw::server

#endif  // AIGW_LIBS_SERVER_SERVICE_MAIN_H_
