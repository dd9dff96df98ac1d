#include "services/admin/admin_service.h"

#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "libs/common/logging.h"
#include "libs/server/grpc_status.h"

namespace aigw::admin {
namespace {

using server::ToGrpcStatus;

// Copies a StatusOr's value into the response, or returns its error.
template <typename T>
grpc::Status Answer(absl::StatusOr<T> result, T* response) {
  if (!result.ok()) return ToGrpcStatus(result.status());
  *response = *std::move(result);
  return grpc::Status::OK;
}

}  // namespace

AdminServiceImpl::AdminServiceImpl(const AdminServiceDeps& deps)
    : deps_(deps),
      providers_(deps.db, deps.clock, deps.provider_hosts),
      keys_(deps.db, deps.box, deps.clock, deps.time_zone),
      models_(deps.db, deps.clock),
      lister_(deps.http, deps.upstream_timeout, deps.provider_hosts) {}

std::string AdminServiceImpl::Caller(const grpc::ServerContext& ctx) const {
  if (deps_.auth == nullptr) return "";
  return deps_.auth->CallerSubject(ctx);
}

void AdminServiceImpl::KeysChanged(const grpc::ServerContext& ctx, absl::string_view why) {
  // Reload needs role admin: the operator's own token goes on with it.
  const auto& md = ctx.client_metadata();
  auto it = md.find("authorization");
  deps_.keypool->KeysChanged(why, it == md.end() ? absl::string_view()
                                                 : absl::string_view(it->second.data(),
                                                                     it->second.size()));
}

grpc::Status AdminServiceImpl::ListProviders(grpc::ServerContext*,
                                             const v1::ListProvidersRequest* request,
                                             v1::ListProvidersResponse* response) {
  absl::StatusOr<std::vector<v1::Provider>> list = providers_.List(request->active_only());
  if (!list.ok()) return ToGrpcStatus(list.status());
  for (v1::Provider& p : *list) *response->add_providers() = std::move(p);
  return grpc::Status::OK;
}

grpc::Status AdminServiceImpl::GetProvider(grpc::ServerContext*,
                                           const v1::GetProviderRequest* request,
                                           v1::Provider* response) {
  if (request->id() == 0 && request->provider_code().empty()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "id or provider_code is required");
  }
  return Answer(request->id() != 0 ? providers_.Get(request->id())
                                   : providers_.GetByCode(request->provider_code()),
                response);
}

grpc::Status AdminServiceImpl::CreateProvider(grpc::ServerContext* ctx,
                                              const v1::CreateProviderRequest* request,
                                              v1::Provider* response) {
  absl::StatusOr<v1::Provider> p = providers_.Create(*request);
  if (!p.ok()) return ToGrpcStatus(p.status());
  spdlog::info("msg=\"provider created\" provider_id={} provider_code=\"{}\" base_url=\"{}\" by=\"{}\"",
               p->id(), p->provider_code(), p->base_url(), Caller(*ctx));
  KeysChanged(*ctx, absl::StrCat("provider ", p->provider_code(), " created"));
  *response = *std::move(p);
  return grpc::Status::OK;
}

grpc::Status AdminServiceImpl::UpdateProvider(grpc::ServerContext* ctx,
                                              const v1::UpdateProviderRequest* request,
                                              v1::Provider* response) {
  absl::StatusOr<v1::Provider> p = providers_.Update(*request);
  if (!p.ok()) return ToGrpcStatus(p.status());
  spdlog::info("msg=\"provider updated\" provider_id={} provider_code=\"{}\" by=\"{}\"", p->id(),
               p->provider_code(), Caller(*ctx));
  KeysChanged(*ctx, absl::StrCat("provider ", p->provider_code(), " updated"));
  *response = *std::move(p);
  return grpc::Status::OK;
}

grpc::Status AdminServiceImpl::DeleteProvider(grpc::ServerContext* ctx,
                                              const v1::DeleteProviderRequest* request,
                                              v1::DeleteProviderResponse*) {
  absl::Status st = providers_.Delete(request->id(), request->force());
  if (!st.ok()) return ToGrpcStatus(st);
  spdlog::info("msg=\"provider deleted\" provider_id={} force={} by=\"{}\"", request->id(),
               request->force(), Caller(*ctx));
  KeysChanged(*ctx, absl::StrCat("provider ", request->id(), " deleted"));
  return grpc::Status::OK;
}

grpc::Status AdminServiceImpl::ListKeys(grpc::ServerContext*, const v1::ListKeysRequest* request,
                                        v1::ListKeysResponse* response) {
  absl::StatusOr<std::vector<v1::ApiKey>> list = keys_.List(request->provider_id());
  if (!list.ok()) return ToGrpcStatus(list.status());
  for (v1::ApiKey& k : *list) *response->add_keys() = std::move(k);
  return grpc::Status::OK;
}

grpc::Status AdminServiceImpl::GetKey(grpc::ServerContext*, const v1::GetKeyRequest* request,
                                      v1::ApiKey* response) {
  return Answer(keys_.Get(request->id()), response);
}

grpc::Status AdminServiceImpl::CreateKey(grpc::ServerContext* ctx,
                                         const v1::CreateKeyRequest* request,
                                         v1::ApiKey* response) {
  absl::StatusOr<v1::ApiKey> k = keys_.Create(*request);
  if (!k.ok()) return ToGrpcStatus(k.status());
  spdlog::info("msg=\"API key created\" key_id={} provider=\"{}\" key_name=\"{}\" key=\"{}\" by=\"{}\"",
               k->id(), k->provider_code(), k->key_name(), k->api_key(), Caller(*ctx));
  KeysChanged(*ctx, absl::StrCat("key ", k->id(), " created"));
  *response = *std::move(k);
  return grpc::Status::OK;
}

grpc::Status AdminServiceImpl::UpdateKey(grpc::ServerContext* ctx,
                                         const v1::UpdateKeyRequest* request,
                                         v1::ApiKey* response) {
  absl::StatusOr<v1::ApiKey> k = keys_.Update(*request);
  if (!k.ok()) return ToGrpcStatus(k.status());
  spdlog::info("msg=\"API key updated\" key_id={} provider=\"{}\" new_secret={} key=\"{}\" by=\"{}\"",
               k->id(), k->provider_code(), request->has_api_key(), k->api_key(), Caller(*ctx));
  KeysChanged(*ctx, absl::StrCat("key ", k->id(), " updated"));
  *response = *std::move(k);
  return grpc::Status::OK;
}

grpc::Status AdminServiceImpl::DeleteKey(grpc::ServerContext* ctx,
                                         const v1::DeleteKeyRequest* request,
                                         v1::DeleteKeyResponse*) {
  absl::Status st = keys_.Delete(request->id());
  if (!st.ok()) return ToGrpcStatus(st);
  spdlog::info("msg=\"API key deleted\" key_id={} by=\"{}\"", request->id(), Caller(*ctx));
  KeysChanged(*ctx, absl::StrCat("key ", request->id(), " deleted"));
  return grpc::Status::OK;
}

grpc::Status AdminServiceImpl::ValidateKey(grpc::ServerContext* ctx,
                                           const v1::ValidateKeyRequest* request,
                                           v1::ValidateKeyResponse* response) {
  absl::StatusOr<KeyForCall> key = keys_.LoadForCall(request->id());
  if (!key.ok()) return ToGrpcStatus(key.status());
  absl::StatusOr<ModelListAnswer> answer =
      lister_.List(key->base_url, key->api_format, key->secret);
  if (!answer.ok()) return ToGrpcStatus(answer.status());
  response->set_http_status(answer->http_status);
  response->set_is_valid(answer->ok());
  response->set_message(answer->ok()
                            ? absl::StrCat("API key is valid (", answer->models.size(),
                                           " models listed)")
                            : answer->error_message);
  absl::StatusOr<bool> changed =
      keys_.RecordValidation(key->key_id, answer->ok(), answer->key_rejected(),
                             answer->error_message);
  if (!changed.ok()) return ToGrpcStatus(changed.status());
  spdlog::info("msg=\"API key validated\" key_id={} provider=\"{}\" key=\"{}\" valid={} "
               "http_status={} status_changed={} by=\"{}\"",
               key->key_id, key->provider_code, key->masked, answer->ok(), answer->http_status,
               *changed, Caller(*ctx));
  if (*changed) KeysChanged(*ctx, absl::StrCat("key ", key->key_id, " validated"));
  return grpc::Status::OK;
}

grpc::Status AdminServiceImpl::ListModels(grpc::ServerContext*,
                                          const v1::ListModelsRequest* request,
                                          v1::ListModelsResponse* response) {
  std::optional<bool> active;
  if (request->has_is_active()) active = request->is_active();
  absl::StatusOr<std::vector<v1::Model>> list = models_.List(request->provider_id(), active);
  if (!list.ok()) return ToGrpcStatus(list.status());
  for (v1::Model& m : *list) *response->add_models() = std::move(m);
  return grpc::Status::OK;
}

grpc::Status AdminServiceImpl::GetModel(grpc::ServerContext*, const v1::GetModelRequest* request,
                                        v1::Model* response) {
  return Answer(models_.Get(request->id()), response);
}

grpc::Status AdminServiceImpl::CreateModel(grpc::ServerContext* ctx,
                                           const v1::CreateModelRequest* request,
                                           v1::Model* response) {
  absl::StatusOr<v1::Model> m = models_.Create(request->model());
  if (!m.ok()) return ToGrpcStatus(m.status());
  spdlog::info("msg=\"model created\" model_id={} provider=\"{}\" model_code=\"{}\" by=\"{}\"",
               m->id(), m->provider_code(), m->model_code(), Caller(*ctx));
  *response = *std::move(m);
  return grpc::Status::OK;
}

grpc::Status AdminServiceImpl::UpdateModel(grpc::ServerContext* ctx,
                                           const v1::UpdateModelRequest* request,
                                           v1::Model* response) {
  absl::StatusOr<v1::Model> m = models_.Update(*request);
  if (!m.ok()) return ToGrpcStatus(m.status());
  spdlog::info("msg=\"model updated\" model_id={} provider=\"{}\" model_code=\"{}\" by=\"{}\"",
               m->id(), m->provider_code(), m->model_code(), Caller(*ctx));
  *response = *std::move(m);
  return grpc::Status::OK;
}

grpc::Status AdminServiceImpl::DeleteModel(grpc::ServerContext* ctx,
                                           const v1::DeleteModelRequest* request,
                                           v1::DeleteModelResponse*) {
  absl::Status st = models_.Delete(request->id());
  if (!st.ok()) return ToGrpcStatus(st);
  spdlog::info("msg=\"model deleted\" model_id={} by=\"{}\"", request->id(), Caller(*ctx));
  return grpc::Status::OK;
}

grpc::Status AdminServiceImpl::SyncModels(grpc::ServerContext* ctx,
                                          const v1::SyncModelsRequest* request,
                                          v1::SyncModelsResponse* response) {
  if (request->provider_id() <= 0) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "provider_id is required");
  }
  absl::StatusOr<v1::Provider> provider = providers_.Get(request->provider_id());
  if (!provider.ok()) return ToGrpcStatus(provider.status());
  absl::StatusOr<std::vector<KeyForCall>> keys = keys_.HealthyForProvider(provider->id());
  if (!keys.ok()) {
    return ToGrpcStatus(absl::Status(
        keys.status().code(),
        absl::StrCat("cannot sync provider ", provider->provider_code(), ": ",
                     keys.status().message())));
  }
  // Healthy keys in order; one the provider refuses (rate-limited, rejected,
  // forbidden) is passed for the next. Any other failure would be the same
  // with every key, and ends the sync.
  std::vector<std::string> refusals;
  grpc::StatusCode code = grpc::StatusCode::UNAVAILABLE;
  std::optional<ModelListAnswer> listed;
  for (const KeyForCall& key : *keys) {
    absl::StatusOr<ModelListAnswer> answer =
        lister_.List(provider->base_url(), provider->api_format(), key.secret);
    if (!answer.ok()) return ToGrpcStatus(answer.status());
    if (answer->ok()) {
      listed = *std::move(answer);
      break;
    }
    const providers::ErrorClass what = answer->error_class();
    code = what == providers::ErrorClass::kRateLimited   ? grpc::StatusCode::RESOURCE_EXHAUSTED
           : what == providers::ErrorClass::kKeyRejected ? grpc::StatusCode::FAILED_PRECONDITION
           : what == providers::ErrorClass::kKeyForbidden ||
                   what == providers::ErrorClass::kProviderForbidden
               ? grpc::StatusCode::PERMISSION_DENIED
               : grpc::StatusCode::UNAVAILABLE;
    refusals.push_back(absl::StrCat("HTTP ", answer->http_status, " with key ", key.key_id,
                                    " (", key.masked, "): ", answer->error_message));
    const bool next_key = what == providers::ErrorClass::kRateLimited ||
                          what == providers::ErrorClass::kKeyRejected ||
                          what == providers::ErrorClass::kKeyForbidden;
    if (!next_key) break;
    spdlog::warn("msg=\"model list refused, trying the next key\" provider=\"{}\" key_id={} "
                 "key=\"{}\" http_status={}",
                 provider->provider_code(), key.key_id, key.masked, answer->http_status);
  }
  if (!listed.has_value()) {
    return grpc::Status(code, absl::StrCat("provider ", provider->provider_code(),
                                           " refused the model list: ",
                                           absl::StrJoin(refusals, "; ")));
  }
  absl::StatusOr<v1::SyncModelsResponse> result =
      models_.ApplySync(provider->id(), listed->models);
  if (!result.ok()) return ToGrpcStatus(result.status());
  spdlog::info("msg=\"models synced\" provider=\"{}\" listed={} added={} deactivated={} "
               "reactivated={} by=\"{}\"",
               provider->provider_code(), result->count(), result->added(),
               result->deactivated(), result->reactivated(), Caller(*ctx));
  *response = *std::move(result);
  return grpc::Status::OK;
}

}  // namespace aigw::admin
