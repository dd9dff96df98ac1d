#include "libs/auth/jwt_secret.h"

#include "absl/strings/str_cat.h"
#include "libs/common/secret_source.h"

namespace aigw::auth {

absl::StatusOr<std::string> LoadJwtSecret(const std::string& secret_file) {
  absl::StatusOr<ConfiguredSecret> secret =
      LoadSecretFromEnvOrFile("AIGW_JWT_SECRET", secret_file, "JWT secret file");
  if (!secret.ok()) return secret.status();
  if (secret->value.empty()) {
    return absl::NotFoundError(
        "AIGW_JWT_SECRET is not set (the development HS256 secret; generate one with: openssl "
        "rand -hex 32; or give --jwt_secret_file)");
  }
  if (secret->value.size() < kMinJwtSecretBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        secret->source, ": the JWT secret has ", secret->value.size(), " bytes; at least ",
        kMinJwtSecretBytes, " are needed (generate one with: openssl rand -hex 32)"));
  }
  return std::move(secret->value);
}

}  // namespace aigw::auth
