#ifndef AIGW_TESTS_TESTING_TEST_KEYS_H_
#define AIGW_TESTS_TESTING_TEST_KEYS_H_

#include <string>

#include "absl/strings/string_view.h"

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

// Writes `text` to `path`, readable by the owner only; false on failure.
bool WriteTextFile(const std::string& path, absl::string_view text);

}  // namespace aigw::testing

#endif  // AIGW_TESTS_TESTING_TEST_KEYS_H_
