// aigw-keypool: key leasing and rate-limit accounting (aigw.v1.KeyPool).

#include "absl/flags/flag.h"
#include "aigw/v1/keypool.grpc.pb.h"
#include "libs/crypto/master_key.h"
#include "libs/db/env_key_import.h"
#include "libs/server/service_main.h"
#include "spdlog/spdlog.h"

ABSL_FLAG(std::string, master_key_file, "",
          "File holding the master key when AIGW_MASTER_KEY is unset [env AIGW_MASTER_KEY_FILE]");

int main(int argc, char** argv) {
  aigw::server::ServiceSpec spec{.name = "keypool",
                                 .default_grpc_port = 50052,
                                 .default_metrics_port = 9102,
                                 .env_flags = {{"master_key_file", "AIGW_MASTER_KEY_FILE"}}};
  return aigw::server::RunServiceMain(
      spec, argc, argv,
      [](aigw::server::ServiceContext& ctx) -> absl::StatusOr<aigw::server::ServiceParts> {
        absl::StatusOr<aigw::crypto::SecretBox> box =
            aigw::crypto::LoadMasterKey(absl::GetFlag(FLAGS_master_key_file));
        if (!box.ok()) return box.status();
        absl::StatusOr<int> imported = aigw::db::ImportProviderKeysFromEnv(*ctx.db, *box);
        if (!imported.ok()) return imported.status();
        if (*imported > 0) spdlog::info("msg=\"imported API keys from environment\" count={}", *imported);
        aigw::server::ServiceParts parts;
        parts.services.push_back(std::make_unique<aigw::v1::KeyPool::CallbackService>());
        return parts;
      });
}
