#include "libs/common/secret_source.h"

#include <string>

#include "gtest/gtest.h"
#include "tests/testing/scoped_env.h"
#include "tests/testing/test_keys.h"

namespace aigw {
namespace {

using ::aigw::testing::ScopedEnv;

constexpr char kVar[] = "AIGW_TEST_SECRET_SOURCE";

std::string FileHolding(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + "/" + name;
  EXPECT_TRUE(aigw::testing::WriteTextFile(path, text));
  return path;
}

TEST(SecretSourceTest, TheVariableWinsOverTheFileAndIsTakenAsItIs) {
  ScopedEnv env(kVar, " from-env ");
  const std::string file = FileHolding("secret_env_wins", "from-file\n");
  absl::StatusOr<ConfiguredSecret> s = LoadSecretFromEnvOrFile(kVar, file, "test secret file");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->value, " from-env ");
  EXPECT_EQ(s->source, kVar);
}

TEST(SecretSourceTest, AnUnsetOrEmptyVariableFallsBackToTheFileTrimmed) {
  const std::string file = FileHolding("secret_from_file", "  from-file\n\n");
  for (const char* value : {static_cast<const char*>(nullptr), ""}) {
    ScopedEnv env(kVar, value == nullptr ? std::nullopt : std::optional<std::string>(value));
    absl::StatusOr<ConfiguredSecret> s = LoadSecretFromEnvOrFile(kVar, file, "test secret file");
    ASSERT_TRUE(s.ok()) << s.status();
    EXPECT_EQ(s->value, "from-file");
    EXPECT_EQ(s->source, file);
  }
}

TEST(SecretSourceTest, NoSourceIsAnEmptySecretNotAnError) {
  ScopedEnv env(kVar, std::nullopt);
  absl::StatusOr<ConfiguredSecret> s = LoadSecretFromEnvOrFile(kVar, "", "test secret file");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_TRUE(s->value.empty());
}

TEST(SecretSourceTest, AnUnreadableFileIsNamed) {
  ScopedEnv env(kVar, std::nullopt);
  const std::string missing = ::testing::TempDir() + "/no-such-secret";
  absl::StatusOr<ConfiguredSecret> s = LoadSecretFromEnvOrFile(kVar, missing, "test secret file");
  EXPECT_EQ(s.status(),
            absl::FailedPreconditionError("cannot read test secret file " + missing));
}

TEST(SecretSourceTest, ReadSecretFileKeepsTheBytesAsTheyAre) {
  const std::string text("-----BEGIN KEY-----\n\0\xff\n", 23);
  const std::string file = FileHolding("secret_bytes", text);
  absl::StatusOr<std::string> read = ReadSecretFile(file, "key file");
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, text);
}

}  // namespace
}  // namespace aigw
