// JWT parsing and verification (libs/auth/jwt) on arbitrary bytes.
//
// Each input is tried twice:
//  - as a token, as an unauthenticated caller would send it (only the header
//    is read before the signature check fails);
//  - as the JSON inside a token correctly signed with the verifier's secret,
//    so the claims parser is reached too: the input is "header NUL payload",
//    or, without a NUL byte, the payload under {"alg":"HS256","typ":"JWT"}.
// Also: base64url decoding is the strict inverse of encoding.

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "libs/auth/jwt.h"

namespace {

using aigw::auth::Base64UrlDecode;
using aigw::auth::Base64UrlEncode;

constexpr absl::string_view kSecret = "fuzz-secret-0123456789abcdef0123456789abcdef";

std::string Sign(absl::string_view header, absl::string_view payload) {
  const std::string input = absl::StrCat(Base64UrlEncode(header), ".", Base64UrlEncode(payload));
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), kSecret.data(), static_cast<int>(kSecret.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len);
  return absl::StrCat(input, ".",
                      Base64UrlEncode(absl::string_view(reinterpret_cast<char*>(mac), len)));
}

// What every accepted token must satisfy, whatever its bytes.
void CheckAccepted(const aigw::auth::Claims& claims, absl::Time now) {
  if (claims.role.empty() || !(now < claims.expires_at) || now < claims.not_before) abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  const absl::Time now = absl::FromUnixSeconds(1767225600);  // 2026-01-01

  std::string decoded;
  if (Base64UrlDecode(input, &decoded) && Base64UrlEncode(decoded) != input) abort();
  if (!Base64UrlDecode(Base64UrlEncode(input), &decoded) || decoded != input) abort();

  if (absl::StatusOr<aigw::auth::Claims> claims = aigw::auth::VerifyJwt(kSecret, input, now);
      claims.ok()) {
    CheckAccepted(*claims, now);
  } else if (claims.status().code() != absl::StatusCode::kUnauthenticated) {
    abort();
  }

  absl::string_view header = R"({"alg":"HS256","typ":"JWT"})";
  absl::string_view payload = input;
  if (size_t nul = input.find('\0'); nul != absl::string_view::npos) {
    header = input.substr(0, nul);
    payload = input.substr(nul + 1);
  }
  const std::string token = Sign(header, payload);
  absl::StatusOr<aigw::auth::Claims> claims = aigw::auth::VerifyJwt(kSecret, token, now);
  if (!claims.ok()) {
    if (claims.status().code() != absl::StatusCode::kUnauthenticated) abort();
    return 0;
  }
  CheckAccepted(*claims, now);
  // What was accepted can be minted again, and reads back the same (tokens
  // carry whole seconds: one expiring within the second is skipped).
  absl::StatusOr<std::string> again = aigw::auth::MintJwt(kSecret, *claims);
  if (again.ok() && absl::FromUnixSeconds(absl::ToUnixSeconds(claims->expires_at)) > now) {
    absl::StatusOr<aigw::auth::Claims> back = aigw::auth::VerifyJwt(kSecret, *again, now);
    if (!back.ok() || back->role != claims->role || back->subject != claims->subject) abort();
  }
  return 0;
}
