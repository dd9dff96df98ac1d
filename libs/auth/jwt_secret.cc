#include "libs/auth/jwt_secret.h"

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "libs/common/env_flags.h"

namespace aigw::auth {

absl::StatusOr<std::string> LoadJwtSecret(const std::string& secret_file) {
  std::string secret = GetEnvOr("AIGW_JWT_SECRET", "");
  std::string source = "AIGW_JWT_SECRET";
  if (secret.empty() && !secret_file.empty()) {
    std::ifstream in(secret_file);
    if (!in) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot read JWT secret file ", secret_file));
    }
    std::stringstream ss;
    ss << in.rdbuf();
    secret = std::string(absl::StripAsciiWhitespace(ss.str()));
    source = secret_file;
  }
  if (secret.empty()) {
    return absl::NotFoundError(
        "AIGW_JWT_SECRET is not set (the development HS256 secret; generate one with: openssl "
        "rand -hex 32; or give --jwt_secret_file)");
  }
  if (secret.size() < kMinJwtSecretBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": the JWT secret has ", secret.size(), " bytes; at least ",
                     kMinJwtSecretBytes, " are needed (generate one with: openssl rand -hex 32)"));
  }
  return secret;
}

}  // namespace aigw::auth
