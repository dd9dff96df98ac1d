#include "libs/auth/auth_policy.h"

#include "gtest/gtest.h"

namespace aigw::auth {
namespace {

TEST(AuthPolicyTest, EveryMethodOfTheContractHasTheDesignedAccess) {
  struct Case {
    const char* method;
    Access access;
  } cases[] = {
      {"/grpc.health.v1.Health/Check", Access::kPublic},
      {"/grpc.health.v1.Health/Watch", Access::kPublic},
      {"/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", Access::kPublic},
      {"/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", Access::kPublic},
      {"/aigw.v1.ChatService/CreateChatCompletion", Access::kAnyToken},
      {"/aigw.v1.ChatService/StreamChatCompletion", Access::kAnyToken},
      {"/aigw.v1.ChatService/BatchCreateChatCompletion", Access::kAnyToken},
      {"/aigw.v1.ChatService/CountTokens", Access::kAnyToken},
      {"/aigw.v1.KeyPool/LeaseKey", Access::kService},
      {"/aigw.v1.KeyPool/ReportUsage", Access::kService},
      {"/aigw.v1.KeyPool/ReportUsageBatch", Access::kService},
      {"/aigw.v1.KeyPool/AllotKeys", Access::kService},
      {"/aigw.v1.KeyPool/ListKeyStates", Access::kAdmin},
      {"/aigw.v1.KeyPool/Reload", Access::kAdmin},
      {"/aigw.v1.UsageService/RecordCalls", Access::kService},
      {"/aigw.v1.UsageService/GetUsage", Access::kAdmin},
      {"/aigw.v1.UsageService/GetTrend", Access::kAdmin},
      {"/aigw.v1.UsageService/GetDashboard", Access::kAdmin},
      {"/aigw.v1.UsageService/QueryLogs", Access::kAdmin},
      {"/aigw.v1.AdminService/ListProviders", Access::kAdmin},
      {"/aigw.v1.AdminService/CreateKey", Access::kAdmin},
      {"/aigw.v1.AdminService/SyncModels", Access::kAdmin},
      // Closed unless placed on purpose.
      {"/aigw.v1.KeyPool/SomethingNew", Access::kAdmin},
      {"/aigw.v1.Unknown/Method", Access::kAdmin},
      {"/grpc.health.v1.HealthX/Check", Access::kAdmin},
      {"", Access::kAdmin},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(RequiredAccess(c.method), c.access) << c.method;
  }
}

TEST(AuthPolicyTest, RolesAreNotRanked) {
  Claims admin{.subject = "alice", .role = "admin"};
  Claims service{.subject = "aigw-gateway", .role = "service"};
  Claims user{.subject = "app", .role = "user"};
  EXPECT_TRUE(CheckRole(Access::kAdmin, admin).ok());
  EXPECT_TRUE(CheckRole(Access::kService, service).ok());
  EXPECT_EQ(CheckRole(Access::kService, admin).code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(CheckRole(Access::kAdmin, service).code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(CheckRole(Access::kAdmin, user).code(), absl::StatusCode::kPermissionDenied);
  for (const Claims& c : {admin, service, user}) {
    EXPECT_TRUE(CheckRole(Access::kPublic, c).ok());
  }
  EXPECT_TRUE(CheckRole(Access::kAnyToken, admin).ok());
  EXPECT_TRUE(CheckRole(Access::kAnyToken, user).ok());
}

TEST(AuthPolicyTest, ServiceTokensOpenOnlyTheInternalCalls) {
  // The gateway mints service tokens: they must not buy chat completions
  // (billed to no caller) nor anything of management.
  Claims service{.subject = "aigw-gateway", .role = "service"};
  absl::Status chat = CheckRole(RequiredAccess("/aigw.v1.ChatService/CreateChatCompletion"), service);
  EXPECT_EQ(chat.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(chat.message().find("internal calls"), absl::string_view::npos) << chat;
  for (const char* m : {"/aigw.v1.AdminService/CreateKey", "/aigw.v1.KeyPool/Reload",
                        "/aigw.v1.KeyPool/ListKeyStates", "/aigw.v1.UsageService/QueryLogs"}) {
    EXPECT_EQ(CheckRole(RequiredAccess(m), service).code(), absl::StatusCode::kPermissionDenied) << m;
  }
  for (const char* m : {"/aigw.v1.KeyPool/LeaseKey", "/aigw.v1.KeyPool/ReportUsage",
                        "/aigw.v1.KeyPool/ReportUsageBatch", "/aigw.v1.UsageService/RecordCalls"}) {
    EXPECT_TRUE(CheckRole(RequiredAccess(m), service).ok()) << m;
  }
}

}  // namespace
}  // namespace aigw::auth
