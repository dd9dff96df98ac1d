// aigw-token: mints the bearer token an operator (or grpcurl) presents to
// aigw, signed HS256 with the cluster's shared secret.
//
//   aigw-token --role admin --subject alice --ttl 12h
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
#include "libs/auth/jwt_secret.h"
#include "libs/common/env_flags.h"

ABSL_FLAG(std::string, role, "admin",
          "admin (management RPCs), service (internal calls between aigw services), or any "
          "other role (ChatService only)");
ABSL_FLAG(std::string, subject, "",
          "Who the token names (\"sub\"; recorded as the caller of chat completions). "
          "Default: $USER");
ABSL_FLAG(absl::Duration, ttl, absl::Hours(12), "Lifetime (at most 8760h)");
ABSL_FLAG(std::string, jwt_secret_file, "",
          "File holding the secret when AIGW_JWT_SECRET is unset [env AIGW_JWT_SECRET_FILE]");
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

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Prints a bearer token for aigw, signed with AIGW_JWT_SECRET (or --jwt_secret_file).\n"
      "  aigw-token --role admin --subject alice --ttl 12h");
  if (absl::Status st = aigw::ApplyEnvFallbacks({{"jwt_secret_file", "AIGW_JWT_SECRET_FILE"}});
      !st.ok()) {
    return Fail(st.message());
  }
  absl::ParseCommandLine(argc, argv);

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
  absl::StatusOr<std::string> secret = aigw::auth::LoadJwtSecret(absl::GetFlag(FLAGS_jwt_secret_file));
  if (!secret.ok()) return Fail(secret.status().message());

  aigw::auth::Claims claims;
  claims.role = role;
  claims.subject = subject;
  claims.issued_at = absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now()));
  claims.expires_at = claims.issued_at + ttl;
  absl::StatusOr<std::string> token = aigw::auth::MintJwt(*secret, claims);
  if (!token.ok()) return Fail(token.status().message());
  std::printf("%s%s\n", absl::GetFlag(FLAGS_header) ? "Bearer " : "", token->c_str());
  return 0;
}
