#include "services/keypool/pool_snapshot.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"

namespace aigw::keypool {

absl::string_view KeyPolicyName(KeyPolicy p) { return p == KeyPolicy::kLru ? "lru" : "strict"; }

KeyPolicy ParseKeyPolicy(absl::string_view s) {
  return absl::EqualsIgnoreCase(absl::StripAsciiWhitespace(s), "lru") ? KeyPolicy::kLru
                                                                      : KeyPolicy::kStrict;
}

absl::string_view KeyStatusName(KeyStatus s) {
  switch (s) {
    case KeyStatus::kNormal:
      return "normal";
    case KeyStatus::kRateLimited:
      return "rate_limited";
    case KeyStatus::kInvalid:
      return "invalid";
    case KeyStatus::kDisabled:
      return "disabled";
  }
  return "normal";
}

KeyStatus ParseKeyStatus(absl::string_view s, bool* known) {
  s = absl::StripAsciiWhitespace(s);
  if (known != nullptr) *known = true;
  if (absl::EqualsIgnoreCase(s, "normal") || s.empty()) return KeyStatus::kNormal;
  if (absl::EqualsIgnoreCase(s, "rate_limited")) return KeyStatus::kRateLimited;
  if (absl::EqualsIgnoreCase(s, "invalid")) return KeyStatus::kInvalid;
  if (absl::EqualsIgnoreCase(s, "disabled")) return KeyStatus::kDisabled;
  if (known != nullptr) *known = false;
  return KeyStatus::kNormal;
}

}  // namespace aigw::keypool
