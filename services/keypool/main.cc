// aigw-keypool: key leasing and rate-limit accounting (aigw.v1.KeyPool).

#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "libs/crypto/master_key.h"
#include "libs/server/service_main.h"
#include "services/keypool/env_key_import.h"
#include "services/keypool/keypool_flags.h"
#include "services/keypool/keypool_runtime.h"
#include "spdlog/spdlog.h"

ABSL_FLAG(std::string, master_key_file, "",
          "File holding the master key when AIGW_MASTER_KEY is unset [env AIGW_MASTER_KEY_FILE]");

int main(int argc, char** argv) {
  std::vector<aigw::EnvFlag> env_flags = {{"master_key_file", "AIGW_MASTER_KEY_FILE"}};
  for (aigw::EnvFlag& f : aigw::keypool::KeyPoolEnvFlags()) env_flags.push_back(std::move(f));
  aigw::server::ServiceSpec spec{.name = "keypool",
                                 .default_grpc_port = 50052,
                                 .default_metrics_port = 9102,
                                 .env_flags = std::move(env_flags),
                                 // Leases come from memory: ready without the database.
                                 .database_bound_services = {}};
  return aigw::server::RunServiceMain(
      spec, argc, argv,
      [](aigw::server::ServiceContext& ctx) -> absl::StatusOr<aigw::server::ServiceParts> {
        absl::StatusOr<aigw::crypto::SecretBox> box =
            aigw::crypto::LoadMasterKey(absl::GetFlag(FLAGS_master_key_file));
        if (!box.ok()) return box.status();
        absl::StatusOr<aigw::keypool::KeyPoolConfig> config =
            aigw::keypool::KeyPoolConfigFromFlags();
        if (!config.ok()) return config.status();
        absl::StatusOr<int> imported = aigw::keypool::ImportProviderKeysFromEnv(*ctx.db, *box);
        if (!imported.ok()) return imported.status();
        if (*imported > 0) spdlog::info("msg=\"imported API keys from environment\" count={}", *imported);

        absl::StatusOr<std::unique_ptr<aigw::keypool::KeyPoolRuntime>> runtime =
            aigw::keypool::KeyPoolRuntime::Start(ctx.db, *box, ctx.metrics, *config);
        if (!runtime.ok()) return runtime.status();
        spdlog::info("msg=\"keys loaded\" count={} time_zone=\"{}\"", (*runtime)->keys_loaded(),
                     config->pool.time_zone.name());

        std::shared_ptr<aigw::keypool::KeyPoolRuntime> rt = std::move(*runtime);
        aigw::server::ServiceParts parts;
        parts.services.push_back(rt->NewService());
        // After the server has drained: stop polling and write the counters
        // back one last time, so a restart resumes today's counts.
        aigw::keypool::KeyPoolRuntime* raw = rt.get();
        parts.on_shutdown = [raw] { raw->Stop(); };
        // Readiness follows the role: aigw.v1.KeyPool is SERVING only on
        // the active replica.
        parts.on_serving = [raw](grpc::HealthCheckServiceInterface* health) {
          raw->AttachHealth(health);
        };
        parts.keep_alive.push_back(std::move(rt));
        return parts;
      });
}
