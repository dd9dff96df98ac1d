#include "libs/crypto/master_key.h"

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "libs/common/env_flags.h"

namespace aigw::crypto {

absl::StatusOr<SecretBox> LoadMasterKey(const std::string& key_file) {
  std::string key = GetEnvOr("AIGW_MASTER_KEY", "");
  std::string source = "AIGW_MASTER_KEY";
  if (key.empty() && !key_file.empty()) {
    std::ifstream in(key_file);
    if (!in) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot read master key file ", key_file));
    }
    std::stringstream ss;
    ss << in.rdbuf();
    key = std::string(absl::StripAsciiWhitespace(ss.str()));
    source = key_file;
  }
  if (key.empty()) {
    return absl::FailedPreconditionError(
        "AIGW_MASTER_KEY is not set: API keys are encrypted at rest with it "
        "(generate one with: openssl rand -hex 32)");
  }
  absl::StatusOr<SecretBox> box = SecretBox::FromMasterKey(key);
  if (!box.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": ", box.status().message()));
  }
  return box;
}

}  // namespace aigw::crypto
