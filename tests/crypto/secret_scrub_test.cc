#include "libs/crypto/secret_scrub.h"

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "libs/crypto/secret_box.h"

namespace aigw::crypto {
namespace {

constexpr char kKey[] = "sk-proj-Q7fZk2LmN9xWv4TbR8sYc1HdE5gJa3Up";

// No run of kMinSecretPiece bytes of the key is left in `text`.
void ExpectNoPiece(const std::string& text, const std::string& key = kKey) {
  for (size_t i = 0; i + kMinSecretPiece <= key.size(); ++i) {
    const std::string piece = key.substr(i, kMinSecretPiece);
    EXPECT_FALSE(absl::StrContains(text, piece)) << "'" << piece << "' left in: " << text;
  }
}

TEST(ScrubSecretTest, TheWholeKeyBecomesItsMask) {
  const std::string text = absl::StrCat(
      "Incorrect API key provided: ", kKey,
      ". You can find your API key at https://platform.openai.com/account/api-keys.");
  const std::string scrubbed = ScrubSecret(text, kKey);
  EXPECT_EQ(scrubbed, absl::StrCat("Incorrect API key provided: ", MaskApiKey(kKey),
                                   ". You can find your API key at "
                                   "https://platform.openai.com/account/api-keys."));
  ExpectNoPiece(scrubbed);
}

TEST(ScrubSecretTest, EveryOccurrenceAndLongPiecesGo) {
  const std::string key = kKey;
  const std::string text = absl::StrCat("key ", key, " again ", key,
                                        " middle:", key.substr(10, 12), ", tail '",
                                        key.substr(key.size() - 9), "'");
  const std::string scrubbed = ScrubSecret(text, key);
  ExpectNoPiece(scrubbed);
  EXPECT_TRUE(absl::StartsWith(scrubbed, absl::StrCat("key ", MaskApiKey(key), " again ")))
      << scrubbed;
  EXPECT_TRUE(absl::StrContains(scrubbed, " middle:sk-p...a3Up, tail 'sk-p...a3Up'")) << scrubbed;
}

TEST(ScrubSecretTest, APartlyStarredEchoGoesWhole) {
  // OpenAI's echo keeps the prefix and the last four; the prefix alone is a
  // piece of the key, and the stars and the tail go with the word.
  const std::string text = "Incorrect API key provided: sk-proj-****************************a3Up.";
  EXPECT_EQ(ScrubSecret(text, kKey), "Incorrect API key provided: sk-p...a3Up.");
  // An echo with an ellipsis in the middle, too.
  EXPECT_EQ(ScrubSecret("bad key sk-proj-Q7fZ...Ja3Up here", kKey), "bad key sk-p...a3Up here");
}

TEST(ScrubSecretTest, ShortPiecesAndOtherTextStay) {
  // Seven bytes of the key, the mask itself, and unrelated words are kept.
  const std::string text = "sk-proj rate limit for sk-p...a3Up (Q7fZk2L) reached";
  EXPECT_EQ(ScrubSecret(text, kKey), text);
  EXPECT_EQ(ScrubSecret("", kKey), "");
  EXPECT_EQ(ScrubSecret("anything", ""), "anything");
}

TEST(ScrubSecretTest, AShortSecretIsScrubbedWhole) {
  EXPECT_EQ(ScrubSecret("key abc12 refused", "abc12"), "key **** refused");
  EXPECT_EQ(ScrubSecret("key abc1 refused", "abc12"), "key abc1 refused");
}

TEST(ScrubSecretTest, AKeyInsideJsonOrAUrlIsFound) {
  const std::string key = kKey;
  const std::string json = absl::StrCat(R"({"error":{"message":"key \")", key, R"(\" revoked"}})");
  ExpectNoPiece(ScrubSecret(json, key));
  const std::string url = absl::StrCat("GET https://api.example.com/v1/models?key=", key, "&x=1");
  const std::string scrubbed = ScrubSecret(url, key);
  ExpectNoPiece(scrubbed);
  EXPECT_TRUE(absl::StartsWith(scrubbed, "GET https://api.example.com/v1/models?key=")) << scrubbed;
}

TEST(ScrubSecretTest, UnicodeAroundTheKeyIsKept) {
  const std::string text = absl::StrCat("密钥无效：", kKey, "。请检查");
  EXPECT_EQ(ScrubSecret(text, kKey), absl::StrCat("密钥无效：", MaskApiKey(kKey), "。请检查"));
}

}  // namespace
}  // namespace aigw::crypto
