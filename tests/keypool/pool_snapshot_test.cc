#include "services/keypool/pool_snapshot.h"

#include "gtest/gtest.h"

namespace aigw::keypool {
namespace {

TEST(KeyPolicyTest, LruIsReadWhateverItsCaseAndSpacesAnythingElseIsStrict) {
  EXPECT_EQ(ParseKeyPolicy("lru"), KeyPolicy::kLru);
  EXPECT_EQ(ParseKeyPolicy(" LRU\n"), KeyPolicy::kLru);
  EXPECT_EQ(ParseKeyPolicy("strict"), KeyPolicy::kStrict);
  EXPECT_EQ(ParseKeyPolicy(""), KeyPolicy::kStrict);
  EXPECT_EQ(ParseKeyPolicy("lru-ish"), KeyPolicy::kStrict);
}

TEST(KeyPolicyTest, NamesReadBackAsThemselves) {
  for (KeyPolicy p : {KeyPolicy::kStrict, KeyPolicy::kLru}) {
    EXPECT_EQ(ParseKeyPolicy(KeyPolicyName(p)), p) << KeyPolicyName(p);
  }
  EXPECT_EQ(KeyPolicyName(KeyPolicy::kLru), "lru");
  EXPECT_EQ(KeyPolicyName(KeyPolicy::kStrict), "strict");
}

TEST(KeyStatusTest, StoredValuesAreReadWhateverTheirCaseAndSpaces) {
  bool known = false;
  EXPECT_EQ(ParseKeyStatus("normal", &known), KeyStatus::kNormal);
  EXPECT_TRUE(known);
  EXPECT_EQ(ParseKeyStatus(" Rate_Limited ", &known), KeyStatus::kRateLimited);
  EXPECT_TRUE(known);
  EXPECT_EQ(ParseKeyStatus("INVALID", &known), KeyStatus::kInvalid);
  EXPECT_TRUE(known);
  EXPECT_EQ(ParseKeyStatus("disabled", &known), KeyStatus::kDisabled);
  EXPECT_TRUE(known);
  // An empty column is a key nobody has marked yet.
  EXPECT_EQ(ParseKeyStatus("", &known), KeyStatus::kNormal);
  EXPECT_TRUE(known);
}

TEST(KeyStatusTest, AnUnknownValueReadsAsNormalAndSaysSo) {
  bool known = true;
  EXPECT_EQ(ParseKeyStatus("banned", &known), KeyStatus::kNormal);
  EXPECT_FALSE(known);
  EXPECT_EQ(ParseKeyStatus("banned"), KeyStatus::kNormal);  // without `known`
}

TEST(KeyStatusTest, NamesReadBackAsThemselves) {
  for (KeyStatus s : {KeyStatus::kNormal, KeyStatus::kRateLimited, KeyStatus::kInvalid,
                      KeyStatus::kDisabled}) {
    bool known = false;
    EXPECT_EQ(ParseKeyStatus(KeyStatusName(s), &known), s) << KeyStatusName(s);
    EXPECT_TRUE(known);
  }
}

}  // namespace
}  // namespace aigw::keypool
