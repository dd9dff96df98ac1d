#include "tests/testing/test_keys.h"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <utility>

#include "absl/status/statusor.h"
#include "gtest/gtest.h"

namespace aigw::testing {
namespace {

std::string BioText(BIO* bio) {
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  return std::string(data, len);
}

}  // namespace

crypto::SecretBox TestSecretBox(absl::string_view master_key) {
  absl::StatusOr<crypto::SecretBox> box = crypto::SecretBox::FromMasterKey(master_key);
  if (!box.ok()) {
    std::fprintf(stderr, "TestSecretBox: %s\n", box.status().ToString().c_str());
    std::abort();
  }
  return *std::move(box);
}

RsaKeyPem GenerateRsaKey(int bits) {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_RSA_gen(bits), &EVP_PKEY_free);
  EXPECT_NE(key, nullptr);
  if (key == nullptr) return {};
  std::unique_ptr<BIO, decltype(&BIO_free)> priv(BIO_new(BIO_s_mem()), &BIO_free);
  std::unique_ptr<BIO, decltype(&BIO_free)> pub(BIO_new(BIO_s_mem()), &BIO_free);
  EXPECT_EQ(PEM_write_bio_PrivateKey(priv.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr),
            1);
  EXPECT_EQ(PEM_write_bio_PUBKEY(pub.get(), key.get()), 1);
  return {BioText(priv.get()), BioText(pub.get())};
}

bool WriteTextFile(const std::string& path, absl::string_view text) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) return false;
  const bool ok = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  return close(fd) == 0 && ok;
}

}  // namespace aigw::testing
