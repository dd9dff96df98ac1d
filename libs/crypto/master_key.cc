#include "libs/crypto/master_key.h"

#include "absl/strings/str_cat.h"
#include "libs/common/secret_source.h"

namespace aigw::crypto {

absl::StatusOr<SecretBox> LoadMasterKey(const std::string& key_file) {
  absl::StatusOr<ConfiguredSecret> key =
      LoadSecretFromEnvOrFile("AIGW_MASTER_KEY", key_file, "master key file");
  if (!key.ok()) return key.status();
  if (key->value.empty()) {
    return absl::FailedPreconditionError(
        "AIGW_MASTER_KEY is not set: API keys are encrypted at rest with it "
        "(generate one with: openssl rand -hex 32)");
  }
  absl::StatusOr<SecretBox> box = SecretBox::FromMasterKey(key->value);
  if (!box.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(key->source, ": ", box.status().message()));
  }
  return box;
}

}  // namespace aigw::crypto
