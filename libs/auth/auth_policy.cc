#include "libs/auth/auth_policy.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace aigw::auth {

absl::string_view AccessName(Access access) {
  switch (access) {
    case Access::kPublic:
      return "public";
    case Access::kAnyToken:
      return "any token but service";
    case Access::kService:
      return kRoleService;
    case Access::kAdmin:
      return kRoleAdmin;
  }
  return "admin";
}

Access RequiredAccess(absl::string_view method) {
  if (absl::StartsWith(method, "/grpc.health.v1.Health/") ||
      absl::StartsWith(method, "/grpc.reflection.v1alpha.ServerReflection/") ||
      absl::StartsWith(method, "/grpc.reflection.v1.ServerReflection/")) {
    return Access::kPublic;
  }
  if (absl::StartsWith(method, "/aigw.v1.ChatService/")) return Access::kAnyToken;
  if (method == "/aigw.v1.KeyPool/LeaseKey" || method == "/aigw.v1.KeyPool/ReportUsage" ||
      method == "/aigw.v1.KeyPool/ReportUsageBatch" || method == "/aigw.v1.KeyPool/AllotKeys" ||
      method == "/aigw.v1.UsageService/RecordCalls") {
    return Access::kService;
  }
  return Access::kAdmin;
}

absl::Status CheckRole(Access access, const Claims& claims) {
  switch (access) {
    case Access::kPublic:
      return absl::OkStatus();
    case Access::kAnyToken:
      if (claims.role != kRoleService) return absl::OkStatus();
      return absl::PermissionDeniedError(
          "a service token opens only the internal calls (LeaseKey, ReportUsage, "
          "ReportUsageBatch, AllotKeys, RecordCalls); call with a caller's or an admin's token");
    case Access::kService:
      if (claims.role == kRoleService) return absl::OkStatus();
      break;
    case Access::kAdmin:
      if (claims.role == kRoleAdmin) return absl::OkStatus();
      break;
  }
  return absl::PermissionDeniedError(absl::StrCat("this method needs role ", AccessName(access),
                                                  "; the token's role is ", claims.role));
}

}  // namespace aigw::auth
