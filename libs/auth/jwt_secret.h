#ifndef AIGW_LIBS_AUTH_JWT_SECRET_H_
#define AIGW_LIBS_AUTH_JWT_SECRET_H_

#include <string>

#include "absl/status/statusor.h"

namespace aigw::auth {

// Shorter HS256 secrets are refused: RFC 7518 section 3.2 asks for a key at
// least as long as the hash (32 bytes).
inline constexpr size_t kMinJwtSecretBytes = 32;

// The shared HS256 secret of a development cluster (whoever holds it can mint
// any token; production uses RS256 keys, jwt_key.h), from AIGW_JWT_SECRET or,
// when that is unset, the
// file named by `secret_file` (a Kubernetes Secret mounted as a file;
// surrounding whitespace is trimmed). NOT_FOUND when neither is given; a
// short secret or an unreadable file is an error that says how to fix it.
absl::StatusOr<std::string> LoadJwtSecret(const std::string& secret_file);

}  // namespace aigw::auth

#endif  // AIGW_LIBS_AUTH_JWT_SECRET_H_
