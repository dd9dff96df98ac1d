#ifndef AIGW_SERVICES_ADMIN_API_KEY_STORE_H_
#define AIGW_SERVICES_ADMIN_API_KEY_STORE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "aigw/v1/admin.pb.h"
#include "libs/common/clock.h"
#include "libs/crypto/secret_box.h"
#include "libs/db/database.h"

namespace aigw::admin {

// A key decrypted for a call to its provider (ValidateKey, SyncModels). The
// secret stays in memory for that call only.
struct KeyForCall {
  int64_t key_id = 0;
  int64_t provider_id = 0;
  std::string provider_code;
  std::string base_url;
  std::string api_format;
  std::string secret;
  std::string masked;
  std::string status;
};

// One stored row with its provider (api_key_store.cc).
struct KeyRow;

// t_ai_api_keys. Secrets are sealed with the master key before they are
// written (api_key = "enc:v1:...", api_key_hint = the mask) and leave this
// class only masked, except in KeyForCall. A row inserted straight into the
// table in plaintext is listed masked too.
class ApiKeyStore {
 public:
  // `time_zone` decides which calendar day requests_count_today belongs to
  // (the keypool's --time_zone); counters of an earlier day read as 0.
  ApiKeyStore(db::Database* db, const crypto::SecretBox* box, Clock* clock,
              absl::TimeZone time_zone)
      : db_(db), box_(box), clock_(clock), time_zone_(time_zone) {}

  // `provider_id` 0: every provider's keys. Highest priority first, then id.
  absl::StatusOr<std::vector<v1::ApiKey>> List(int64_t provider_id);
  absl::StatusOr<v1::ApiKey> Get(int64_t id);
  // ALREADY_EXISTS when the provider already has this secret.
  absl::StatusOr<v1::ApiKey> Create(const v1::CreateKeyRequest& request);
  // A new secret also sets the status back to normal and clears the last
  // error and cooldown: the old key's troubles are not the new key's.
  absl::StatusOr<v1::ApiKey> Update(const v1::UpdateKeyRequest& request);
  absl::Status Delete(int64_t id);

  // The key with its provider, decrypted. FAILED_PRECONDITION when the
  // stored value does not open under this master key.
  absl::StatusOr<KeyForCall> LoadForCall(int64_t id);
  // The provider's keys an admin call may use, best first: active, neither
  // invalid nor disabled, not cooling down after a 429 (status rate_limited
  // with cooldown_until ahead, as the keypool writes it back every
  // --flush_interval), decryptable; highest priority first, then id.
  // RESOURCE_EXHAUSTED (saying when the first is back) when every such key
  // is cooling down; FAILED_PRECONDITION when the provider has none at all.
  absl::StatusOr<std::vector<KeyForCall>> HealthyForProvider(int64_t provider_id);

  // After a validation call. `valid`: an `invalid` status goes back to
  // normal (and its last error is cleared). `rejected` (the provider said
  // 401/403): a normal or rate_limited key becomes invalid with `message` as
  // its last error; a disabled key stays disabled. Returns whether the
  // status changed.
  absl::StatusOr<bool> RecordValidation(int64_t id, bool valid, bool rejected,
                                        absl::string_view message);

 private:
  absl::StatusOr<KeyForCall> Open(const KeyRow& row) const;

  db::Database* const db_;
  const crypto::SecretBox* const box_;
  Clock* const clock_;
  const absl::TimeZone time_zone_;
};

}  // namespace aigw::admin

#endif  // AIGW_SERVICES_ADMIN_API_KEY_STORE_H_
