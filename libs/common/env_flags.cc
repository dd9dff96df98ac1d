#include "libs/common/env_flags.h"

#include <cstdlib>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/str_cat.h"

namespace aigw {

absl::Status ApplyEnvFallbacks(const std::vector<EnvFlag>& flags) {
  for (const EnvFlag& f : flags) {
    const char* value = std::getenv(f.env_name.c_str());
    if (value == nullptr || *value == '\0') continue;
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(f.flag_name);
    if (flag == nullptr) {
      return absl::InternalError(
          absl::StrCat("no flag --", f.flag_name, " for env ", f.env_name));
    }
    std::string error;
    if (!flag->ParseFrom(value, &error)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "environment variable ", f.env_name, ": ", error));
    }
  }
  return absl::OkStatus();
}

std::string GetEnvOr(const char* name, const std::string& fallback) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return fallback;
  return value;
}

}  // namespace aigw
