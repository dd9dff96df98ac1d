#ifndef AIGW_SERVICES_KEYPOOL_POOL_SNAPSHOT_H_
#define AIGW_SERVICES_KEYPOOL_POOL_SNAPSHOT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"

namespace aigw::keypool {

// What a provider does when none of its keys fits its limits
// (t_ai_providers.key_policy).
enum class KeyPolicy {
  // RESOURCE_EXHAUSTED with a retry-after hint.
  kStrict,
  // Hand out the least recently used healthy key anyway (the original
  // system's behaviour).
  kLru,
};

absl::string_view KeyPolicyName(KeyPolicy p);
// "strict" | "lru" (case-insensitive); anything else is strict.
KeyPolicy ParseKeyPolicy(absl::string_view s);

// t_ai_api_keys.status.
enum class KeyStatus { kNormal, kRateLimited, kInvalid, kDisabled };

absl::string_view KeyStatusName(KeyStatus s);
// Unknown values read as normal; `known` says whether it was recognised.
KeyStatus ParseKeyStatus(absl::string_view s, bool* known = nullptr);

// One row of t_ai_providers as the pool needs it.
struct ProviderRow {
  int64_t id = 0;
  std::string code;
  std::string name;
  std::string base_url;
  std::string api_format;  // openai | anthropic
  bool is_active = true;
  KeyPolicy policy = KeyPolicy::kStrict;
};

// One row of t_ai_api_keys with the secret already decrypted.
struct KeyRow {
  int64_t id = 0;
  int64_t provider_id = 0;
  std::string key_name;
  // The plaintext API key; empty when it could not be decrypted.
  std::string secret;
  // Why `secret` is empty (wrong master key, altered ciphertext); such a key
  // is listed but never leased.
  std::string secret_error;
  // sk-p...1234
  std::string masked;
  int priority = 0;
  // 0 = unlimited.
  int64_t rate_limit_rpm = 0;
  int64_t rate_limit_tpm = 0;
  int64_t rate_limit_rpd = 0;
  bool is_active = true;
  // The stored status text, kept verbatim so a change made by someone else
  // can be told from the value the pool last wrote.
  std::string status = "normal";
  absl::Time cooldown_until = absl::InfinitePast();
  absl::Time last_used_at = absl::InfinitePast();
  int64_t requests_count_today = 0;
  int64_t tokens_count_today = 0;
  // The day the two counters belong to; false when counts_date is NULL.
  bool has_counts_date = false;
  absl::CivilDay counts_date;
  std::string last_error;
};

// Everything the pool serves, as read from the database at one moment.
struct PoolSnapshot {
  std::vector<ProviderRow> providers;
  std::vector<KeyRow> keys;
};

// What the pool wants written back for one key (requests_count_today,
// tokens_count_today, counts_date, last_used_at, and status columns when
// they changed).
struct KeyWrite {
  int64_t key_id = 0;
  int64_t requests_today = 0;
  int64_t tokens_today = 0;
  absl::CivilDay counts_date;
  absl::Time last_used_at = absl::InfinitePast();
  bool write_status = false;
  std::string status;
  absl::Time cooldown_until = absl::InfinitePast();
  bool write_error = false;
  std::string last_error;
  absl::Time last_error_at = absl::InfinitePast();
};

}  // namespace aigw::keypool

#endif  // AIGW_SERVICES_KEYPOOL_POOL_SNAPSHOT_H_
