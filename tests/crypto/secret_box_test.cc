#include "libs/crypto/secret_box.h"

#include "gtest/gtest.h"

namespace aigw::crypto {
namespace {

constexpr char kHexKey[] = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

TEST(SecretBoxTest, SealThenOpenGivesThePlaintextBack) {
  absl::StatusOr<SecretBox> box = SecretBox::FromMasterKey(kHexKey);
  ASSERT_TRUE(box.ok()) << box.status();
  absl::StatusOr<std::string> sealed = box->Seal("sk-proj-abcdefghijklmnop1234");
  ASSERT_TRUE(sealed.ok());
  EXPECT_TRUE(SecretBox::IsEncrypted(*sealed));
  EXPECT_EQ(sealed->find("abcdefghijklmnop"), std::string::npos);
  absl::StatusOr<std::string> opened = box->Open(*sealed);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(*opened, "sk-proj-abcdefghijklmnop1234");
}

TEST(SecretBoxTest, EachSealUsesAFreshNonce) {
  absl::StatusOr<SecretBox> box = SecretBox::FromMasterKey(kHexKey);
  ASSERT_TRUE(box.ok());
  EXPECT_NE(*box->Seal("same"), *box->Seal("same"));
}

TEST(SecretBoxTest, WrongKeyOrTamperingIsRefused) {
  absl::StatusOr<SecretBox> box = SecretBox::FromMasterKey(kHexKey);
  absl::StatusOr<SecretBox> other = SecretBox::FromMasterKey(std::string(64, 'f'));
  ASSERT_TRUE(box.ok() && other.ok());
  std::string sealed = *box->Seal("sk-secret-value-0000");
  EXPECT_EQ(other->Open(sealed).status().code(), absl::StatusCode::kPermissionDenied);
  std::string tampered = sealed;
  tampered[tampered.size() - 3] = tampered[tampered.size() - 3] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(box->Open(tampered).ok());
  EXPECT_FALSE(box->Open("sk-plaintext").ok());
}

TEST(SecretBoxTest, MasterKeyFormats) {
  EXPECT_TRUE(SecretBox::FromMasterKey("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=").ok());
  EXPECT_EQ(SecretBox::FromMasterKey("short").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(SecretBox::FromMasterKey(std::string(63, 'a')).ok());
}

TEST(MaskApiKeyTest, KeepsFirstAndLastFour) {
  EXPECT_EQ(MaskApiKey("sk-proj-abcdefgh1234"), "sk-p...1234");
  EXPECT_EQ(MaskApiKey("short"), "****");
}

}  // namespace
}  // namespace aigw::crypto
