#include "libs/tokenizer/encoding.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/tokenizer/registry.h"
#include "tests/tokenizer/toy_ranks.h"

namespace aigw::tokenizer {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Words and single spaces; merges "ab" (256), "abc" (257), " a" (258).
EncodingSpec ToySpec() {
  EncodingSpec spec;
  spec.name = "toy";
  spec.pattern = " ?\\p{L}+|\\s+|[^\\s\\p{L}]+";
  spec.special_tokens = {{"<|end|>", 300}};
  return spec;
}

std::unique_ptr<Encoding> Toy() {
  absl::StatusOr<std::unique_ptr<Encoding>> e =
      Encoding::Create(ToySpec(), ToyRanks({"ab", "abc", " a"}));
  EXPECT_TRUE(e.ok()) << e.status();
  return e.ok() ? std::move(*e) : nullptr;
}

TEST(EncodingTest, SplitsThenMergesEachPiece) {
  auto toy = Toy();
  ASSERT_NE(toy, nullptr);
  EXPECT_EQ(toy->name(), "toy");
  // "abc" | " ab": the lowest rank merges first, so " ab" is [" ", "ab"]
  // although " a" is a token too.
  EXPECT_THAT(toy->Encode("abc ab"), ElementsAre(257u, ' ', 256u));
  EXPECT_THAT(toy->Encode(" ac"), ElementsAre(258u, 'c'));
  EXPECT_EQ(toy->CountTokens("abc ab"), 3u);
  EXPECT_EQ(toy->Decode(toy->Encode("abc ab")).value_or(""), "abc ab");
}

TEST(EncodingTest, SpecialTokensCountInTheVocabularyButTextNeverBecomesOne) {
  auto toy = Toy();
  ASSERT_NE(toy, nullptr);
  EXPECT_EQ(toy->n_vocab(), 301u);
  EXPECT_EQ(toy->Decode({300u}).value_or(""), "<|end|>");
  // encode_ordinary: the special token's text is ordinary text.
  EXPECT_GT(toy->CountTokens("<|end|>"), 1u);
}

TEST(EncodingTest, InvalidUtf8IsEncodedAsReplacementCharacters) {
  auto toy = Toy();
  ASSERT_NE(toy, nullptr);
  EXPECT_EQ(toy->Encode("ab\xE4\xB8"), toy->Encode("ab\xEF\xBF\xBD"));
  EXPECT_EQ(toy->CountTokens("ab\xE4\xB8"), toy->Encode("ab\xEF\xBF\xBD").size());
}

TEST(EncodingTest, AnUnknownTokenIdDoesNotDecode) {
  auto toy = Toy();
  ASSERT_NE(toy, nullptr);
  absl::StatusOr<std::string> decoded = toy->Decode({'a', 299u});
  EXPECT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(decoded.status().message(), HasSubstr("token id 299 is not in toy"));
}

TEST(EncodingTest, TheSpecsChecksOnTheRankFileHold) {
  EncodingSpec counted = ToySpec();
  counted.expected_ranks = 300;
  absl::StatusOr<std::unique_ptr<Encoding>> short_file =
      Encoding::Create(counted, ToyRanks({"ab"}));
  EXPECT_EQ(short_file.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(short_file.status().message(), HasSubstr("toy has 257 ranks, expected 300"));

  EncodingSpec hashed = ToySpec();
  hashed.expected_sha256 = std::string(64, '0');
  absl::StatusOr<std::unique_ptr<Encoding>> other_file =
      Encoding::Create(hashed, ToyRanks({"ab"}));
  EXPECT_EQ(other_file.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(other_file.status().message(), HasSubstr("SHA-256"));

  EncodingSpec clash = ToySpec();
  clash.special_tokens = {{"<|end|>", 256}};
  EXPECT_THAT(Encoding::Create(clash, ToyRanks({"ab"})).status().message(),
              HasSubstr("reuses the id of an ordinary token"));
}

TEST(EncodingTest, MissingOrWrongFilesAreErrors) {
  absl::StatusOr<std::unique_ptr<Encoding>> missing =
      Encoding::Load(O200kBaseSpec(), "/nonexistent/o200k_base.tiktoken");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  // cl100k's file under o200k's spec fails the SHA-256 check, naming the file.
  const std::string cl100k = DataDir() + "/cl100k_base.tiktoken";
  absl::StatusOr<std::unique_ptr<Encoding>> wrong = Encoding::Load(O200kBaseSpec(), cl100k);
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(wrong.status().message(), HasSubstr(cl100k + ": o200k_base rank file has SHA-256"));
}

}  // namespace
}  // namespace aigw::tokenizer
