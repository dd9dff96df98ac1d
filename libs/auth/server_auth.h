#ifndef AIGW_LIBS_AUTH_SERVER_AUTH_H_
#define AIGW_LIBS_AUTH_SERVER_AUTH_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_context.h"
#include "libs/auth/auth_policy.h"
#include "libs/auth/jwt.h"
#include "libs/auth/jwt_key.h"
#include "libs/auth/token_source.h"
#include "libs/auth/token_verifier.h"
#include "libs/common/clock.h"
#include "prometheus/registry.h"

namespace aigw::auth {

struct ServerAuthOptions {
  // The shared HS256 secret of a development cluster: accepted for every
  // role, and it signs this service's calls to its peers when there is no
  // `service_key`. Leave it empty in production: whoever holds it can mint
  // any token, admin included.
  std::string secret;
  // RS256 public keys, each with its scope (jwt_key.h): the operators' keys
  // (admin and caller tokens) and the services' keys (role service, the
  // internal calls only). Several of a scope during a rotation.
  std::vector<JwtKey> public_keys;
  // This service's own RS256 private key (a service-scoped key whose public
  // half its peers hold): it signs the service's calls to its peers.
  std::optional<JwtKey> service_key;
  // At least one of `secret` and `public_keys` is required unless
  // `disabled`; with `disabled` they may still be given, to mint tokens for
  // calls to peers that check them.
  // Dev mode: calls are not checked (the caller refuses it off loopback).
  bool disabled = false;
  Clock* clock = Clock::Real();
  // For aigw_auth_refusals_total{reason}; may be null.
  prometheus::Registry* metrics = nullptr;
  size_t max_cached_tokens = 4096;
};

// The authentication of every call a server takes (DESIGN.md: bearer JWT,
// role per method, see auth_policy.h).
//
// Why not a grpc::experimental::ServerInterceptor: in gRPC 1.51 a server
// interceptor cannot end a call before its handler runs (Hijack is
// client-only, and the handlers of sync and callback services run whatever
// the interceptor decides). The check therefore runs in gRPC core's server
// auth filter, as a grpc_auth_metadata_processor attached to the listening
// port's credentials: it sees each call's initial metadata and :path and
// ends a refused call with UNAUTHENTICATED or PERMISSION_DENIED before
// any C++ code of the service, sync, callback or streaming, sees it. The
// transport stays plaintext (the C++ InsecureServerCredentials cannot carry
// a processor, so ServerCredentials() builds the equivalent from core's
// insecure credentials).
//
// Cost per call: the :path and authorization lookups, a policy match, and a
// TokenVerifier cache hit (the signature is checked once per distinct
// token).
class ServerAuth {
 public:
  static absl::StatusOr<std::unique_ptr<ServerAuth>> Create(ServerAuthOptions options);
  ~ServerAuth();

  bool enabled() const { return !options_.disabled; }

  // For ServerBuilder::AddListeningPort. Refuses calls as above; in dev
  // mode plain insecure credentials. Each call returns new credentials that
  // share this object's state; they may outlive it.
  std::shared_ptr<grpc::ServerCredentials> ServerCredentials() const;

  // The decision for one call to `full_method` carrying `authorization`
  // ("" when absent). Always OK in dev mode.
  absl::Status Authorize(absl::string_view full_method, absl::string_view authorization) const;

  // Who is calling, for a call this server has accepted: the verified claims
  // of its bearer token. UNAUTHENTICATED when it carried none or an invalid
  // one (possible only on public methods and in dev mode). A cache hit.
  absl::StatusOr<Claims> Caller(const grpc::ServerContextBase& ctx) const;
  // The caller's subject, "" when unknown.
  std::string CallerSubject(const grpc::ServerContextBase& ctx) const;

  // A source of tokens for this service's own calls to its peers, signed
  // with `service_key`, else with `secret`. Without either (dev mode) it
  // yields empty headers.
  std::unique_ptr<TokenSource> NewTokenSource(std::string role, std::string subject,
                                              absl::Duration ttl = absl::Hours(1)) const;

  class Core;

 private:
  explicit ServerAuth(ServerAuthOptions options);

  ServerAuthOptions options_;
  std::shared_ptr<Core> core_;
  bool has_keys_ = false;
};

// The token in an `authorization` value "Bearer <jwt>" (scheme
// case-insensitive). UNAUTHENTICATED when absent or of another scheme.
absl::StatusOr<absl::string_view> BearerToken(absl::string_view authorization);

// True when a listen address is reachable only from this host: 127.0.0.0/8,
// ::1, localhost, or a unix socket. Dev mode is refused elsewhere.
bool IsLoopbackAddress(absl::string_view listen_addr);

}  // namespace aigw::auth

#endif  // AIGW_LIBS_AUTH_SERVER_AUTH_H_
