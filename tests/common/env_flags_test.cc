#include "libs/common/env_flags.h"

#include <string>

#include "absl/flags/flag.h"
#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/testing/scoped_env.h"

ABSL_FLAG(int, env_flags_test_port, 50051, "for env_flags_test");
ABSL_FLAG(absl::Duration, env_flags_test_interval, absl::Seconds(1), "for env_flags_test");

namespace aigw {
namespace {

using ::aigw::testing::ScopedEnv;

const std::vector<EnvFlag> kFlags = {
    {"env_flags_test_port", "AIGW_ENV_FLAGS_TEST_PORT"},
    {"env_flags_test_interval", "AIGW_ENV_FLAGS_TEST_INTERVAL"}};

class ApplyEnvFallbacksTest : public ::testing::Test {
 protected:
  void TearDown() override {
    absl::SetFlag(&FLAGS_env_flags_test_port, 50051);
    absl::SetFlag(&FLAGS_env_flags_test_interval, absl::Seconds(1));
  }
};

TEST_F(ApplyEnvFallbacksTest, SetVariablesSetTheirFlags) {
  ScopedEnv port("AIGW_ENV_FLAGS_TEST_PORT", "6000");
  ScopedEnv interval("AIGW_ENV_FLAGS_TEST_INTERVAL", "250ms");
  ASSERT_TRUE(ApplyEnvFallbacks(kFlags).ok());
  EXPECT_EQ(absl::GetFlag(FLAGS_env_flags_test_port), 6000);
  EXPECT_EQ(absl::GetFlag(FLAGS_env_flags_test_interval), absl::Milliseconds(250));
}

TEST_F(ApplyEnvFallbacksTest, UnsetOrEmptyVariablesLeaveTheDefaults) {
  ScopedEnv port("AIGW_ENV_FLAGS_TEST_PORT", "");
  ScopedEnv interval("AIGW_ENV_FLAGS_TEST_INTERVAL", std::nullopt);
  ASSERT_TRUE(ApplyEnvFallbacks(kFlags).ok());
  EXPECT_EQ(absl::GetFlag(FLAGS_env_flags_test_port), 50051);
  EXPECT_EQ(absl::GetFlag(FLAGS_env_flags_test_interval), absl::Seconds(1));
}

TEST_F(ApplyEnvFallbacksTest, AValueThatDoesNotParseNamesTheVariable) {
  ScopedEnv port("AIGW_ENV_FLAGS_TEST_PORT", "sixty");
  absl::Status st = ApplyEnvFallbacks(kFlags);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(st.message(), "environment variable AIGW_ENV_FLAGS_TEST_PORT: "))
      << st;
}

TEST_F(ApplyEnvFallbacksTest, AnUnknownFlagIsAnInternalError) {
  ScopedEnv set("AIGW_ENV_FLAGS_TEST_NOWHERE", "1");
  absl::Status st = ApplyEnvFallbacks({{"no_such_flag_anywhere", "AIGW_ENV_FLAGS_TEST_NOWHERE"}});
  EXPECT_EQ(st, absl::InternalError(
                    "no flag --no_such_flag_anywhere for env AIGW_ENV_FLAGS_TEST_NOWHERE"));
}

TEST(GetEnvOrTest, UnsetAndEmptyGiveTheFallback) {
  {
    ScopedEnv env("AIGW_ENV_FLAGS_TEST_VALUE", "set");
    EXPECT_EQ(GetEnvOr("AIGW_ENV_FLAGS_TEST_VALUE", "fallback"), "set");
  }
  {
    ScopedEnv env("AIGW_ENV_FLAGS_TEST_VALUE", "");
    EXPECT_EQ(GetEnvOr("AIGW_ENV_FLAGS_TEST_VALUE", "fallback"), "fallback");
  }
  ScopedEnv env("AIGW_ENV_FLAGS_TEST_VALUE", std::nullopt);
  EXPECT_EQ(GetEnvOr("AIGW_ENV_FLAGS_TEST_VALUE", "fallback"), "fallback");
}

}  // namespace
}  // namespace aigw
