#include "libs/auth/jwt_key.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "libs/auth/jwt.h"
#include "libs/common/secret_source.h"

namespace aigw::auth {

struct JwtKey::Material {
  std::string alg;
  std::string kid;
  // HS256.
  std::string secret;
  // RS256: a public key, or a private key when `is_private`.
  EVP_PKEY* pkey = nullptr;
  bool is_private = false;

  Material() = default;
  Material(const Material&) = delete;
  Material& operator=(const Material&) = delete;
  ~Material() {
    EVP_PKEY_free(pkey);
    OPENSSL_cleanse(secret.data(), secret.size());
  }
};

namespace {

struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct PkeyDeleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
struct BnDeleter {
  void operator()(BIGNUM* b) const { BN_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;

absl::Status Invalid(absl::string_view why) {
  // OpenSSL's error queue is per thread; leave it empty for the next user.
  ERR_clear_error();
  return absl::InvalidArgumentError(why);
}

BioPtr MemBio(absl::string_view text) {
  return BioPtr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

// Never prompts for a passphrase: an encrypted key fails to load.
int NoPassphrase(char*, int, int, void*) { return 0; }

std::string BigNumBytes(const EVP_PKEY* pkey, const char* param) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(pkey, param, &raw) != 1) return "";
  std::unique_ptr<BIGNUM, BnDeleter> bn(raw);
  std::string out(BN_num_bytes(bn.get()), '\0');
  BN_bn2bin(bn.get(), reinterpret_cast<unsigned char*>(out.data()));
  return out;
}

// RFC 7638: base64url(SHA-256({"e":..,"kty":"RSA","n":..})), members in
// lexical order, no whitespace.
std::string RsaThumbprint(const EVP_PKEY* pkey) {
  const std::string jwk =
      absl::StrCat(R"({"e":")", Base64UrlEncode(BigNumBytes(pkey, OSSL_PKEY_PARAM_RSA_E)),
                   R"(","kty":"RSA","n":")",
                   Base64UrlEncode(BigNumBytes(pkey, OSSL_PKEY_PARAM_RSA_N)), R"("})");
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(jwk.data(), jwk.size(), digest, &len, EVP_sha256(), nullptr);
  return Base64UrlEncode(absl::string_view(reinterpret_cast<const char*>(digest), len));
}

absl::Status CheckRsa(const EVP_PKEY* pkey, absl::string_view what) {
  if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_RSA) {
    return Invalid(absl::StrCat(what, " is not an RSA key: tokens are RS256 (generate one with: "
                                      "openssl genpkey -algorithm RSA -pkeyopt "
                                      "rsa_keygen_bits:3072)"));
  }
  if (EVP_PKEY_get_bits(pkey) < kMinRsaBits) {
    return Invalid(absl::StrCat(what, " has ", EVP_PKEY_get_bits(pkey), " bits; at least ",
                                kMinRsaBits, " are needed"));
  }
  return absl::OkStatus();
}

// The PEM blocks of `pem`: (label, whole block text).
std::vector<std::pair<std::string, absl::string_view>> PemBlocks(absl::string_view pem,
                                                                 absl::Status* error) {
  std::vector<std::pair<std::string, absl::string_view>> blocks;
  constexpr absl::string_view kBegin = "-----BEGIN ";
  size_t pos = 0;
  while ((pos = pem.find(kBegin, pos)) != absl::string_view::npos) {
    const size_t label_start = pos + kBegin.size();
    const size_t label_end = pem.find("-----", label_start);
    if (label_end == absl::string_view::npos) {
      *error = Invalid("a PEM block has no end of its BEGIN line");
      return {};
    }
    std::string label(pem.substr(label_start, label_end - label_start));
    const std::string end_marker = absl::StrCat("-----END ", label, "-----");
    const size_t end = pem.find(end_marker, label_end);
    if (end == absl::string_view::npos) {
      *error = Invalid(absl::StrCat("the PEM block ", label, " has no END line"));
      return {};
    }
    blocks.emplace_back(std::move(label), pem.substr(pos, end + end_marker.size() - pos));
    pos = end + end_marker.size();
  }
  return blocks;
}

std::string HmacSha256(absl::string_view key, absl::string_view data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &len);
  return std::string(reinterpret_cast<const char*>(mac), len);
}

absl::Status InFile(const std::string& path, const absl::Status& st) {
  return absl::Status(st.code(), absl::StrCat(path, ": ", st.message()));
}

}  // namespace

absl::string_view KeyScopeName(KeyScope scope) {
  switch (scope) {
    case KeyScope::kAnyRole:
      return "any-role";
    case KeyScope::kOperator:
      return "operator";
    case KeyScope::kService:
      return "service";
  }
  return "?";
}

JwtKey::JwtKey(std::shared_ptr<const Material> material, KeyScope scope)
    : material_(std::move(material)), scope_(scope) {}

absl::StatusOr<JwtKey> JwtKey::Hs256(absl::string_view secret) {
  if (secret.empty()) return absl::InvalidArgumentError("the JWT secret is empty");
  auto m = std::make_shared<Material>();
  m->alg = kAlgHs256;
  m->secret = std::string(secret);
  return JwtKey(std::move(m), KeyScope::kAnyRole);
}

absl::StatusOr<std::vector<JwtKey>> JwtKey::Rs256PublicKeys(absl::string_view pem,
                                                            KeyScope scope) {
  if (scope == KeyScope::kAnyRole) {
    return absl::InvalidArgumentError("an RS256 public key is an operator's or a service's");
  }
  absl::Status error;
  const auto blocks = PemBlocks(pem, &error);
  if (!error.ok()) return error;
  std::vector<JwtKey> keys;
  for (const auto& [label, text] : blocks) {
    const std::string what = absl::StrCat("public key ", keys.size() + 1);
    if (absl::StrContains(label, "PRIVATE KEY")) {
      return Invalid(
          "holds a private key: give the services only public keys (openssl pkey -in k.pem "
          "-pubout); the private key stays with whoever signs");
    }
    if (label != "PUBLIC KEY") {
      return Invalid(absl::StrCat("a ", label,
                                  " block: only PUBLIC KEY blocks are accepted (openssl pkey "
                                  "-in k.pem -pubout)"));
    }
    BioPtr bio = MemBio(text);
    PkeyPtr pkey(PEM_read_bio_PUBKEY(bio.get(), nullptr, NoPassphrase, nullptr));
    if (pkey == nullptr) return Invalid(absl::StrCat(what, " does not parse"));
    if (absl::Status st = CheckRsa(pkey.get(), what); !st.ok()) return st;
    auto m = std::make_shared<Material>();
    m->alg = kAlgRs256;
    m->kid = RsaThumbprint(pkey.get());
    m->pkey = pkey.release();
    for (const JwtKey& k : keys) {
      if (k.kid() == m->kid) return Invalid(absl::StrCat(what, " is listed twice (kid ", m->kid, ")"));
    }
    keys.push_back(JwtKey(std::move(m), scope));
  }
  if (keys.empty()) return Invalid("no -----BEGIN PUBLIC KEY----- block");
  return keys;
}

absl::StatusOr<JwtKey> JwtKey::Rs256PrivateKey(absl::string_view pem) {
  BioPtr bio = MemBio(pem);
  PkeyPtr pkey(PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassphrase, nullptr));
  if (pkey == nullptr) {
    return Invalid("no unencrypted private key in PEM (PRIVATE KEY or RSA PRIVATE KEY)");
  }
  if (absl::Status st = CheckRsa(pkey.get(), "the private key"); !st.ok()) return st;
  auto m = std::make_shared<Material>();
  m->alg = kAlgRs256;
  m->kid = RsaThumbprint(pkey.get());
  m->pkey = pkey.release();
  m->is_private = true;
  // A private key verifies too; as a verifier its scope would not matter,
  // it is never put in a JwtKeySet by the services.
  return JwtKey(std::move(m), KeyScope::kOperator);
}

absl::string_view JwtKey::alg() const { return material_->alg; }
const std::string& JwtKey::kid() const { return material_->kid; }
KeyScope JwtKey::scope() const { return scope_; }
bool JwtKey::can_sign() const { return material_->pkey == nullptr || material_->is_private; }

absl::StatusOr<std::string> JwtKey::Sign(absl::string_view input) const {
  const Material& m = *material_;
  if (m.pkey == nullptr) return HmacSha256(m.secret, input);
  if (!m.is_private) {
    return absl::FailedPreconditionError("a public key cannot sign: give the private key");
  }
  MdCtxPtr ctx(EVP_MD_CTX_new());
  size_t len = 0;
  if (ctx == nullptr || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, m.pkey) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()),
                     input.size()) != 1) {
    ERR_clear_error();
    return absl::InternalError("RS256 signing failed");
  }
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                     reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1) {
    ERR_clear_error();
    return absl::InternalError("RS256 signing failed");
  }
  sig.resize(len);
  return sig;
}

bool JwtKey::Verify(absl::string_view input, absl::string_view signature) const {
  const Material& m = *material_;
  if (m.pkey == nullptr) {
    const std::string mac = HmacSha256(m.secret, input);
    return signature.size() == mac.size() &&
           CRYPTO_memcmp(mac.data(), signature.data(), mac.size()) == 0;
  }
  if (signature.size() != static_cast<size_t>(EVP_PKEY_get_size(m.pkey))) return false;
  MdCtxPtr ctx(EVP_MD_CTX_new());
  const bool ok =
      ctx != nullptr &&
      EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, m.pkey) == 1 &&
      EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                       signature.size(), reinterpret_cast<const unsigned char*>(input.data()),
                       input.size()) == 1;
  if (!ok) ERR_clear_error();
  return ok;
}

std::string JwtKey::PublicKeyPem() const {
  if (material_->pkey == nullptr) return "";
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || PEM_write_bio_PUBKEY(bio.get(), material_->pkey) != 1) {
    ERR_clear_error();
    return "";
  }
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, len);
}

JwtKeySet JwtKeySet::Hs256Only(absl::string_view secret) {
  JwtKeySet keys;
  absl::StatusOr<JwtKey> key = JwtKey::Hs256(secret);
  if (key.ok()) keys.keys_.push_back(*std::move(key));
  return keys;
}

absl::Status JwtKeySet::Add(JwtKey key) {
  for (const JwtKey& k : keys_) {
    if (key.alg() == kAlgHs256 && k.alg() == kAlgHs256) {
      return absl::InvalidArgumentError("only one HS256 secret can be accepted");
    }
    if (!key.kid().empty() && k.kid() == key.kid()) {
      return absl::InvalidArgumentError(
          absl::StrCat("key ", key.kid(), " is listed twice, as ", KeyScopeName(k.scope()),
                       " key and as ", KeyScopeName(key.scope()),
                       " key: each key must have one scope"));
    }
  }
  keys_.push_back(std::move(key));
  return absl::OkStatus();
}

bool JwtKeySet::has_secret() const {
  for (const JwtKey& k : keys_) {
    if (k.alg() == kAlgHs256) return true;
  }
  return false;
}

std::vector<const JwtKey*> JwtKeySet::Candidates(absl::string_view alg,
                                                 absl::string_view kid) const {
  std::vector<const JwtKey*> out;
  for (const JwtKey& k : keys_) {
    if (k.alg() != alg) continue;
    if (!kid.empty() && !k.kid().empty() && k.kid() != kid) continue;
    out.push_back(&k);
  }
  return out;
}

std::string JwtKeySet::Describe() const {
  return absl::StrJoin(keys_, ", ", [](std::string* out, const JwtKey& k) {
    absl::StrAppend(out, k.alg(), " ", KeyScopeName(k.scope()));
    if (!k.kid().empty()) absl::StrAppend(out, " kid=", k.kid());
  });
}

absl::StatusOr<std::vector<JwtKey>> LoadRs256PublicKeysFile(const std::string& path,
                                                            KeyScope scope) {
  absl::StatusOr<std::string> pem = ReadSecretFile(path, "key file");
  if (!pem.ok()) return pem.status();
  absl::StatusOr<std::vector<JwtKey>> keys = JwtKey::Rs256PublicKeys(*pem, scope);
  if (!keys.ok()) return InFile(path, keys.status());
  return keys;
}

absl::StatusOr<JwtKey> LoadRs256PrivateKeyFile(const std::string& path) {
  absl::StatusOr<std::string> pem = ReadSecretFile(path, "key file");
  if (!pem.ok()) return pem.status();
  absl::StatusOr<JwtKey> key = JwtKey::Rs256PrivateKey(*pem);
  OPENSSL_cleanse(pem->data(), pem->size());
  if (!key.ok()) return InFile(path, key.status());
  return key;
}

}  // namespace aigw::auth
