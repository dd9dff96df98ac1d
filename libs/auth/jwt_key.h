#ifndef AIGW_LIBS_AUTH_JWT_KEY_H_
#define AIGW_LIBS_AUTH_JWT_KEY_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace aigw::auth {

inline constexpr char kAlgHs256[] = "HS256";
inline constexpr char kAlgRs256[] = "RS256";

// Smaller RSA keys are refused (NIST SP 800-57: 2048 bits at least).
inline constexpr int kMinRsaBits = 2048;

// Which tokens a verification key may vouch for. A token's signature says
// which key made it; the key's scope says which roles that signer may grant.
enum class KeyScope {
  // The shared HS256 secret of a development cluster: whoever holds it can
  // mint any token, `admin` and `service` included.
  kAnyRole,
  // An operator's RS256 key (aigw-token): admin and caller tokens, never
  // role `service`.
  kOperator,
  // A service's RS256 key (the gateway's): role `service` only, which opens
  // nothing but the internal calls (auth_policy.h).
  kService,
};

absl::string_view KeyScopeName(KeyScope scope);

// One key that signs or verifies compact JWS: an HS256 secret, an RS256
// public key (verifies) or an RS256 private key (signs and verifies). The
// algorithm belongs to the key, not to the token: a token whose header names
// another algorithm than the key's is never checked against it, so an RSA
// public key can never be used as an HMAC secret (alg confusion). Cheap to
// copy (the key material is shared); thread-safe.
class JwtKey {
 public:
  // HS256 over `secret` (non-empty). No kid; scope kAnyRole.
  static absl::StatusOr<JwtKey> Hs256(absl::string_view secret);
  // Every "-----BEGIN PUBLIC KEY-----" block of `pem` (anything outside the
  // blocks, such as comments, is ignored): RSA keys of at least kMinRsaBits.
  // Each key's kid is its RFC 7638 JWK thumbprint, so a bundle needs no
  // labels and every party computes the same kid. INVALID_ARGUMENT names
  // what is wrong (no key, not RSA, too small, duplicate).
  static absl::StatusOr<std::vector<JwtKey>> Rs256PublicKeys(absl::string_view pem,
                                                             KeyScope scope);
  // An RSA private key in PEM (PKCS#8 "PRIVATE KEY" or PKCS#1 "RSA PRIVATE
  // KEY", unencrypted), for minting. Its kid is the thumbprint of its public
  // half, so tokens it signs name the key their verifiers hold.
  static absl::StatusOr<JwtKey> Rs256PrivateKey(absl::string_view pem);

  // "HS256" or "RS256".
  absl::string_view alg() const;
  // The RFC 7638 thumbprint of an RSA key; empty for a secret.
  const std::string& kid() const;
  KeyScope scope() const;
  bool can_sign() const;

  // The JWS signature of `signing_input` (raw bytes, not base64url).
  // FAILED_PRECONDITION for a public key.
  absl::StatusOr<std::string> Sign(absl::string_view signing_input) const;
  // Whether `signature` (raw bytes) signs `signing_input` under this key;
  // HMACs are compared in constant time.
  bool Verify(absl::string_view signing_input, absl::string_view signature) const;

  // The public half in PEM ("-----BEGIN PUBLIC KEY-----"); empty for a
  // secret. What an operator puts in the services' public key files.
  std::string PublicKeyPem() const;

  struct Material;

 private:
  JwtKey(std::shared_ptr<const Material> material, KeyScope scope);

  std::shared_ptr<const Material> material_;
  KeyScope scope_ = KeyScope::kAnyRole;
};

// The keys a service accepts tokens from: at most one HS256 secret and any
// number of RS256 public keys, each with its scope. Several keys of one
// scope is how keys are rotated without a gap (libs/auth/README.md).
class JwtKeySet {
 public:
  // Just the HS256 `secret` (development clusters, tests); empty when the
  // secret is.
  static JwtKeySet Hs256Only(absl::string_view secret);

  // INVALID_ARGUMENT when a key with the same kid is already there (the same
  // RSA key listed as both an operator's and a service's would make its
  // scope ambiguous), or for a second HS256 secret.
  absl::Status Add(JwtKey key);

  bool empty() const { return keys_.empty(); }
  const std::vector<JwtKey>& keys() const { return keys_; }
  bool has_secret() const;

  // The keys that may have signed a token whose header says `alg` and `kid`
  // (kid empty when the header has none): same algorithm, and the same kid
  // when both the token and the key have one.
  std::vector<const JwtKey*> Candidates(absl::string_view alg, absl::string_view kid) const;

  // "RS256 operator kid=..., HS256 any-role secret", for the start-up log.
  std::string Describe() const;

 private:
  std::vector<JwtKey> keys_;
};

// The RS256 public keys in the PEM file at `path` (see Rs256PublicKeys);
// errors name the file.
absl::StatusOr<std::vector<JwtKey>> LoadRs256PublicKeysFile(const std::string& path,
                                                            KeyScope scope);
// The RS256 private key in the PEM file at `path`.
absl::StatusOr<JwtKey> LoadRs256PrivateKeyFile(const std::string& path);

}  // namespace aigw::auth

#endif  // AIGW_LIBS_AUTH_JWT_KEY_H_
