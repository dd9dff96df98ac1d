// aigw-admin: providers, keys and models (aigw.v1.AdminService).

#include <memory>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "libs/common/logging.h"
#include "libs/crypto/master_key.h"
#include "libs/http/host_allowlist.h"
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
ABSL_FLAG(std::string, provider_host_allowlist, "",
          "Comma-separated hosts a provider's base_url may name, and that ValidateKey and "
          "SyncModels may call (\"api.openai.com,*.example.com\"); empty: any host, so an admin "
          "can send keys and prompts anywhere [env AIGW_PROVIDER_HOST_ALLOWLIST]");
ABSL_FLAG(std::string, time_zone, "UTC",
          "The keypool's zone: the calendar day of the keys' daily counters [env AIGW_TIME_ZONE]");

namespace aigw::admin {
namespace {

// What the admin service runs, owned together and stopped in order.
struct Admin {
  std::unique_ptr<crypto::SecretBox> box;
  std::unique_ptr<http::HttpEngine> http;
  std::unique_ptr<KeyPoolNotifier> keypool;
  http::HostAllowlist provider_hosts;
};

absl::StatusOr<server::ServiceParts> Build(server::ServiceContext& ctx) {
  absl::StatusOr<crypto::SecretBox> box = crypto::LoadMasterKey(absl::GetFlag(FLAGS_master_key_file));
  if (!box.ok()) return box.status();
  absl::TimeZone zone;
  if (!absl::LoadTimeZone(absl::GetFlag(FLAGS_time_zone), &zone)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--time_zone '", absl::GetFlag(FLAGS_time_zone), "' is not a known zone"));
  }
  absl::StatusOr<http::HostAllowlist> provider_hosts =
      http::HostAllowlist::Parse(absl::GetFlag(FLAGS_provider_host_allowlist));
  if (!provider_hosts.ok()) return provider_hosts.status();
  auto a = std::make_shared<Admin>();
  a->box = std::make_unique<crypto::SecretBox>(*box);
  a->provider_hosts = *std::move(provider_hosts);
  if (a->provider_hosts.empty()) {
    spdlog::warn("msg=\"no --provider_host_allowlist: an admin can point a provider at any host, "
                 "which then receives its API keys and prompts\"");
  } else {
    spdlog::info("msg=\"provider hosts allowed\" hosts=\"{}\"", a->provider_hosts.ToString());
  }
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
        server::CreateReplicatedPeerChannel(keypool_addr, "aigw.v1.KeyPool"),
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
  deps.provider_hosts = &a->provider_hosts;

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
                                               {"provider_host_allowlist",
                                                "AIGW_PROVIDER_HOST_ALLOWLIST"},
                                               {"time_zone", "AIGW_TIME_ZONE"}},
                                 // Every RPC reads or writes the database.
                                 .database_bound_services = {"aigw.v1.AdminService"}};
  return aigw::server::RunServiceMain(spec, argc, argv, &aigw::admin::Build);
}
