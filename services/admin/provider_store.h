#ifndef AIGW_SERVICES_ADMIN_PROVIDER_STORE_H_
#define AIGW_SERVICES_ADMIN_PROVIDER_STORE_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "aigw/v1/admin.pb.h"
#include "libs/common/clock.h"
#include "libs/db/database.h"
#include "libs/http/host_allowlist.h"

namespace soci {
class session;
}

namespace aigw::admin {

// t_ai_providers. Input is checked here (INVALID_ARGUMENT), so every caller
// gets the same rules; unknown ids are NOT_FOUND, a taken provider_code
// ALREADY_EXISTS.
class ProviderStore {
 public:
  // `allowed_hosts` (may be null): the hosts a base_url may name
  // (--provider_host_allowlist).
  ProviderStore(db::Database* db, Clock* clock,
                const http::HostAllowlist* allowed_hosts = nullptr)
      : db_(db), clock_(clock), allowed_hosts_(allowed_hosts) {}

  // Ordered by sort_order, then id. models_count counts every model of the
  // provider; active_keys_count the keys that are active and neither invalid
  // nor disabled (the ones the keypool may hand out).
  absl::StatusOr<std::vector<v1::Provider>> List(bool active_only);
  absl::StatusOr<v1::Provider> Get(int64_t id);
  absl::StatusOr<v1::Provider> GetByCode(absl::string_view code);
  absl::StatusOr<v1::Provider> Create(const v1::CreateProviderRequest& request);
  absl::StatusOr<v1::Provider> Update(const v1::UpdateProviderRequest& request);
  // FAILED_PRECONDITION while keys or models reference the provider, unless
  // `force`, which deletes them with it (one transaction). Call logs and
  // statistics keep their rows: they name the provider by code.
  absl::Status Delete(int64_t id, bool force);

 private:
  db::Database* const db_;
  Clock* const clock_;
  const http::HostAllowlist* const allowed_hosts_;
};

// Reads one provider with its counts on an open session; NOT_FOUND when the
// id is unknown. Shared with the key and model stores' checks.
absl::StatusOr<v1::Provider> ReadProvider(soci::session& s, int64_t id);

}  // namespace aigw::admin

#endif  // AIGW_SERVICES_ADMIN_PROVIDER_STORE_H_
