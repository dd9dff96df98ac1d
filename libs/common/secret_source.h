#ifndef AIGW_LIBS_COMMON_SECRET_SOURCE_H_
#define AIGW_LIBS_COMMON_SECRET_SOURCE_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace aigw {

// A secret as configured, and where it came from (for messages that must
// name the source without quoting the secret).
struct ConfiguredSecret {
  // As the variable holds it, or the file's text with surrounding whitespace
  // trimmed; empty when no source held one.
  std::string value;
  // The environment variable's name or the file's path.
  std::string source;
};

// The whole file at `path`, as it is. FAILED_PRECONDITION "cannot read
// <what> <path>" when it cannot be opened.
absl::StatusOr<std::string> ReadSecretFile(const std::string& path, absl::string_view what);

// The secret in the environment variable `env_var` or, when that is unset or
// empty, in the file `file` (a Kubernetes Secret mounted as a file; its
// trailing newline goes with the trimming). An empty `file` is no source. An
// unreadable file is ReadSecretFile's error, naming it as `what`.
absl::StatusOr<ConfiguredSecret> LoadSecretFromEnvOrFile(const char* env_var,
                                                         const std::string& file,
                                                         absl::string_view what);

}  // namespace aigw

#endif  // AIGW_LIBS_COMMON_SECRET_SOURCE_H_
