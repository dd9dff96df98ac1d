#ifndef AIGW_SERVICES_ADMIN_ADMIN_SERVICE_H_
#define AIGW_SERVICES_ADMIN_ADMIN_SERVICE_H_

#include "absl/time/time.h"
#include "aigw/v1/admin.grpc.pb.h"
#include "libs/auth/server_auth.h"
#include "libs/common/clock.h"
#include "libs/crypto/secret_box.h"
#include "libs/db/database.h"
#include "libs/http/host_allowlist.h"
#include "libs/http/http_engine.h"
#include "services/admin/api_key_store.h"
#include "services/admin/keypool_notifier.h"
#include "services/admin/model_lister.h"
#include "services/admin/model_store.h"
#include "services/admin/provider_store.h"

namespace aigw::admin {

struct AdminServiceDeps {
  db::Database* db = nullptr;
  const crypto::SecretBox* box = nullptr;
  http::HttpEngine* http = nullptr;
  KeyPoolNotifier* keypool = nullptr;
  // Names the caller in the audit log; may be null.
  const auth::ServerAuth* auth = nullptr;
  Clock* clock = Clock::Real();
  // The keypool's --time_zone: which day the keys' daily counters are for.
  absl::TimeZone time_zone = absl::UTCTimeZone();
  // One model-list call to a provider (ValidateKey, SyncModels).
  absl::Duration upstream_timeout = absl::Seconds(20);
  // --provider_host_allowlist: the hosts a provider's base_url may name and
  // that ValidateKey and SyncModels may call; null or empty: any host.
  const http::HostAllowlist* provider_hosts = nullptr;
};

// aigw.v1.AdminService: the original system's /api/admin/* REST API over
// gRPC. A sync service: management calls are rare and block on the database
// and, for ValidateKey and SyncModels, on the provider, which gRPC's sync
// thread pool is for. Authorisation (role admin) happened before a handler
// runs (libs/auth). Every change is logged with the caller's subject; API
// keys appear only masked, in answers and logs alike. Every change to keys
// or providers is followed by a keypool Reload.
class AdminServiceImpl final : public aigw::v1::AdminService::Service {
 public:
  explicit AdminServiceImpl(const AdminServiceDeps& deps);

  grpc::Status ListProviders(grpc::ServerContext* ctx, const v1::ListProvidersRequest* request,
                             v1::ListProvidersResponse* response) override;
  grpc::Status GetProvider(grpc::ServerContext* ctx, const v1::GetProviderRequest* request,
                           v1::Provider* response) override;
  grpc::Status CreateProvider(grpc::ServerContext* ctx, const v1::CreateProviderRequest* request,
                              v1::Provider* response) override;
  grpc::Status UpdateProvider(grpc::ServerContext* ctx, const v1::UpdateProviderRequest* request,
                              v1::Provider* response) override;
  grpc::Status DeleteProvider(grpc::ServerContext* ctx, const v1::DeleteProviderRequest* request,
                              v1::DeleteProviderResponse* response) override;

  grpc::Status ListKeys(grpc::ServerContext* ctx, const v1::ListKeysRequest* request,
                        v1::ListKeysResponse* response) override;
  grpc::Status GetKey(grpc::ServerContext* ctx, const v1::GetKeyRequest* request,
                      v1::ApiKey* response) override;
  grpc::Status CreateKey(grpc::ServerContext* ctx, const v1::CreateKeyRequest* request,
                         v1::ApiKey* response) override;
  grpc::Status UpdateKey(grpc::ServerContext* ctx, const v1::UpdateKeyRequest* request,
                         v1::ApiKey* response) override;
  grpc::Status DeleteKey(grpc::ServerContext* ctx, const v1::DeleteKeyRequest* request,
                         v1::DeleteKeyResponse* response) override;
  grpc::Status ValidateKey(grpc::ServerContext* ctx, const v1::ValidateKeyRequest* request,
                           v1::ValidateKeyResponse* response) override;

  grpc::Status ListModels(grpc::ServerContext* ctx, const v1::ListModelsRequest* request,
                          v1::ListModelsResponse* response) override;
  grpc::Status GetModel(grpc::ServerContext* ctx, const v1::GetModelRequest* request,
                        v1::Model* response) override;
  grpc::Status CreateModel(grpc::ServerContext* ctx, const v1::CreateModelRequest* request,
                           v1::Model* response) override;
  grpc::Status UpdateModel(grpc::ServerContext* ctx, const v1::UpdateModelRequest* request,
                           v1::Model* response) override;
  grpc::Status DeleteModel(grpc::ServerContext* ctx, const v1::DeleteModelRequest* request,
                           v1::DeleteModelResponse* response) override;
  grpc::Status SyncModels(grpc::ServerContext* ctx, const v1::SyncModelsRequest* request,
                          v1::SyncModelsResponse* response) override;

 private:
  std::string Caller(const grpc::ServerContext& ctx) const;
  // Tells the keypool, on behalf of the caller of `ctx`.
  void KeysChanged(const grpc::ServerContext& ctx, absl::string_view why);

  AdminServiceDeps deps_;
  ProviderStore providers_;
  ApiKeyStore keys_;
  ModelStore models_;
  ModelLister lister_;
};

}  // namespace aigw::admin

#endif  // AIGW_SERVICES_ADMIN_ADMIN_SERVICE_H_
