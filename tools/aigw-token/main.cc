// aigw-token: mints the bearer token an operator (or grpcurl) presents to
// aigw, signed RS256 with an operator's private key (production) or HS256
// with a development cluster's shared secret.
//
//   aigw-token --jwt_private_key_file ops.key --role admin --subject alice --ttl 12h
//   grpcurl -plaintext -H "authorization: Bearer $(aigw-token --subject alice)"
//       localhost:50054 aigw.v1.AdminService/ListProviders

#include <cstdio>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "libs/auth/jwt.h"
#include "libs/auth/jwt_key.h"
#include "libs/auth/jwt_secret.h"
#include "libs/common/env_flags.h"

ABSL_FLAG(std::string, role, "admin",
          "admin (management RPCs), service (internal calls between aigw services), or any "
          "other role (ChatService only)");
ABSL_FLAG(std::string, subject, "",
          "Who the token names (\"sub\"; recorded as the caller of chat completions). "
          "Default: $USER");
ABSL_FLAG(absl::Duration, ttl, absl::Hours(12), "Lifetime (at most 8760h)");
ABSL_FLAG(std::string, jwt_private_key_file, "",
          "PEM file of the operator's RS256 private key; the services hold its public half in "
          "--jwt_public_keys_file [env AIGW_JWT_PRIVATE_KEY_FILE]");
ABSL_FLAG(std::string, jwt_secret_file, "",
          "Development: file holding the HS256 secret when AIGW_JWT_SECRET is unset and no "
          "private key is given [env AIGW_JWT_SECRET_FILE]");
ABSL_FLAG(bool, print_kid, false,
          "Print the kid of --jwt_private_key_file (the RFC 7638 thumbprint the services log for "
          "each accepted key) and exit");
ABSL_FLAG(bool, header, false,
          "Print the whole metadata value, \"Bearer <token>\", instead of the token alone");

namespace {

int Fail(absl::string_view what) {
  std::fprintf(stderr, "aigw-token: %.*s\n", static_cast<int>(what.size()), what.data());
  return 1;
}

bool ValidRole(absl::string_view role) {
  if (role.empty() || role.size() > 64) return false;
  for (char c : role) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

// The operator's private key when given, else the development secret.
absl::StatusOr<aigw::auth::JwtKey> SigningKey() {
  if (const std::string file = absl::GetFlag(FLAGS_jwt_private_key_file); !file.empty()) {
    return aigw::auth::LoadRs256PrivateKeyFile(file);
  }
  absl::StatusOr<std::string> secret =
      aigw::auth::LoadJwtSecret(absl::GetFlag(FLAGS_jwt_secret_file));
  if (absl::IsNotFound(secret.status())) {
    return absl::NotFoundError(
        "no signing key: give --jwt_private_key_file (an operator's RS256 key) or, for a "
        "development cluster, AIGW_JWT_SECRET / --jwt_secret_file");
  }
  if (!secret.ok()) return secret.status();
  return aigw::auth::JwtKey::Hs256(*secret);
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Prints a bearer token for aigw, signed RS256 with --jwt_private_key_file or, for a "
      "development cluster, HS256 with AIGW_JWT_SECRET (or --jwt_secret_file).\n"
      "  aigw-token --jwt_private_key_file ops.key --role admin --subject alice --ttl 12h");
  if (absl::Status st =
          aigw::ApplyEnvFallbacks({{"jwt_private_key_file", "AIGW_JWT_PRIVATE_KEY_FILE"},
                                   {"jwt_secret_file", "AIGW_JWT_SECRET_FILE"}});
      !st.ok()) {
    return Fail(st.message());
  }
  absl::ParseCommandLine(argc, argv);

  if (absl::GetFlag(FLAGS_print_kid) && absl::GetFlag(FLAGS_jwt_private_key_file).empty()) {
    return Fail("--print_kid needs --jwt_private_key_file");
  }
  absl::StatusOr<aigw::auth::JwtKey> key = SigningKey();
  if (!key.ok()) return Fail(key.status().message());
  if (absl::GetFlag(FLAGS_print_kid)) {
    std::printf("%s\n", key->kid().c_str());
    return 0;
  }

  const std::string role = absl::GetFlag(FLAGS_role);
  if (!ValidRole(role)) {
    return Fail(absl::StrCat("--role '", role, "' must be lowercase letters, digits, '-' or '_'"));
  }
  std::string subject = absl::GetFlag(FLAGS_subject);
  if (subject.empty()) subject = aigw::GetEnvOr("USER", "");
  if (subject.empty()) return Fail("--subject is required (and $USER is not set)");
  const absl::Duration ttl = absl::GetFlag(FLAGS_ttl);
  if (ttl <= absl::ZeroDuration() || ttl > absl::Hours(24 * 365)) {
    return Fail("--ttl must be positive and at most 8760h");
  }
  aigw::auth::Claims claims;
  claims.role = role;
  claims.subject = subject;
  claims.issued_at = absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now()));
  claims.expires_at = claims.issued_at + ttl;
  absl::StatusOr<std::string> token = aigw::auth::MintJwt(*key, claims);
  if (!token.ok()) return Fail(token.status().message());
  std::printf("%s%s\n", absl::GetFlag(FLAGS_header) ? "Bearer " : "", token->c_str());
  return 0;
}
