#include "libs/tokenizer/bpe.h"

#include <random>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/tokenizer/registry.h"
#include "tests/tokenizer/toy_ranks.h"

namespace aigw::tokenizer {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::unique_ptr<BpeRanks> Parse(const std::string& file) {
  absl::StatusOr<std::unique_ptr<BpeRanks>> r = BpeRanks::Parse(file);
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? std::move(*r) : nullptr;
}

std::vector<uint32_t> Tokens(const BpeRanks& ranks, absl::string_view piece) {
  std::vector<uint32_t> out;
  AppendBytePairTokens(ranks, piece, &out);
  EXPECT_EQ(CountBytePairTokens(ranks, piece), out.size());
  return out;
}

TEST(BpeRanksTest, ParsesTiktokenFormat) {
  auto ranks = Parse(ToyRanks({"ab", "abc"}));
  ASSERT_NE(ranks, nullptr);
  EXPECT_EQ(ranks->size(), 258u);
  EXPECT_EQ(ranks->Rank("a"), static_cast<uint32_t>('a'));
  EXPECT_EQ(ranks->Rank("ab"), 256u);
  EXPECT_EQ(ranks->Rank("abc"), 257u);
  EXPECT_EQ(ranks->Rank("abcd"), BpeRanks::kNoRank);
  EXPECT_EQ(ranks->TokenBytes(257), "abc");
  EXPECT_EQ(ranks->TokenBytes(9999), "");
}

TEST(BpeRanksTest, RejectsBrokenFiles) {
  EXPECT_THAT(BpeRanks::Parse("").status().message(), HasSubstr("no ranks"));
  EXPECT_THAT(BpeRanks::Parse("YQ==\n").status().message(),
              HasSubstr("line 1"));
  EXPECT_THAT(BpeRanks::Parse("!!!! 3\n").status().message(),
              HasSubstr("line 1"));
  EXPECT_THAT(BpeRanks::Parse(ToyRanks({"a"})).status().message(),
              HasSubstr("twice"));
  EXPECT_THAT(BpeRanks::Parse(absl::StrCat(ToyRanks({}), "YWI= 5\n")).status().message(),
              HasSubstr("rank 5 appears twice"));
  // Byte 0xFF missing: some text could not be encoded at all.
  std::string file = ToyRanks({});
  file = file.substr(0, file.rfind("/w== 255"));
  EXPECT_THAT(BpeRanks::Parse(file).status().message(), HasSubstr("0xff"));
}

TEST(BpeTest, MergesLowestRankFirst) {
  // "bc" outranks "ab", so "abc" -> "a" "bc", even though "ab" comes first.
  auto ranks = Parse(ToyRanks({"bc", "ab", "abcd"}));
  ASSERT_NE(ranks, nullptr);
  EXPECT_THAT(Tokens(*ranks, "abc"), ElementsAre('a', 256));
  // A whole-piece token wins without merging.
  EXPECT_THAT(Tokens(*ranks, "abcd"), ElementsAre(258));
  EXPECT_THAT(Tokens(*ranks, "x"), ElementsAre('x'));
}

TEST(BpeTest, TiesGoLeftmost) {
  auto ranks = Parse(ToyRanks({"aa"}));
  ASSERT_NE(ranks, nullptr);
  EXPECT_THAT(Tokens(*ranks, "aaa"), ElementsAre(256, 'a'));
  EXPECT_THAT(Tokens(*ranks, "aaaaa"), ElementsAre(256, 256, 'a'));
}

TEST(BpeTest, HeapAndScanMergesAgreeOnRealRanks) {
  std::mt19937 rng(7);
  std::vector<uint32_t> scan, heap;
  for (absl::string_view name : {kO200kBase, kCl100kBase}) {
    absl::StatusOr<const Encoding*> e = GetEncoding(name);
    ASSERT_TRUE(e.ok()) << e.status();
    const BpeRanks& ranks = (*e)->ranks();
    // Pieces built from real tokens merge deep; random bytes stay shallow.
    for (int i = 0; i < 3000; ++i) {
      std::string piece;
      const size_t target = 1 + rng() % 400;
      while (piece.size() < target) {
        if (rng() % 4 == 0) {
          piece.push_back(static_cast<char>(rng() % 256));
        } else {
          piece += std::string(ranks.TokenBytes(rng() % ranks.rank_limit()));
        }
      }
      internal::MergeByScan(ranks, piece, &scan);
      internal::MergeByHeap(ranks, piece, &heap);
      ASSERT_EQ(scan, heap) << name << " piece #" << i << " of " << piece.size()
                            << " bytes: " << absl::CEscape(piece);
    }
    // Runs of one byte are where tie-breaking decides everything.
    for (char c : {'a', ' ', '=', '\n', '0'}) {
      for (size_t n : {95u, 96u, 97u, 255u, 256u, 1000u}) {
        const std::string piece(n, c);
        internal::MergeByScan(ranks, piece, &scan);
        internal::MergeByHeap(ranks, piece, &heap);
        ASSERT_EQ(scan, heap) << name << " run of " << n << " x '" << c << "'";
      }
    }
  }
}

}  // namespace
}  // namespace aigw::tokenizer
