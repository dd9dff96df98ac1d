#ifndef AIGW_LIBS_CRYPTO_SECRET_BOX_H_
#define AIGW_LIBS_CRYPTO_SECRET_BOX_H_

#include <array>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"

namespace aigw::crypto {

// Encrypts API keys at rest with AES-256-GCM under the master key.
//
// Stored form: "enc:v1:" + base64(nonce[12] || ciphertext || tag[16]). A
// value without the prefix is a plaintext key inserted straight into the
// table; IsEncrypted tells the two apart.
class SecretBox {
 public:
  static constexpr absl::string_view kPrefix = "enc:v1:";

  // `master_key` is 32 bytes given as 64 hex digits or as base64.
  static absl::StatusOr<SecretBox> FromMasterKey(absl::string_view master_key);

  absl::StatusOr<std::string> Seal(absl::string_view plaintext) const;
  // Fails with a clear message when the value was sealed under another master
  // key or was altered.
  absl::StatusOr<std::string> Open(absl::string_view sealed) const;

  static bool IsEncrypted(absl::string_view stored);

 private:
  explicit SecretBox(const std::array<unsigned char, 32>& key) : key_(key) {}
  std::array<unsigned char, 32> key_;
};

// "sk-proj-abc...wxyz" -> "sk-p...wxyz". Short secrets are masked whole.
std::string MaskApiKey(absl::string_view api_key);

}  // namespace aigw::crypto

#endif  // AIGW_LIBS_CRYPTO_SECRET_BOX_H_
