#ifndef AIGW_LIBS_CRYPTO_STORED_API_KEY_H_
#define AIGW_LIBS_CRYPTO_STORED_API_KEY_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "libs/crypto/secret_box.h"

namespace aigw::crypto {

// A provider API key as a t_ai_api_keys row holds it: `api_key` sealed by
// the SecretBox ("enc:v1:...") and `api_key_hint` its mask, the only form in
// which the key is ever shown. Rows inserted straight into the table may hold
// the key in plaintext and no hint; the keypool seals those in place.
struct StoredApiKey {
  std::string api_key;  // the column's value: SecretBox::kPrefix + ...
  std::string hint;     // MaskApiKey of the plaintext
};

// The two columns for `plaintext`.
absl::StatusOr<StoredApiKey> SealApiKey(const SecretBox& box, absl::string_view plaintext);

// The key in an api_key column: opened when sealed, else the plaintext with
// surrounding whitespace trimmed (possibly empty). The error is
// SecretBox::Open's (sealed under another master key, or altered).
absl::StatusOr<std::string> OpenStoredApiKey(const SecretBox& box, absl::string_view stored);

}  // namespace aigw::crypto

#endif  // AIGW_LIBS_CRYPTO_STORED_API_KEY_H_
