#include "libs/common/secret_source.h"

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "libs/common/env_flags.h"

namespace aigw {

absl::StatusOr<std::string> ReadSecretFile(const std::string& path, absl::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::FailedPreconditionError(absl::StrCat("cannot read ", what, " ", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

absl::StatusOr<ConfiguredSecret> LoadSecretFromEnvOrFile(const char* env_var,
                                                         const std::string& file,
                                                         absl::string_view what) {
  ConfiguredSecret secret{GetEnvOr(env_var, ""), env_var};
  if (!secret.value.empty() || file.empty()) return secret;
  absl::StatusOr<std::string> text = ReadSecretFile(file, what);
  if (!text.ok()) return text.status();
  secret.value = std::string(absl::StripAsciiWhitespace(*text));
  secret.source = file;
  return secret;
}

}  // namespace aigw
