#ifndef AIGW_SERVICES_KEYPOOL_ENV_KEY_IMPORT_H_
#define AIGW_SERVICES_KEYPOOL_ENV_KEY_IMPORT_H_

#include "absl/status/statusor.h"
#include "libs/crypto/secret_box.h"
#include "libs/db/database.h"

namespace aigw::keypool {

// First-start convenience of the original system: OPENAI_API_KEY,
// ANTHROPIC_API_KEY and DEEPSEEK_API_KEY become keys of their provider when
// that provider has no key yet. Stored sealed, with their mask as the hint.
// Returns how many it added.
absl::StatusOr<int> ImportProviderKeysFromEnv(db::Database& db, const crypto::SecretBox& box);

}  // namespace aigw::keypool

#endif  // AIGW_SERVICES_KEYPOOL_ENV_KEY_IMPORT_H_
