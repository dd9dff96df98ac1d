#ifndef AIGW_LIBS_CRYPTO_MASTER_KEY_H_
#define AIGW_LIBS_CRYPTO_MASTER_KEY_H_

#include <string>

#include "absl/status/statusor.h"
#include "libs/crypto/secret_box.h"

namespace aigw::crypto {

// The SecretBox for API keys at rest, from AIGW_MASTER_KEY or, when that is
// unset, the file named by `key_file` (a Kubernetes Secret mounted as a file).
// A missing or malformed key is an error that says how to make one.
absl::StatusOr<SecretBox> LoadMasterKey(const std::string& key_file);

}  // namespace aigw::crypto

#endif  // AIGW_LIBS_CRYPTO_MASTER_KEY_H_
