#ifndef AIGW_TESTS_TESTING_TEST_KEYS_H_
#define AIGW_TESTS_TESTING_TEST_KEYS_H_

#include <string>

#include "absl/strings/string_view.h"
#include "libs/crypto/secret_box.h"

namespace aigw::testing {

// An RSA key pair in PEM, for tests of RS256 tokens: the private key as
// PKCS#8 ("PRIVATE KEY"), the public key as SubjectPublicKeyInfo ("PUBLIC
// KEY"), what `openssl genpkey` and `openssl pkey -pubout` write.
struct RsaKeyPem {
  std::string private_pem;
  std::string public_pem;
};

// A fresh RSA key (2048 bits take ~0.1 s). Aborts the test on failure.
RsaKeyPem GenerateRsaKey(int bits = 2048);

// A master key (64 hex digits) for tests that seal and open stored API keys.
inline constexpr char kTestMasterKey[] =
    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
// The SecretBox of `master_key`, which must be valid (the process aborts
// otherwise).
crypto::SecretBox TestSecretBox(absl::string_view master_key = kTestMasterKey);

// Writes `text` to `path`, readable by the owner only; false on failure.
bool WriteTextFile(const std::string& path, absl::string_view text);

}  // namespace aigw::testing

#endif  // AIGW_TESTS_TESTING_TEST_KEYS_H_
