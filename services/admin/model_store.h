#ifndef AIGW_SERVICES_ADMIN_MODEL_STORE_H_
#define AIGW_SERVICES_ADMIN_MODEL_STORE_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "aigw/v1/admin.pb.h"
#include "libs/common/clock.h"
#include "libs/db/database.h"
#include "libs/providers/adapter.h"

namespace aigw::admin {

// t_ai_models. Prices are exact: doubles at the API edge, integer
// nano-dollars in between, DECIMAL(20,9) in the table.
//
// Default model: a provider has exactly one once it has a model. The first
// model a provider gets (created or synced) becomes its default; making
// another model the default takes the flag from the old one in the same
// transaction; clearing the flag on the default is refused
// (FAILED_PRECONDITION: make another model the default instead); deleting
// the default hands the flag to the provider's oldest active model (else its
// oldest model).
class ModelStore {
 public:
  ModelStore(db::Database* db, Clock* clock) : db_(db), clock_(clock) {}

  // `provider_id` 0: every provider. By provider, then id.
  absl::StatusOr<std::vector<v1::Model>> List(int64_t provider_id,
                                              std::optional<bool> is_active);
  absl::StatusOr<v1::Model> Get(int64_t id);
  // The provider is model.provider_id, or model.provider_code when that is
  // 0. proto3 cannot tell an unset bool from false, so is_active and
  // supports_streaming are taken as true when false (the table's and the
  // original system's defaults); UpdateModel turns them off.
  absl::StatusOr<v1::Model> Create(const v1::Model& model);
  absl::StatusOr<v1::Model> Update(const v1::UpdateModelRequest& request);
  absl::Status Delete(int64_t id);

  // Merges a provider's model list into its rows: models not yet known are
  // added (active, name from the provider's display name or id, type chat
  // or embedding, prices 0), known inactive ones are reactivated, active
  // ones the list no longer has are deactivated. Names, prices, limits and
  // flags set by hand are left alone. An empty list is refused
  // (FAILED_PRECONDITION): a provider answering with no models at all is
  // more likely broken than empty, and retiring every model would stop the
  // provider's traffic.
  absl::StatusOr<v1::SyncModelsResponse> ApplySync(int64_t provider_id,
                                                   const std::vector<providers::ModelInfo>& listed);

 private:
  db::Database* const db_;
  Clock* const clock_;
};

}  // namespace aigw::admin

#endif  // AIGW_SERVICES_ADMIN_MODEL_STORE_H_
