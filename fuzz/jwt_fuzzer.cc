// JWT parsing and verification (libs/auth/jwt) on arbitrary bytes, against
// the keys a service holds: an HS256 secret, an operator's RS256 public key
// and a service's RS256 public key.
//
// Each input is tried twice:
//  - as a token, as an unauthenticated caller would send it (the header is
//    read, then the signature check fails);
//  - as the JSON inside a correctly signed token, so that the claims and the
//    signer's scope are checked too. The input is "header NUL payload" or,
//    without a NUL byte, a payload under {"alg":"HS256","typ":"JWT"}. A
//    header naming RS256 is signed with the service's private key when it
//    holds the word "service" anywhere, else with the operator's; any other
//    header with the secret.
// Also: base64url decoding is the strict inverse of encoding.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "fuzz/fuzz_rsa_keys.h"
#include "libs/auth/jwt.h"
#include "libs/auth/jwt_key.h"

namespace {

using aigw::auth::Base64UrlDecode;
using aigw::auth::Base64UrlEncode;
using aigw::auth::Claims;
using aigw::auth::JwtKey;
using aigw::auth::JwtKeySet;
using aigw::auth::KeyScope;

constexpr absl::string_view kSecret = "fuzz-secret-0123456789abcdef0123456789abcdef";

struct Keys {
  JwtKey secret;
  JwtKey operator_key;  // private halves, for signing
  JwtKey service_key;
  JwtKeySet accepted;  // what the verifier holds: the secret and public halves
};

JwtKey Must(absl::StatusOr<JwtKey> key) {
  if (!key.ok()) abort();
  return *std::move(key);
}

const Keys& TheKeys() {
  static const Keys* const keys = [] {
    auto* k = new Keys{Must(JwtKey::Hs256(kSecret)),
                       Must(JwtKey::Rs256PrivateKey(aigw::fuzz::kOperatorKeyPem)),
                       Must(JwtKey::Rs256PrivateKey(aigw::fuzz::kServiceKeyPem)), JwtKeySet()};
    auto op = JwtKey::Rs256PublicKeys(k->operator_key.PublicKeyPem(), KeyScope::kOperator);
    auto svc = JwtKey::Rs256PublicKeys(k->service_key.PublicKeyPem(), KeyScope::kService);
    if (!op.ok() || !svc.ok() || !k->accepted.Add(k->secret).ok() ||
        !k->accepted.Add((*op)[0]).ok() || !k->accepted.Add((*svc)[0]).ok()) {
      abort();
    }
    return k;
  }();
  return *keys;
}

// What every accepted token must satisfy, whatever its bytes.
void CheckAccepted(const Claims& claims, absl::Time now) {
  if (claims.role.empty() || !(now < claims.expires_at) || now < claims.not_before) abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const Keys& keys = TheKeys();
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  const absl::Time now = absl::FromUnixSeconds(1767225600);  // 2026-01-01

  std::string decoded;
  if (Base64UrlDecode(input, &decoded) && Base64UrlEncode(decoded) != input) abort();
  if (!Base64UrlDecode(Base64UrlEncode(input), &decoded) || decoded != input) abort();

  for (absl::StatusOr<Claims> claims :
       {aigw::auth::VerifyJwt(keys.accepted, input, now), aigw::auth::VerifyJwt(kSecret, input, now)}) {
    if (claims.ok()) {
      CheckAccepted(*claims, now);
    } else if (claims.status().code() != absl::StatusCode::kUnauthenticated) {
      abort();
    }
  }

  absl::string_view header = R"({"alg":"HS256","typ":"JWT"})";
  absl::string_view payload = input;
  if (size_t nul = input.find('\0'); nul != absl::string_view::npos) {
    header = input.substr(0, nul);
    payload = input.substr(nul + 1);
  }
  const JwtKey& signer = !absl::StrContains(header, "RS256")    ? keys.secret
                         : absl::StrContains(header, "service") ? keys.service_key
                                                                : keys.operator_key;
  const std::string signing_input =
      absl::StrCat(Base64UrlEncode(header), ".", Base64UrlEncode(payload));
  absl::StatusOr<std::string> signature = signer.Sign(signing_input);
  if (!signature.ok()) abort();
  const std::string token = absl::StrCat(signing_input, ".", Base64UrlEncode(*signature));
  absl::StatusOr<Claims> claims = aigw::auth::VerifyJwt(keys.accepted, token, now);
  if (!claims.ok()) {
    if (claims.status().code() != absl::StatusCode::kUnauthenticated) abort();
    return 0;
  }
  CheckAccepted(*claims, now);
  // A signer grants only the roles of its scope.
  if (&signer == &keys.service_key && claims->role != "service") abort();
  if (&signer == &keys.operator_key && claims->role == "service") abort();
  // What was accepted can be minted again by the same signer, and reads back
  // the same (tokens carry whole seconds: one expiring within the second is
  // skipped).
  absl::StatusOr<std::string> again = aigw::auth::MintJwt(signer, *claims);
  if (again.ok() && absl::FromUnixSeconds(absl::ToUnixSeconds(claims->expires_at)) > now) {
    absl::StatusOr<Claims> back = aigw::auth::VerifyJwt(keys.accepted, *again, now);
    if (!back.ok() || back->role != claims->role || back->subject != claims->subject) abort();
  }
  return 0;
}
