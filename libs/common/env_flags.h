#ifndef AIGW_LIBS_COMMON_ENV_FLAGS_H_
#define AIGW_LIBS_COMMON_ENV_FLAGS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace aigw {

// A command-line flag that falls back to an environment variable.
struct EnvFlag {
  std::string flag_name;  // without the leading dashes
  std::string env_name;
};

// Sets each flag from its environment variable when the variable is set and
// non-empty. Call before absl::ParseCommandLine so flags given on the command
// line still win. Fails with the variable's name when its value does not
// parse as the flag's type.
absl::Status ApplyEnvFallbacks(const std::vector<EnvFlag>& flags);

// The value of an environment variable, or `fallback` when unset or empty.
std::string GetEnvOr(const char* name, const std::string& fallback);

}  // namespace aigw

#endif  // AIGW_LIBS_COMMON_ENV_FLAGS_H_
