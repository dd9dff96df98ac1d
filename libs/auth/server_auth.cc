#include "libs/auth/server_auth.h"

#include <grpc/grpc.h>
#include <grpc/grpc_security.h>

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "libs/common/logging.h"
#include "prometheus/counter.h"

namespace aigw::auth {

// What the core processor needs; shared with every credentials object made,
// since gRPC core may keep those after the ServerAuth is gone.
class ServerAuth::Core {
 public:
  Core(JwtKeySet keys, Clock* clock, size_t max_cached, prometheus::Registry* registry)
      : verifier_(std::move(keys), clock, max_cached) {
    if (registry == nullptr) return;
    auto& family = prometheus::BuildCounter()
                       .Name("aigw_auth_refusals_total")
                       .Help("Calls refused before any handler ran, by reason.")
                       .Register(*registry);
    missing_ = &family.Add({{"reason", "missing_token"}});
    invalid_ = &family.Add({{"reason", "invalid_token"}});
    expired_ = &family.Add({{"reason", "expired"}});
    wrong_role_ = &family.Add({{"reason", "wrong_role"}});
  }

  absl::Status Authorize(absl::string_view method, absl::string_view authorization) const {
    const Access access = RequiredAccess(method);
    if (access == Access::kPublic) return absl::OkStatus();
    absl::StatusOr<absl::string_view> token = BearerToken(authorization);
    if (!token.ok()) {
      Count(missing_);
      return token.status();
    }
    absl::StatusOr<Claims> claims = verifier_.Verify(*token);
    if (!claims.ok()) {
      Count(absl::EndsWith(claims.status().message(), "expired") ? expired_ : invalid_);
      return claims.status();
    }
    absl::Status role = CheckRole(access, *claims);
    if (!role.ok()) Count(wrong_role_);
    return role;
  }

  const TokenVerifier& verifier() const { return verifier_; }

  // grpc_auth_metadata_processor.process: runs in gRPC core's server auth
  // filter, once per call, before the call reaches the C++ server.
  static void Process(void* state, grpc_auth_context* /*context*/, const grpc_metadata* md,
                      size_t num_md, grpc_process_auth_metadata_done_cb cb, void* user_data) {
    const Core& core = **static_cast<std::shared_ptr<Core>*>(state);
    absl::string_view path;
    absl::string_view authorization;
    for (size_t i = 0; i < num_md; ++i) {
      const absl::string_view key(reinterpret_cast<const char*>(GRPC_SLICE_START_PTR(md[i].key)),
                                  GRPC_SLICE_LENGTH(md[i].key));
      const absl::string_view value(
          reinterpret_cast<const char*>(GRPC_SLICE_START_PTR(md[i].value)),
          GRPC_SLICE_LENGTH(md[i].value));
      if (key == ":path") {
        path = value;
      } else if (key == "authorization") {
        authorization = value;
      }
    }
    const absl::Status st = core.Authorize(path, authorization);
    if (st.ok()) {
      cb(user_data, nullptr, 0, nullptr, 0, GRPC_STATUS_OK, nullptr);
      return;
    }
    spdlog::debug("msg=\"call refused\" method=\"{}\" code={} reason=\"{}\"", path,
                  static_cast<int>(st.code()), st.message());
    const std::string details(st.message());
    cb(user_data, nullptr, 0, nullptr, 0, static_cast<grpc_status_code>(st.code()),
       details.c_str());
  }

  static void Destroy(void* state) { delete static_cast<std::shared_ptr<Core>*>(state); }

 private:
  static void Count(prometheus::Counter* c) {
    if (c != nullptr) c->Increment();
  }

  TokenVerifier verifier_;
  prometheus::Counter* missing_ = nullptr;
  prometheus::Counter* invalid_ = nullptr;
  prometheus::Counter* expired_ = nullptr;
  prometheus::Counter* wrong_role_ = nullptr;
};

namespace {

// Plaintext HTTP/2, like grpc::InsecureServerCredentials(), but with the
// processor attached: that class asserts when given one.
class CheckingInsecureCredentials final : public grpc::ServerCredentials {
 public:
  explicit CheckingInsecureCredentials(std::shared_ptr<ServerAuth::Core> core)
      : core_(std::move(core)) {}

  void SetAuthMetadataProcessor(
      const std::shared_ptr<grpc::AuthMetadataProcessor>& /*processor*/) override {
    // The token check is this class's processor; replacing it would turn
    // authentication off silently.
  }

 private:
  int AddPortToServer(const std::string& addr, grpc_server* server) override {
    grpc_server_credentials* creds = grpc_insecure_server_credentials_create();
    grpc_auth_metadata_processor processor;
    processor.process = &ServerAuth::Core::Process;
    processor.destroy = &ServerAuth::Core::Destroy;
    processor.state = new std::shared_ptr<ServerAuth::Core>(core_);
    grpc_server_credentials_set_auth_metadata_processor(creds, processor);
    const int port = grpc_server_add_http2_port(server, addr.c_str(), creds);
    grpc_server_credentials_release(creds);
    return port;
  }
  bool IsInsecure() const override { return true; }

  std::shared_ptr<ServerAuth::Core> core_;
};

}  // namespace

ServerAuth::ServerAuth(ServerAuthOptions options) : options_(std::move(options)) {}

ServerAuth::~ServerAuth() = default;

absl::StatusOr<std::unique_ptr<ServerAuth>> ServerAuth::Create(ServerAuthOptions options) {
  JwtKeySet keys = JwtKeySet::Hs256Only(options.secret);
  for (const JwtKey& key : options.public_keys) {
    if (key.scope() == KeyScope::kAnyRole) {
      return absl::InvalidArgumentError("a public key needs a scope: operator or service");
    }
    if (absl::Status st = keys.Add(key); !st.ok()) return st;
  }
  if (options.service_key.has_value() && !options.service_key->can_sign()) {
    return absl::InvalidArgumentError("the service key must be a private key");
  }
  if (!options.disabled && keys.empty()) {
    return absl::InvalidArgumentError(
        "authentication needs keys to verify tokens with: the operators' public keys "
        "(--jwt_public_keys_file) or, for development, the HS256 secret (AIGW_JWT_SECRET)");
  }
  std::unique_ptr<ServerAuth> auth(new ServerAuth(std::move(options)));
  const ServerAuthOptions& o = auth->options_;
  auth->has_keys_ = !keys.empty();
  auth->core_ = std::make_shared<Core>(std::move(keys), o.clock, o.max_cached_tokens,
                                       o.disabled ? nullptr : o.metrics);
  return auth;
}

std::shared_ptr<grpc::ServerCredentials> ServerAuth::ServerCredentials() const {
  if (options_.disabled) return grpc::InsecureServerCredentials();
  return std::make_shared<CheckingInsecureCredentials>(core_);
}

absl::Status ServerAuth::Authorize(absl::string_view full_method,
                                   absl::string_view authorization) const {
  if (options_.disabled) return absl::OkStatus();
  return core_->Authorize(full_method, authorization);
}

absl::StatusOr<Claims> ServerAuth::Caller(const grpc::ServerContextBase& ctx) const {
  if (!has_keys_) return absl::UnauthenticatedError("authentication is off");
  const auto& md = ctx.client_metadata();
  auto it = md.find("authorization");
  if (it == md.end()) return absl::UnauthenticatedError("no authorization metadata");
  absl::StatusOr<absl::string_view> token =
      BearerToken(absl::string_view(it->second.data(), it->second.size()));
  if (!token.ok()) return token.status();
  return core_->verifier().Verify(*token);
}

std::string ServerAuth::CallerSubject(const grpc::ServerContextBase& ctx) const {
  absl::StatusOr<Claims> claims = Caller(ctx);
  return claims.ok() ? claims->subject : std::string();
}

std::unique_ptr<TokenSource> ServerAuth::NewTokenSource(std::string role, std::string subject,
                                                        absl::Duration ttl) const {
  if (options_.service_key.has_value()) {
    return std::make_unique<TokenSource>(options_.service_key, std::move(role), std::move(subject),
                                         ttl, options_.clock);
  }
  return std::make_unique<TokenSource>(absl::string_view(options_.secret), std::move(role),
                                       std::move(subject), ttl, options_.clock);
}

absl::StatusOr<absl::string_view> BearerToken(absl::string_view authorization) {
  if (authorization.empty()) {
    return absl::UnauthenticatedError("missing authorization metadata: send 'Bearer <JWT>'");
  }
  constexpr absl::string_view kScheme = "bearer";
  if (authorization.size() <= kScheme.size() ||
      !absl::EqualsIgnoreCase(authorization.substr(0, kScheme.size()), kScheme) ||
      authorization[kScheme.size()] != ' ') {
    return absl::UnauthenticatedError("authorization metadata must be 'Bearer <JWT>'");
  }
  absl::string_view token = absl::StripAsciiWhitespace(authorization.substr(kScheme.size()));
  if (token.empty()) {
    return absl::UnauthenticatedError("authorization metadata must be 'Bearer <JWT>'");
  }
  return token;
}

bool IsLoopbackAddress(absl::string_view addr) {
  if (absl::StartsWith(addr, "unix:") || absl::StartsWith(addr, "unix-abstract:")) return true;
  absl::string_view host = addr;
  if (absl::ConsumePrefix(&host, "[")) {
    const size_t close = host.find(']');
    if (close == absl::string_view::npos) return false;
    host = host.substr(0, close);
  } else {
    const size_t colon = host.rfind(':');
    // "::1" without brackets has no port part we can split off reliably.
    if (host == "::1") return true;
    if (colon != absl::string_view::npos) host = host.substr(0, colon);
  }
  if (host == "::1" || absl::EqualsIgnoreCase(host, "localhost")) return true;
  std::vector<absl::string_view> octets = absl::StrSplit(host, '.');
  if (octets.size() != 4 || octets[0] != "127") return false;
  for (absl::string_view o : octets) {
    int v = 0;
    if (!absl::SimpleAtoi(o, &v) || v < 0 || v > 255) return false;
  }
  return true;
}

}  // namespace aigw::auth
