// aigw-admin: providers, keys and models (aigw.v1.AdminService).

#include "absl/flags/flag.h"
#include "aigw/v1/admin.grpc.pb.h"
#include "libs/crypto/master_key.h"
#include "libs/server/service_main.h"

ABSL_FLAG(std::string, master_key_file, "",
          "File holding the master key when AIGW_MASTER_KEY is unset [env AIGW_MASTER_KEY_FILE]");

int main(int argc, char** argv) {
  aigw::server::ServiceSpec spec{.name = "admin",
                                 .default_grpc_port = 50054,
                                 .default_metrics_port = 9104,
                                 .env_flags = {{"master_key_file", "AIGW_MASTER_KEY_FILE"}}};
  return aigw::server::RunServiceMain(
      spec, argc, argv,
      [](aigw::server::ServiceContext&) -> absl::StatusOr<aigw::server::ServiceParts> {
        absl::StatusOr<aigw::crypto::SecretBox> box =
            aigw::crypto::LoadMasterKey(absl::GetFlag(FLAGS_master_key_file));
        if (!box.ok()) return box.status();
        aigw::server::ServiceParts parts;
        parts.services.push_back(std::make_unique<aigw::v1::AdminService::CallbackService>());
        return parts;
      });
}
