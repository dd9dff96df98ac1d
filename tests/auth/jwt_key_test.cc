// Keys of the bearer tokens: PEM loading and everything it refuses, the
// RFC 7638 kid, signatures, and the key set a service accepts.

#include "libs/auth/jwt_key.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "libs/auth/jwt.h"
#include "tests/testing/test_keys.h"

namespace aigw::auth {
namespace {

using ::aigw::testing::GenerateRsaKey;
using ::aigw::testing::RsaKeyPem;

std::string PemOf(EVP_PKEY* key, bool private_key, const EVP_CIPHER* cipher = nullptr,
                  const char* passphrase = nullptr) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
  if (private_key) {
    PEM_write_bio_PrivateKey(bio.get(), key, cipher,
                             reinterpret_cast<const unsigned char*>(passphrase),
                             passphrase == nullptr ? 0 : static_cast<int>(strlen(passphrase)),
                             nullptr, nullptr);
  } else {
    PEM_write_bio_PUBKEY(bio.get(), key);
  }
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, len);
}

const RsaKeyPem& KeyA() {
  static const RsaKeyPem* key = new RsaKeyPem(GenerateRsaKey());
  return *key;
}
const RsaKeyPem& KeyB() {
  static const RsaKeyPem* key = new RsaKeyPem(GenerateRsaKey());
  return *key;
}

void ExpectInvalid(absl::string_view pem, absl::string_view reason) {
  absl::StatusOr<std::vector<JwtKey>> keys = JwtKey::Rs256PublicKeys(pem, KeyScope::kOperator);
  ASSERT_FALSE(keys.ok()) << pem;
  EXPECT_EQ(keys.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(keys.status().message(), reason)) << keys.status();
}

TEST(JwtKeyTest, KidIsTheRfc7638Thumbprint) {
  // RFC 7638 section 3.1: this key's thumbprint is
  // NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs.
  const std::string n_b64 =
      "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECP"
      "ebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY"
      "368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0f"
      "M4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
  std::string n_bytes;
  ASSERT_TRUE(Base64UrlDecode(n_b64, &n_bytes));
  BIGNUM* n = BN_bin2bn(reinterpret_cast<const unsigned char*>(n_bytes.data()),
                        static_cast<int>(n_bytes.size()), nullptr);
  BIGNUM* e = BN_new();
  BN_set_word(e, 65537);
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n);
  OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e);
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr);
  EVP_PKEY* pkey = nullptr;
  ASSERT_EQ(EVP_PKEY_fromdata_init(ctx), 1);
  ASSERT_EQ(EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params), 1);
  const std::string pem = PemOf(pkey, false);
  EVP_PKEY_free(pkey);
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  OSSL_PARAM_BLD_free(bld);
  BN_free(n);
  BN_free(e);

  absl::StatusOr<std::vector<JwtKey>> keys = JwtKey::Rs256PublicKeys(pem, KeyScope::kOperator);
  ASSERT_TRUE(keys.ok()) << keys.status();
  ASSERT_EQ(keys->size(), 1u);
  EXPECT_EQ((*keys)[0].kid(), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
  EXPECT_EQ((*keys)[0].alg(), "RS256");
  EXPECT_FALSE((*keys)[0].can_sign());
}

TEST(JwtKeyTest, APrivateKeyAndItsPublicHalfShareTheKid) {
  absl::StatusOr<JwtKey> priv = JwtKey::Rs256PrivateKey(KeyA().private_pem);
  ASSERT_TRUE(priv.ok()) << priv.status();
  absl::StatusOr<std::vector<JwtKey>> pub =
      JwtKey::Rs256PublicKeys(KeyA().public_pem, KeyScope::kService);
  ASSERT_TRUE(pub.ok()) << pub.status();
  EXPECT_EQ(priv->kid(), (*pub)[0].kid());
  EXPECT_EQ((*pub)[0].scope(), KeyScope::kService);
  EXPECT_TRUE(priv->can_sign());
  EXPECT_EQ(priv->PublicKeyPem(), KeyA().public_pem);
  // The traditional PKCS#1 form ("RSA PRIVATE KEY", older openssl genrsa)
  // loads too.
  std::unique_ptr<BIO, decltype(&BIO_free)> in(
      BIO_new_mem_buf(KeyA().private_pem.data(), static_cast<int>(KeyA().private_pem.size())),
      &BIO_free);
  EVP_PKEY* k = PEM_read_bio_PrivateKey(in.get(), nullptr, nullptr, nullptr);
  ASSERT_NE(k, nullptr);
  std::unique_ptr<BIO, decltype(&BIO_free)> out(BIO_new(BIO_s_mem()), &BIO_free);
  ASSERT_EQ(PEM_write_bio_PrivateKey_traditional(out.get(), k, nullptr, nullptr, 0, nullptr,
                                                 nullptr),
            1);
  EVP_PKEY_free(k);
  char* data = nullptr;
  const long len = BIO_get_mem_data(out.get(), &data);
  const std::string pkcs1(data, len);
  ASSERT_TRUE(absl::StartsWith(pkcs1, "-----BEGIN RSA PRIVATE KEY-----")) << pkcs1;
  absl::StatusOr<JwtKey> again = JwtKey::Rs256PrivateKey(pkcs1);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->kid(), priv->kid());
}

TEST(JwtKeyTest, SignaturesVerifyOnlyUnderTheirKeyAndInput) {
  JwtKey a = *JwtKey::Rs256PrivateKey(KeyA().private_pem);
  JwtKey a_pub = (*JwtKey::Rs256PublicKeys(KeyA().public_pem, KeyScope::kOperator))[0];
  JwtKey b_pub = (*JwtKey::Rs256PublicKeys(KeyB().public_pem, KeyScope::kOperator))[0];
  absl::StatusOr<std::string> sig = a.Sign("header.payload");
  ASSERT_TRUE(sig.ok()) << sig.status();
  EXPECT_EQ(sig->size(), 256u);  // 2048 bits
  EXPECT_TRUE(a_pub.Verify("header.payload", *sig));
  EXPECT_TRUE(a.Verify("header.payload", *sig));
  EXPECT_FALSE(a_pub.Verify("header.payloaD", *sig));
  EXPECT_FALSE(b_pub.Verify("header.payload", *sig));
  std::string flipped = *sig;
  flipped[100] ^= 1;
  EXPECT_FALSE(a_pub.Verify("header.payload", flipped));
  EXPECT_FALSE(a_pub.Verify("header.payload", sig->substr(1)));
  EXPECT_FALSE(a_pub.Verify("header.payload", ""));

  absl::StatusOr<std::string> by_public = a_pub.Sign("x");
  EXPECT_EQ(by_public.status().code(), absl::StatusCode::kFailedPrecondition);

  JwtKey secret = *JwtKey::Hs256("a-secret-of-enough-length-0123456789");
  absl::StatusOr<std::string> mac = secret.Sign("header.payload");
  ASSERT_TRUE(mac.ok());
  EXPECT_EQ(mac->size(), 32u);
  EXPECT_TRUE(secret.Verify("header.payload", *mac));
  EXPECT_FALSE(secret.Verify("header.payload", mac->substr(0, 31)));
  EXPECT_FALSE(JwtKey::Hs256("").ok());
}

TEST(JwtKeyTest, ABundleWithCommentsAndSeveralKeysLoads) {
  const std::string bundle = absl::StrCat("# ops key 2026-01 (alice)\n", KeyA().public_pem,
                                          "\n# ops key 2026-07\n", KeyB().public_pem);
  absl::StatusOr<std::vector<JwtKey>> keys = JwtKey::Rs256PublicKeys(bundle, KeyScope::kOperator);
  ASSERT_TRUE(keys.ok()) << keys.status();
  ASSERT_EQ(keys->size(), 2u);
  EXPECT_NE((*keys)[0].kid(), (*keys)[1].kid());
  EXPECT_EQ((*keys)[0].kid(), JwtKey::Rs256PrivateKey(KeyA().private_pem)->kid());
}

TEST(JwtKeyTest, PublicKeyFilesRefuseWhatIsNotAnRsaPublicKey) {
  ExpectInvalid("", "no -----BEGIN PUBLIC KEY----- block");
  ExpectInvalid("just text\n", "no -----BEGIN PUBLIC KEY----- block");
  ExpectInvalid(KeyA().private_pem, "holds a private key");
  ExpectInvalid(absl::StrCat(KeyA().public_pem, KeyA().private_pem), "holds a private key");
  ExpectInvalid(absl::StrCat(KeyA().public_pem, KeyA().public_pem), "listed twice");
  ExpectInvalid("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", "does not parse");
  ExpectInvalid("-----BEGIN PUBLIC KEY-----\nMIIB\n", "has no END line");
  ExpectInvalid("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
                "only PUBLIC KEY blocks");

  EVP_PKEY* ec = EVP_EC_gen("P-256");
  ASSERT_NE(ec, nullptr);
  ExpectInvalid(PemOf(ec, false), "is not an RSA key");
  EXPECT_FALSE(JwtKey::Rs256PrivateKey(PemOf(ec, true)).ok());
  EVP_PKEY_free(ec);

  const RsaKeyPem small = GenerateRsaKey(1024);
  ExpectInvalid(small.public_pem, "has 1024 bits; at least 2048");
  EXPECT_FALSE(JwtKey::Rs256PrivateKey(small.private_pem).ok());

  EXPECT_FALSE(JwtKey::Rs256PublicKeys(KeyA().public_pem, KeyScope::kAnyRole).ok());
}

TEST(JwtKeyTest, PrivateKeysMustBeUnencryptedRsa) {
  EXPECT_FALSE(JwtKey::Rs256PrivateKey("").ok());
  EXPECT_FALSE(JwtKey::Rs256PrivateKey(KeyA().public_pem).ok());
  std::unique_ptr<BIO, decltype(&BIO_free)> in(
      BIO_new_mem_buf(KeyA().private_pem.data(), static_cast<int>(KeyA().private_pem.size())),
      &BIO_free);
  EVP_PKEY* k = PEM_read_bio_PrivateKey(in.get(), nullptr, nullptr, nullptr);
  ASSERT_NE(k, nullptr);
  const std::string encrypted = PemOf(k, true, EVP_aes_256_cbc(), "passphrase");
  EVP_PKEY_free(k);
  ASSERT_TRUE(absl::StrContains(encrypted, "ENCRYPTED")) << encrypted;
  // Refused without ever prompting on a terminal.
  absl::StatusOr<JwtKey> key = JwtKey::Rs256PrivateKey(encrypted);
  ASSERT_FALSE(key.ok());
  EXPECT_TRUE(absl::StrContains(key.status().message(), "unencrypted")) << key.status();
}

TEST(JwtKeySetTest, EachKeyHasOneScopeAndThereIsOneSecret) {
  JwtKeySet set;
  ASSERT_TRUE(set.Add(*JwtKey::Hs256("a-secret-of-enough-length-0123456789")).ok());
  EXPECT_FALSE(set.Add(*JwtKey::Hs256("another-secret-of-enough-length-0123")).ok());
  ASSERT_TRUE(set.Add((*JwtKey::Rs256PublicKeys(KeyA().public_pem, KeyScope::kOperator))[0]).ok());
  absl::Status twice = set.Add((*JwtKey::Rs256PublicKeys(KeyA().public_pem, KeyScope::kService))[0]);
  EXPECT_EQ(twice.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(twice.message(), "as operator key and as service key")) << twice;
  ASSERT_TRUE(set.Add((*JwtKey::Rs256PublicKeys(KeyB().public_pem, KeyScope::kService))[0]).ok());
  EXPECT_TRUE(set.has_secret());
  EXPECT_EQ(set.keys().size(), 3u);

  const std::string kid_a = JwtKey::Rs256PrivateKey(KeyA().private_pem)->kid();
  EXPECT_EQ(set.Candidates("RS256", "").size(), 2u);
  ASSERT_EQ(set.Candidates("RS256", kid_a).size(), 1u);
  EXPECT_EQ(set.Candidates("RS256", kid_a)[0]->scope(), KeyScope::kOperator);
  EXPECT_TRUE(set.Candidates("RS256", "no-such-kid").empty());
  // A secret has no kid: an HS256 token's kid does not rule it out.
  EXPECT_EQ(set.Candidates("HS256", "").size(), 1u);
  EXPECT_EQ(set.Candidates("HS256", kid_a).size(), 1u);
  EXPECT_TRUE(set.Candidates("none", "").empty());
  EXPECT_TRUE(set.Candidates("ES256", "").empty());
  const std::string described = set.Describe();
  EXPECT_TRUE(absl::StrContains(described, absl::StrCat("RS256 operator kid=", kid_a))) << described;
  EXPECT_TRUE(absl::StrContains(described, "HS256 any-role")) << described;
  EXPECT_FALSE(absl::StrContains(described, "a-secret")) << described;

  EXPECT_TRUE(JwtKeySet::Hs256Only("").empty());
  EXPECT_TRUE(JwtKeySet::Hs256Only("s").has_secret());
}

TEST(JwtKeyFileTest, ErrorsNameTheFile) {
  const std::string dir = ::testing::TempDir();
  EXPECT_TRUE(absl::StrContains(
      LoadRs256PublicKeysFile(dir + "/no-such.pem", KeyScope::kOperator).status().message(),
      "no-such.pem"));
  const std::string priv = dir + "/jwt_key_test_private.pem";
  ASSERT_TRUE(aigw::testing::WriteTextFile(priv, KeyA().private_pem));
  absl::StatusOr<std::vector<JwtKey>> wrong = LoadRs256PublicKeysFile(priv, KeyScope::kOperator);
  ASSERT_FALSE(wrong.ok());
  EXPECT_TRUE(absl::StartsWith(wrong.status().message(), priv)) << wrong.status();
  absl::StatusOr<JwtKey> key = LoadRs256PrivateKeyFile(priv);
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_TRUE(key->can_sign());
  const std::string pub = dir + "/jwt_key_test_public.pem";
  ASSERT_TRUE(aigw::testing::WriteTextFile(pub, KeyA().public_pem));
  absl::StatusOr<std::vector<JwtKey>> keys = LoadRs256PublicKeysFile(pub, KeyScope::kService);
  ASSERT_TRUE(keys.ok()) << keys.status();
  EXPECT_EQ((*keys)[0].kid(), key->kid());
  EXPECT_FALSE(LoadRs256PrivateKeyFile(pub).ok());
}

}  // namespace
}  // namespace aigw::auth
