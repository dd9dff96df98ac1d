// aigw-admin: providers, keys and models (aigw.v1.AdminService).

#include <memory>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "libs/common/logging.h"
#include "libs/crypto/master_key.h"
#include "libs/http/http_engine.h"
#include "libs/server/peer_channel.h"
#include "libs/server/service_main.h"
#include "services/admin/admin_service.h"
#include "services/admin/keypool_notifier.h"

ABSL_FLAG(std::string, master_key_file, "",
          "File holding the master key when AIGW_MASTER_KEY is unset [env AIGW_MASTER_KEY_FILE]");
ABSL_FLAG(std::string, keypool_addr, "localhost:50052",
          "KeyPool service, told to Reload after every key or provider change; empty: none "
          "[env AIGW_KEYPOOL_ADDR]");
ABSL_FLAG(absl::Duration, keypool_reload_timeout, absl::Seconds(3),
          "How long a change waits for the keypool's Reload before answering anyway");
ABSL_FLAG(absl::Duration, upstream_timeout, absl::Seconds(20),
          "One model-list call to a provider (ValidateKey, SyncModels) "
          "[env AIGW_ADMIN_UPSTREAM_TIMEOUT]");
ABSL_FLAG(std::string, time_zone, "UTC",
          "The keypool's zone: the calendar day of the keys' daily counters [env AIGW_TIME_ZONE]");

namespace aigw::admin {
namespace {

// What the admin service runs, owned together and stopped in order.
struct Admin {
  std::unique_ptr<crypto::SecretBox> box;
  std::unique_ptr<http::HttpEngine> http;
  std::unique_ptr<KeyPoolNotifier> keypool;
};

absl::StatusOr<server::ServiceParts> Build(server::ServiceContext& ctx) {
  absl::StatusOr<crypto::SecretBox> box = crypto::LoadMasterKey(absl::GetFlag(FLAGS_master_key_file));
  if (!box.ok()) return box.status();
  absl::TimeZone zone;
  if (!absl::LoadTimeZone(absl::GetFlag(FLAGS_time_zone), &zone)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--time_zone '", absl::GetFlag(FLAGS_time_zone), "' is not a known zone"));
  }
  auto a = std::make_shared<Admin>();
  a->box = std::make_unique<crypto::SecretBox>(*box);
  absl::StatusOr<std::unique_ptr<http::HttpEngine>> engine = http::HttpEngine::Create({});
  if (!engine.ok()) return engine.status();
  a->http = std::move(*engine);
  const std::string keypool_addr = absl::GetFlag(FLAGS_keypool_addr);
  if (keypool_addr.empty()) {
    spdlog::warn("msg=\"no --keypool_addr: key changes reach the keypool at its next poll\"");
    a->keypool = std::make_unique<NoKeyPoolNotifier>();
  } else {
    // Reload needs role admin: it goes out on the token of the operator
    // whose change it announces (this service holds no key to mint one).
    a->keypool = std::make_unique<GrpcKeyPoolNotifier>(
        server::CreatePeerChannel(keypool_addr),
        absl::GetFlag(FLAGS_keypool_reload_timeout));
  }

  AdminServiceDeps deps;
  deps.db = ctx.db;
  deps.box = a->box.get();
  deps.http = a->http.get();
  deps.keypool = a->keypool.get();
  deps.auth = ctx.auth;
  deps.time_zone = zone;
  deps.upstream_timeout = absl::GetFlag(FLAGS_upstream_timeout);

  server::ServiceParts parts;
  parts.services.push_back(std::make_unique<AdminServiceImpl>(deps));
  Admin* raw = a.get();
  parts.on_shutdown = [raw] { raw->http->Shutdown(); };
  parts.keep_alive.push_back(std::move(a));
  return parts;
}

}  // namespace
}  // namespace aigw::admin

int main(int argc, char** argv) {
  aigw::server::ServiceSpec spec{.name = "admin",
                                 .default_grpc_port = 50054,
                                 .default_metrics_port = 9104,
                                 .env_flags = {{"master_key_file", "AIGW_MASTER_KEY_FILE"},
                                               {"keypool_addr", "AIGW_KEYPOOL_ADDR"},
                                               {"upstream_timeout", "AIGW_ADMIN_UPSTREAM_TIMEOUT"},
                                               {"time_zone", "AIGW_TIME_ZONE"}}};
  return aigw::server::RunServiceMain(spec, argc, argv, &aigw::admin::Build);
}
