#ifndef AIGW_SERVICES_KEYPOOL_KEY_STORE_H_
#define AIGW_SERVICES_KEYPOOL_KEY_STORE_H_

#include <functional>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "libs/crypto/secret_box.h"
#include "libs/db/database.h"
#include "libs/db/db_time.h"
#include "services/keypool/pool_snapshot.h"

namespace aigw::keypool {

// The keypool's view of t_ai_providers and t_ai_api_keys.
class KeyStore {
 public:
  // Neither pointer is owned; both must outlive the store.
  KeyStore(db::Database* db, const crypto::SecretBox* box) : db_(db), box_(box) {}

  // Reads every provider and key and decrypts the keys. A key stored in
  // plaintext (inserted straight into the table) is encrypted in place and
  // its api_key_hint set; a missing hint is filled in. A key that does not
  // decrypt is returned with secret_error set. When keys are stored
  // encrypted and not one of them decrypts, the master key is wrong: that is
  // FAILED_PRECONDITION and nothing is written.
  absl::StatusOr<PoolSnapshot> Load();

  // Writes the daily counters, counts_date and last_used_at of each key, and
  // status / cooldown_until / last_error where marked, in one transaction.
  absl::Status Write(const std::vector<KeyWrite>& writes);

  // Before the store is shared: runs first in every write transaction; a
  // status it returns rolls the write back (LeaderElection::Fence: a
  // replica that was deposed must not overwrite the new active one's rows).
  using WriteFence = std::function<absl::Status(soci::session&)>;
  void set_write_fence(WriteFence fence) { fence_ = std::move(fence); }

 private:
  db::Database* const db_;
  const crypto::SecretBox* const box_;
  WriteFence fence_;
};

// Timestamps as the schema stores them (libs/db/db_time.h).
using ::aigw::db::FormatDbTime;
using ::aigw::db::ParseDbTime;
// 'YYYY-MM-DD', also the date part of a longer timestamp.
bool ParseDbDate(absl::string_view text, absl::CivilDay* out);

}  // namespace aigw::keypool

#endif  // AIGW_SERVICES_KEYPOOL_KEY_STORE_H_
