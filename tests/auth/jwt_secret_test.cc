#include "libs/auth/jwt_secret.h"

#include <string>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "tests/testing/scoped_env.h"
#include "tests/testing/test_keys.h"

namespace aigw::auth {
namespace {

using ::aigw::testing::ScopedEnv;

const std::string kGoodSecret(40, 's');

std::string FileHolding(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + "/" + name;
  EXPECT_TRUE(aigw::testing::WriteTextFile(path, text));
  return path;
}

TEST(LoadJwtSecretTest, FromTheVariable) {
  ScopedEnv env("AIGW_JWT_SECRET", kGoodSecret);
  EXPECT_EQ(LoadJwtSecret("").value_or(""), kGoodSecret);
}

TEST(LoadJwtSecretTest, FromTheFileWhenTheVariableIsUnset) {
  ScopedEnv env("AIGW_JWT_SECRET", std::nullopt);
  const std::string file = FileHolding("jwt_secret", kGoodSecret + "\n");
  EXPECT_EQ(LoadJwtSecret(file).value_or(""), kGoodSecret);
}

TEST(LoadJwtSecretTest, NeitherIsNotFoundAndSaysHowToMakeOne) {
  ScopedEnv env("AIGW_JWT_SECRET", std::nullopt);
  absl::StatusOr<std::string> s = LoadJwtSecret("");
  EXPECT_EQ(s.status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(absl::StrContains(s.status().message(), "openssl rand -hex 32"));
}

TEST(LoadJwtSecretTest, AShortSecretIsRefusedNamingItsSource) {
  {
    ScopedEnv env("AIGW_JWT_SECRET", std::string(kMinJwtSecretBytes - 1, 's'));
    absl::StatusOr<std::string> s = LoadJwtSecret("");
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(absl::StartsWith(s.status().message(), "AIGW_JWT_SECRET: the JWT secret has 31 bytes"))
        << s.status();
  }
  ScopedEnv env("AIGW_JWT_SECRET", std::nullopt);
  const std::string file = FileHolding("short_jwt_secret", "short\n");
  absl::StatusOr<std::string> s = LoadJwtSecret(file);
  EXPECT_TRUE(absl::StartsWith(s.status().message(), file + ": the JWT secret has 5 bytes"))
      << s.status();
}

TEST(LoadJwtSecretTest, AnUnreadableFileIsAFailedPrecondition) {
  ScopedEnv env("AIGW_JWT_SECRET", std::nullopt);
  const std::string missing = ::testing::TempDir() + "/no-jwt-secret";
  EXPECT_EQ(LoadJwtSecret(missing).status(),
            absl::FailedPreconditionError("cannot read JWT secret file " + missing));
}

}  // namespace
}  // namespace aigw::auth
