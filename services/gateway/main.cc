// aigw-gateway: the completion pipeline (aigw.v1.ChatService).

#include "absl/flags/flag.h"
#include "aigw/v1/chat.grpc.pb.h"
#include "libs/server/service_main.h"

ABSL_FLAG(std::string, keypool_addr, "localhost:50052", "KeyPool service [env AIGW_KEYPOOL_ADDR]");
ABSL_FLAG(std::string, usage_addr, "localhost:50053", "Usage service [env AIGW_USAGE_ADDR]");

int main(int argc, char** argv) {
  aigw::server::ServiceSpec spec{
      .name = "gateway",
      .default_grpc_port = 50051,
      .default_metrics_port = 9101,
      .env_flags = {{"keypool_addr", "AIGW_KEYPOOL_ADDR"}, {"usage_addr", "AIGW_USAGE_ADDR"}}};
  return aigw::server::RunServiceMain(spec, argc, argv, [](aigw::server::ServiceContext&) {
    aigw::server::ServiceParts parts;
    // Methods not overridden answer UNIMPLEMENTED until the pipeline lands.
    parts.services.push_back(std::make_unique<aigw::v1::ChatService::CallbackService>());
    return absl::StatusOr<aigw::server::ServiceParts>(std::move(parts));
  });
}
