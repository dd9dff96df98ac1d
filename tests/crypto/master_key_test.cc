#include "libs/crypto/master_key.h"

#include <string>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "tests/testing/scoped_env.h"
#include "tests/testing/test_keys.h"

namespace aigw::crypto {
namespace {

using ::aigw::testing::ScopedEnv;

constexpr char kHexKey[] = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

std::string FileHolding(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + "/" + name;
  EXPECT_TRUE(aigw::testing::WriteTextFile(path, text));
  return path;
}

// The box opens what a box made straight from kHexKey sealed.
bool IsTheBoxOfKHexKey(const SecretBox& box) {
  const std::string sealed = *SecretBox::FromMasterKey(kHexKey)->Seal("sk-test");
  return box.Open(sealed).value_or("") == "sk-test";
}

TEST(LoadMasterKeyTest, FromTheVariable) {
  ScopedEnv env("AIGW_MASTER_KEY", kHexKey);
  absl::StatusOr<SecretBox> box = LoadMasterKey("");
  ASSERT_TRUE(box.ok()) << box.status();
  EXPECT_TRUE(IsTheBoxOfKHexKey(*box));
}

TEST(LoadMasterKeyTest, FromTheFileWhenTheVariableIsUnset) {
  ScopedEnv env("AIGW_MASTER_KEY", std::nullopt);
  absl::StatusOr<SecretBox> box = LoadMasterKey(FileHolding("master_key", std::string(kHexKey) + "\n"));
  ASSERT_TRUE(box.ok()) << box.status();
  EXPECT_TRUE(IsTheBoxOfKHexKey(*box));
}

TEST(LoadMasterKeyTest, NeitherSaysHowToMakeOne) {
  ScopedEnv env("AIGW_MASTER_KEY", std::nullopt);
  absl::StatusOr<SecretBox> box = LoadMasterKey("");
  EXPECT_EQ(box.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(box.status().message(), "openssl rand -hex 32"));
}

TEST(LoadMasterKeyTest, AMalformedKeyIsInvalidNamingItsSource) {
  ScopedEnv env("AIGW_MASTER_KEY", std::nullopt);
  const std::string file = FileHolding("bad_master_key", "not a key\n");
  absl::StatusOr<SecretBox> box = LoadMasterKey(file);
  EXPECT_EQ(box.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(box.status().message(), file + ": ")) << box.status();
}

TEST(LoadMasterKeyTest, AnUnreadableFileIsAFailedPrecondition) {
  ScopedEnv env("AIGW_MASTER_KEY", std::nullopt);
  const std::string missing = ::testing::TempDir() + "/no-master-key";
  EXPECT_EQ(LoadMasterKey(missing).status(),
            absl::FailedPreconditionError("cannot read master key file " + missing));
}

}  // namespace
}  // namespace aigw::crypto
