// aigw-usage: call log, daily aggregates and usage queries
// (aigw.v1.UsageService).

#include "aigw/v1/usage.grpc.pb.h"
#include "libs/server/service_main.h"

int main(int argc, char** argv) {
  aigw::server::ServiceSpec spec{
      .name = "usage", .default_grpc_port = 50053, .default_metrics_port = 9103};
  return aigw::server::RunServiceMain(
      spec, argc, argv,
      [](aigw::server::ServiceContext&) -> absl::StatusOr<aigw::server::ServiceParts> {
        aigw::server::ServiceParts parts;
        parts.services.push_back(std::make_unique<aigw::v1::UsageService::CallbackService>());
        return parts;
      });
}
