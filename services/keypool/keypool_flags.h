#ifndef AIGW_SERVICES_KEYPOOL_KEYPOOL_FLAGS_H_
#define AIGW_SERVICES_KEYPOOL_KEYPOOL_FLAGS_H_

#include <vector>

#include "absl/status/statusor.h"
#include "libs/common/env_flags.h"
#include "services/keypool/keypool_runtime.h"

namespace aigw::keypool {

// The keypool's own flags and the environment variables they fall back to
// (for ServiceSpec.env_flags).
std::vector<EnvFlag> KeyPoolEnvFlags();

// The configuration the flags describe; INVALID_ARGUMENT names the flag
// whose value is unusable (an unknown time zone, a negative duration).
absl::StatusOr<KeyPoolConfig> KeyPoolConfigFromFlags();

}  // namespace aigw::keypool

#endif  // AIGW_SERVICES_KEYPOOL_KEYPOOL_FLAGS_H_
