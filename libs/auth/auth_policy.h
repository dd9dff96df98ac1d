#ifndef AIGW_LIBS_AUTH_AUTH_POLICY_H_
#define AIGW_LIBS_AUTH_AUTH_POLICY_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "libs/auth/jwt.h"

namespace aigw::auth {

// Who may call a method.
enum class Access {
  // No token needed: health checks and server reflection.
  kPublic,
  // Any valid token but a service token (ChatService): callers and admins.
  kAnyToken,
  // Role `service`: the internal calls between aigw services.
  kService,
  // Role `admin`: management.
  kAdmin,
};

absl::string_view AccessName(Access access);

// The access a full gRPC method name ("/aigw.v1.KeyPool/LeaseKey") needs:
//   grpc.health.v1.Health/*, grpc.reflection.*/*       public
//   aigw.v1.ChatService/*                              any valid token but service
//   KeyPool/LeaseKey, KeyPool/ReportUsage, KeyPool/ReportUsageBatch,
//   KeyPool/AllotKeys, UsageService/RecordCalls        service
//   AdminService/*, UsageService/* (the queries),
//   KeyPool/* (ListKeyStates, Reload), anything else   admin
// Unknown methods need admin, so a method added later is closed until it is
// placed here on purpose.
Access RequiredAccess(absl::string_view full_method);

// Roles are not ranked: `admin` does not open the `service` methods, because
// LeaseKey hands out decrypted provider keys and admin tokens are given to
// people and dashboards; and a `service` token opens nothing but those
// methods (not ChatService, not management), because it is minted by a
// service (the gateway) with a key that lives next to internet-facing code.
// PERMISSION_DENIED names the role needed.
absl::Status CheckRole(Access access, const Claims& claims);

}  // namespace aigw::auth

#endif  // AIGW_LIBS_AUTH_AUTH_POLICY_H_
