#include "libs/crypto/stored_api_key.h"

#include <utility>

#include "absl/strings/ascii.h"

namespace aigw::crypto {

absl::StatusOr<StoredApiKey> SealApiKey(const SecretBox& box, absl::string_view plaintext) {
  absl::StatusOr<std::string> sealed = box.Seal(plaintext);
  if (!sealed.ok()) return sealed.status();
  return StoredApiKey{*std::move(sealed), MaskApiKey(plaintext)};
}

absl::StatusOr<std::string> OpenStoredApiKey(const SecretBox& box, absl::string_view stored) {
  if (SecretBox::IsEncrypted(stored)) return box.Open(stored);
  return std::string(absl::StripAsciiWhitespace(stored));
}

}  // namespace aigw::crypto
