#include "libs/crypto/secret_box.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <memory>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace aigw::crypto {
namespace {

constexpr int kNonceLen = 12;
constexpr int kTagLen = 16;

struct CtxDeleter {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CtxDeleter>;

bool IsHex(absl::string_view s) {
  for (char c : s) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<SecretBox> SecretBox::FromMasterKey(absl::string_view master_key) {
  std::string raw;
  if (master_key.size() == 64 && IsHex(master_key)) {
    raw = absl::HexStringToBytes(master_key);
  } else if (!absl::Base64Unescape(master_key, &raw) || raw.size() != 32) {
    return absl::InvalidArgumentError(
        "AIGW_MASTER_KEY must be 32 bytes as 64 hex digits or base64 "
        "(generate one with: openssl rand -hex 32)");
  }
  std::array<unsigned char, 32> key;
  std::copy(raw.begin(), raw.end(), key.begin());
  return SecretBox(key);
}

absl::StatusOr<std::string> SecretBox::Seal(absl::string_view plaintext) const {
  std::string out(kNonceLen + plaintext.size() + kTagLen, '\0');
  auto* buf = reinterpret_cast<unsigned char*>(out.data());
  if (RAND_bytes(buf, kNonceLen) != 1) {
    return absl::InternalError("RAND_bytes failed");
  }
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  if (!ctx ||
      EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key_.data(), buf) != 1 ||
      EVP_EncryptUpdate(ctx.get(), buf + kNonceLen, &len,
                        reinterpret_cast<const unsigned char*>(plaintext.data()),
                        static_cast<int>(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), buf + kNonceLen + len, &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagLen,
                          buf + kNonceLen + plaintext.size()) != 1) {
    return absl::InternalError("AES-256-GCM encryption failed");
  }
  return absl::StrCat(kPrefix, absl::Base64Escape(out));
}

absl::StatusOr<std::string> SecretBox::Open(absl::string_view sealed) const {
  if (!IsEncrypted(sealed)) {
    return absl::InvalidArgumentError("value is not an encrypted secret");
  }
  std::string raw;
  if (!absl::Base64Unescape(sealed.substr(kPrefix.size()), &raw) ||
      raw.size() < static_cast<size_t>(kNonceLen + kTagLen)) {
    return absl::DataLossError("encrypted secret is malformed");
  }
  const auto* buf = reinterpret_cast<const unsigned char*>(raw.data());
  const size_t ct_len = raw.size() - kNonceLen - kTagLen;
  std::string plain(ct_len, '\0');
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  if (!ctx ||
      EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key_.data(), buf) != 1 ||
      EVP_DecryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(plain.data()),
                        &len, buf + kNonceLen, static_cast<int>(ct_len)) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagLen,
                          const_cast<unsigned char*>(buf + kNonceLen + ct_len)) != 1 ||
      EVP_DecryptFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(plain.data()) + len,
                          &len) != 1) {
    return absl::PermissionDeniedError(
        "cannot decrypt API key: wrong AIGW_MASTER_KEY or altered ciphertext");
  }
  return plain;
}

bool SecretBox::IsEncrypted(absl::string_view stored) {
  return absl::StartsWith(stored, kPrefix);
}

std::string MaskApiKey(absl::string_view api_key) {
  if (api_key.size() < 12) return "****";
  return absl::StrCat(api_key.substr(0, 4), "...",
                      api_key.substr(api_key.size() - 4));
}

}  // namespace aigw::crypto
