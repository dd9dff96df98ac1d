#include "libs/server/service_main.h"

#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <exception>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "libs/auth/jwt_key.h"
#include "libs/auth/jwt_secret.h"
#include "libs/auth/server_auth.h"
#include "libs/common/logging.h"
#include "libs/db/migrations.h"
#include "libs/server/database_monitor.h"
#include "libs/server/grpc_metrics.h"
#include "libs/server/signals.h"
#include "prometheus/exposer.h"
#include "prometheus/gauge.h"

ABSL_FLAG(std::string, grpc_addr, "",
          "gRPC listen address [env AIGW_GRPC_ADDR] (default 0.0.0.0:<service port>)");
ABSL_FLAG(std::string, metrics_addr, "",
          "Prometheus /metrics listen address [env AIGW_METRICS_ADDR] (default "
          "0.0.0.0:<metrics port>)");
ABSL_FLAG(std::string, db_url, "",
          "Database URL [env AIGW_DB_URL; else DB_HOST/DB_PORT/DB_USERNAME/DB_PASSWORD/"
          "DB_DATABASE; else sqlite3://var/aigw.db]");
ABSL_FLAG(int, db_pool_size, 8, "Database connections [env AIGW_DB_POOL_SIZE]");
ABSL_FLAG(absl::Duration, db_reconnect_max_backoff, absl::Seconds(2),
          "Longest wait between two attempts to reconnect to an unreachable database (the "
          "first waits 100ms, each next one twice as long) [env AIGW_DB_RECONNECT_MAX_BACKOFF]");
ABSL_FLAG(std::string, log_level, "info",
          "trace|debug|info|warn|error [env AIGW_LOG_LEVEL]");
ABSL_FLAG(bool, migrate_only, false,
          "Apply database migrations, then exit (a Kubernetes Job or init step)");
ABSL_FLAG(std::string, jwt_secret_file, "",
          "Development: file holding the HS256 secret of the bearer tokens when AIGW_JWT_SECRET "
          "is unset; whoever holds it can mint any token [env AIGW_JWT_SECRET_FILE]");
ABSL_FLAG(std::string, jwt_public_keys_file, "",
          "PEM file of the operators' RS256 public keys: admin and caller tokens (several during "
          "a rotation) [env AIGW_JWT_PUBLIC_KEYS_FILE]");
ABSL_FLAG(std::string, service_public_keys_file, "",
          "PEM file of the services' RS256 public keys: role service tokens, accepted only for "
          "LeaseKey, ReportUsage(Batch) and RecordCalls [env AIGW_SERVICE_PUBLIC_KEYS_FILE]");
ABSL_FLAG(std::string, service_key_file, "",
          "PEM file of this service's RS256 private key, which signs its calls to its peers "
          "(the gateway) [env AIGW_SERVICE_KEY_FILE]");
ABSL_FLAG(bool, auth_disabled_for_dev, false,
          "Development only: take calls without tokens. Refused unless --grpc_addr is a loopback "
          "address [env AIGW_AUTH_DISABLED_FOR_DEV]");
ABSL_FLAG(absl::Duration, shutdown_grace, absl::Seconds(25),
          "On SIGTERM, how long in-flight calls may run before they are cancelled "
          "[env AIGW_SHUTDOWN_GRACE]");

namespace aigw::server {
namespace {

constexpr char kDefaultDbUrl[] = "sqlite3://var/aigw.db";

// Start-up failures end the process with exactly one line on stderr.
int Fail(const ServiceSpec& spec, absl::string_view what) {
  std::fprintf(stderr, "aigw-%s: %.*s\n", spec.name.c_str(), static_cast<int>(what.size()),
               what.data());
  std::fflush(stderr);
  return 1;
}

std::string ResolveDbUrl() {
  std::string url = absl::GetFlag(FLAGS_db_url);
  if (url.empty()) url = db::DatabaseUrl::FromLegacyEnv();
  if (url.empty()) url = kDefaultDbUrl;
  return url;
}

// The keys of the bearer tokens, from the flags: the verification keys this
// service accepts and the key it signs its own calls with. `*summary` is for
// the log once the service starts (a start-up failure stays one line).
absl::Status LoadAuthKeys(auth::ServerAuthOptions* o, std::string* summary) {
  absl::StatusOr<std::string> secret = auth::LoadJwtSecret(absl::GetFlag(FLAGS_jwt_secret_file));
  if (secret.ok()) {
    o->secret = *std::move(secret);
  } else if (!absl::IsNotFound(secret.status())) {
    return secret.status();
  }
  for (const auto& [file, scope] :
       {std::pair{absl::GetFlag(FLAGS_jwt_public_keys_file), auth::KeyScope::kOperator},
        std::pair{absl::GetFlag(FLAGS_service_public_keys_file), auth::KeyScope::kService}}) {
    if (file.empty()) continue;
    absl::StatusOr<std::vector<auth::JwtKey>> keys = auth::LoadRs256PublicKeysFile(file, scope);
    if (!keys.ok()) return keys.status();
    o->public_keys.insert(o->public_keys.end(), keys->begin(), keys->end());
  }
  if (const std::string file = absl::GetFlag(FLAGS_service_key_file); !file.empty()) {
    absl::StatusOr<auth::JwtKey> key = auth::LoadRs256PrivateKeyFile(file);
    if (!key.ok()) return key.status();
    o->service_key = *std::move(key);
  }
  if (o->secret.empty() && o->public_keys.empty()) {
    if (o->disabled) return absl::OkStatus();
    return absl::InvalidArgumentError(
        "no keys to verify bearer tokens with: give --jwt_public_keys_file (the operators' RS256 "
        "public keys; production) or, for development, AIGW_JWT_SECRET / --jwt_secret_file "
        "(HS256; openssl rand -hex 32)");
  }
  auth::JwtKeySet accepted = auth::JwtKeySet::Hs256Only(o->secret);
  for (const auth::JwtKey& k : o->public_keys) {
    if (absl::Status st = accepted.Add(k); !st.ok()) return st;
  }
  *summary = absl::StrCat(
      "accepted=\"", accepted.Describe(), "\" signs_with=\"",
      o->service_key.has_value() ? absl::StrCat("RS256 kid=", o->service_key->kid())
      : o->secret.empty()        ? std::string("nothing")
                                 : std::string("HS256 (shared)"),
      "\"");
  return absl::OkStatus();
}

// Process-wide settings, before anything else runs.
void PrepareProcess() {
  BlockTerminationSignals();
  // Debian's Abseil checks every absl::Mutex (gRPC's included) for lock-order
  // cycles, a debugging aid that costs ~15% of a short RPC's CPU.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  // A gateway holds one socket per in-flight upstream call: lift the soft
  // descriptor limit (often 1024) to the hard one.
  if (rlimit lim; getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
  }
}

// The environment's values for flags not given (the shared ones and the
// service's own), then the command line, then logging as it says.
absl::Status ParseFlags(const ServiceSpec& spec, int argc, char** argv) {
  absl::SetProgramUsageMessage(absl::StrCat("aigw-", spec.name, ": the aigw ", spec.name,
                                            " service. Flags fall back to the environment "
                                            "variables named in their help."));
  std::vector<EnvFlag> env = {{"grpc_addr", "AIGW_GRPC_ADDR"},
                              {"metrics_addr", "AIGW_METRICS_ADDR"},
                              {"db_url", "AIGW_DB_URL"},
                              {"db_pool_size", "AIGW_DB_POOL_SIZE"},
                              {"db_reconnect_max_backoff", "AIGW_DB_RECONNECT_MAX_BACKOFF"},
                              {"log_level", "AIGW_LOG_LEVEL"},
                              {"shutdown_grace", "AIGW_SHUTDOWN_GRACE"},
                              {"jwt_secret_file", "AIGW_JWT_SECRET_FILE"},
                              {"jwt_public_keys_file", "AIGW_JWT_PUBLIC_KEYS_FILE"},
                              {"service_public_keys_file", "AIGW_SERVICE_PUBLIC_KEYS_FILE"},
                              {"service_key_file", "AIGW_SERVICE_KEY_FILE"},
                              {"auth_disabled_for_dev", "AIGW_AUTH_DISABLED_FOR_DEV"}};
  env.insert(env.end(), spec.env_flags.begin(), spec.env_flags.end());
  if (absl::Status st = ApplyEnvFallbacks(env); !st.ok()) return st;
  absl::ParseCommandLine(argc, argv);
  return InitLogging(spec.name, absl::GetFlag(FLAGS_log_level));
}

// The token keys (see LoadAuthKeys), and development mode's conditions.
absl::Status ConfigureAuth(const std::string& grpc_addr, auth::ServerAuthOptions* o,
                           std::string* token_keys) {
  o->disabled = absl::GetFlag(FLAGS_auth_disabled_for_dev);
  if (absl::Status st = LoadAuthKeys(o, token_keys); !st.ok()) return st;
  if (!o->disabled) return absl::OkStatus();
  if (!auth::IsLoopbackAddress(grpc_addr)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--auth_disabled_for_dev is refused: gRPC address ", grpc_addr,
                     " is not loopback (use 127.0.0.1:<port>)"));
  }
  spdlog::warn("msg=\"AUTHENTICATION IS OFF (--auth_disabled_for_dev): any local process may "
               "call every RPC; never run like this outside a developer machine\" grpc_addr=\"{}\"",
               grpc_addr);
  return absl::OkStatus();
}

// The database of the flags, opened and migrated.
absl::StatusOr<std::unique_ptr<db::Database>> OpenDatabase() {
  absl::StatusOr<db::DatabaseUrl> url = db::DatabaseUrl::Parse(ResolveDbUrl());
  if (!url.ok()) return url.status();
  db::DatabaseOptions db_options;
  db_options.pool_size = absl::GetFlag(FLAGS_db_pool_size);
  db_options.reconnect_max_backoff = absl::GetFlag(FLAGS_db_reconnect_max_backoff);
  if (db_options.reconnect_max_backoff <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--db_reconnect_max_backoff must be positive");
  }
  db_options.reconnect_initial_backoff =
      std::min(db_options.reconnect_initial_backoff, db_options.reconnect_max_backoff);
  absl::StatusOr<std::unique_ptr<db::Database>> database = db::Database::Open(*url, db_options);
  if (!database.ok()) return database.status();
  absl::StatusOr<std::vector<int>> applied = db::ApplyMigrations(**database);
  if (!applied.ok()) {
    return absl::Status(applied.status().code(), absl::StrCat("database ", url->display, ": ",
                                                              applied.status().message()));
  }
  spdlog::info("msg=\"database ready\" url=\"{}\" migrations_applied={}", url->display,
               applied->size());
  return database;
}

std::shared_ptr<prometheus::Registry> NewRegistry(const ServiceSpec& spec) {
  auto registry = std::make_shared<prometheus::Registry>();
  prometheus::BuildGauge()
      .Name("aigw_build_info")
      .Help("Always 1; labels carry the build's version and the service.")
      .Register(*registry)
      .Add({{"version", AIGW_VERSION}, {"service", spec.name}})
      .Set(1);
  return registry;
}

// /metrics on `addr`.
absl::StatusOr<std::unique_ptr<prometheus::Exposer>> StartExposer(
    const std::string& addr, const std::shared_ptr<prometheus::Registry>& registry) {
  try {
    auto exposer = std::make_unique<prometheus::Exposer>(addr);
    exposer->RegisterCollectable(registry);
    return exposer;
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("cannot serve /metrics on ", addr, ": ", e.what()));
  }
}

// The gRPC server of the service's parts on `grpc_addr`, started; null when
// it cannot listen there.
std::unique_ptr<grpc::Server> StartGrpcServer(const std::string& grpc_addr,
                                              auth::ServerAuth& server_auth,
                                              GrpcServerMetrics& grpc_metrics, ServiceParts& parts,
                                              int* bound_port) {
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  // Without this a second instance on the same port would silently share it.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  // The credentials carry the token check: a refused call ends in gRPC core,
  // before interceptors and handlers.
  builder.AddListeningPort(grpc_addr, server_auth.ServerCredentials(), bound_port);
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(grpc_metrics.NewInterceptorFactory());
  for (auto& i : parts.interceptors) interceptors.push_back(std::move(i));
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  for (auto& svc : parts.services) builder.RegisterService(svc.get());
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (*bound_port == 0) server.reset();
  return server;
}

// Said once the service serves (a start-up failure stays one line).
void LogTokenKeys(const std::string& token_keys, bool secret_beside_public_keys) {
  if (!token_keys.empty()) spdlog::info("msg=\"token keys\" {}", token_keys);
  if (secret_beside_public_keys) {
    spdlog::warn("msg=\"the HS256 key is accepted next to RS256 keys: whoever holds it can mint "
                 "any token, admin included; remove AIGW_JWT_SECRET once every client uses the "
                 "RS256 keys\"");
  }
}

// Waits for SIGTERM/SIGINT, then stops taking calls and lets in-flight ones
// finish within the grace period.
void ServeUntilSignal(grpc::Server& server, DatabaseMonitor& db_monitor, ServiceParts& parts) {
  const int sig = WaitForTerminationSignal();
  const absl::Duration grace = absl::GetFlag(FLAGS_shutdown_grace);
  spdlog::info("msg=\"shutting down\" signal={} grace_ms={}", sig, absl::ToInt64Milliseconds(grace));
  // Probes see NOT_SERVING at once, so load balancers stop sending new calls
  // while in-flight ones finish (and the database monitor no longer sets it).
  db_monitor.Stop();
  server.GetHealthCheckService()->SetServingStatus(false);
  server.Shutdown(absl::ToChronoTime(absl::Now() + grace));
  server.Wait();
  if (parts.on_shutdown) parts.on_shutdown();
}

// The listen addresses of the flags, else the service's default ports.
struct ListenAddresses {
  std::string grpc;
  std::string metrics;
};

ListenAddresses ResolveListenAddresses(const ServiceSpec& spec) {
  ListenAddresses a{absl::GetFlag(FLAGS_grpc_addr), absl::GetFlag(FLAGS_metrics_addr)};
  if (a.grpc.empty()) a.grpc = absl::StrCat("0.0.0.0:", spec.default_grpc_port);
  if (a.metrics.empty()) a.metrics = absl::StrCat("0.0.0.0:", spec.default_metrics_port);
  return a;
}

// With flags, auth keys and database ready: the service's parts, /metrics
// and the gRPC server, serving until a termination signal. The exit code.
int Serve(const ServiceSpec& spec, const ServiceFactory& factory, const ListenAddresses& addrs,
          db::Database* database, auth::ServerAuthOptions auth_options,
          const std::string& token_keys) {
  std::shared_ptr<prometheus::Registry> registry = NewRegistry(spec);
  GrpcServerMetrics grpc_metrics(*registry);
  // Before the service's parts, so it outlives their background threads.
  DatabaseMonitor db_monitor(database, *registry, spec.database_bound_services);
  db_monitor.StartProbing(absl::Seconds(1));
  auth_options.metrics = registry.get();
  const bool secret_beside_public_keys =
      !auth_options.secret.empty() && !auth_options.public_keys.empty();
  absl::StatusOr<std::unique_ptr<auth::ServerAuth>> server_auth =
      auth::ServerAuth::Create(std::move(auth_options));
  if (!server_auth.ok()) return Fail(spec, server_auth.status().message());

  ServiceContext ctx{&spec, database, registry.get(), server_auth->get()};
  absl::StatusOr<ServiceParts> parts = factory(ctx);
  if (!parts.ok()) return Fail(spec, parts.status().message());

  absl::StatusOr<std::unique_ptr<prometheus::Exposer>> exposer =
      StartExposer(addrs.metrics, registry);
  if (!exposer.ok()) return Fail(spec, exposer.status().message());
  int bound_port = 0;
  std::unique_ptr<grpc::Server> server =
      StartGrpcServer(addrs.grpc, **server_auth, grpc_metrics, *parts, &bound_port);
  if (server == nullptr) {
    return Fail(spec, absl::StrCat("cannot listen for gRPC on ", addrs.grpc,
                                   " (address in use or not valid)"));
  }
  LogTokenKeys(token_keys, secret_beside_public_keys);
  db_monitor.AttachHealth(server->GetHealthCheckService());
  if (parts->on_serving) parts->on_serving(server->GetHealthCheckService());
  std::vector<int> metric_ports = (*exposer)->GetListeningPorts();
  spdlog::info("msg=\"serving\" grpc_addr=\"{}\" grpc_port={} metrics_port={}", addrs.grpc,
               bound_port, metric_ports.empty() ? 0 : metric_ports.front());

  ServeUntilSignal(*server, db_monitor, *parts);
  server.reset();
  // civetweb's stop polls its listener thread once a second; the process is
  // exiting and the OS closes the socket, so skip that wait.
  (void)exposer->release();
  spdlog::info("msg=\"stopped\"");
  spdlog::default_logger()->flush();
  return 0;
}

}  // namespace

int RunServiceMain(const ServiceSpec& spec, int argc, char** argv, const ServiceFactory& factory) {
  PrepareProcess();
  if (absl::Status st = ParseFlags(spec, argc, argv); !st.ok()) return Fail(spec, st.message());
  const ListenAddresses addrs = ResolveListenAddresses(spec);

  auth::ServerAuthOptions auth_options;
  std::string token_keys;
  // Checked before anything else so a bad key is the one line printed; a
  // migration run (a Kubernetes Job) needs no keys.
  if (!absl::GetFlag(FLAGS_migrate_only)) {
    if (absl::Status st = ConfigureAuth(addrs.grpc, &auth_options, &token_keys); !st.ok()) {
      return Fail(spec, st.message());
    }
  }
  absl::StatusOr<std::unique_ptr<db::Database>> database = OpenDatabase();
  if (!database.ok()) return Fail(spec, database.status().message());
  if (absl::GetFlag(FLAGS_migrate_only)) return 0;
  return Serve(spec, factory, addrs, database->get(), std::move(auth_options), token_keys);
}

}  // namespace aigw::server
