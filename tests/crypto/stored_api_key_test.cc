#include "libs/crypto/stored_api_key.h"

#include <string>

#include "gtest/gtest.h"

namespace aigw::crypto {
namespace {

constexpr char kHexKey[] = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

SecretBox Box(const std::string& key = kHexKey) { return *SecretBox::FromMasterKey(key); }

TEST(StoredApiKeyTest, SealedColumnsOpenToTheKeyAndHintItsMask) {
  absl::StatusOr<StoredApiKey> stored = SealApiKey(Box(), "sk-proj-abcdefghijklmnop1234");
  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_TRUE(SecretBox::IsEncrypted(stored->api_key));
  EXPECT_EQ(stored->hint, "sk-p...1234");
  EXPECT_EQ(OpenStoredApiKey(Box(), stored->api_key).value_or(""), "sk-proj-abcdefghijklmnop1234");
}

TEST(StoredApiKeyTest, APlaintextRowIsTakenTrimmed) {
  EXPECT_EQ(OpenStoredApiKey(Box(), "  sk-typed-by-hand\n").value_or("?"), "sk-typed-by-hand");
  EXPECT_EQ(OpenStoredApiKey(Box(), " \n").value_or("?"), "");
}

TEST(StoredApiKeyTest, AKeySealedUnderAnotherMasterKeyDoesNotOpen) {
  const StoredApiKey stored = *SealApiKey(Box(std::string(64, 'f')), "sk-other-master-key");
  absl::StatusOr<std::string> opened = OpenStoredApiKey(Box(), stored.api_key);
  EXPECT_EQ(opened.status().code(), absl::StatusCode::kPermissionDenied) << opened.status();
}

}  // namespace
}  // namespace aigw::crypto
