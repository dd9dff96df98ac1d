#include "libs/tokenizer/pretokenizer.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/tokenizer/encoding.h"

namespace aigw::tokenizer {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

std::vector<std::string> Pieces(const Pretokenizer& p, absl::string_view text) {
  std::vector<std::string> pieces;
  absl::Status status = p.ForEachPiece(
      text, [&](absl::string_view piece) { pieces.emplace_back(piece); });
  EXPECT_TRUE(status.ok()) << status;
  return pieces;
}

std::unique_ptr<Pretokenizer> Make(absl::string_view pattern) {
  absl::StatusOr<std::unique_ptr<Pretokenizer>> p = Pretokenizer::Create(pattern);
  EXPECT_TRUE(p.ok()) << p.status();
  return p.ok() ? std::move(*p) : nullptr;
}

TEST(TranslateTest, RewritesWhiteSpaceAndEndAnchor) {
  absl::StatusOr<std::string> t = TranslateTiktokenPattern("\\s+(?!\\S)|[^\\s\\p{L}]|x$");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_THAT(*t, Not(HasSubstr("\\s")));
  EXPECT_THAT(*t, Not(HasSubstr("\\S")));
  EXPECT_THAT(*t, HasSubstr("[^\\t\\n"));   // \S outside a class
  EXPECT_THAT(*t, HasSubstr("[^\\t\\n\\x{0B}"));
  EXPECT_THAT(*t, HasSubstr("x\\z"));
  EXPECT_THAT(*t, HasSubstr("\\x{85}"));
}

TEST(TranslateTest, RejectsWhatItCannotTranslate) {
  EXPECT_FALSE(TranslateTiktokenPattern("[^\\S]").ok());
  EXPECT_FALSE(TranslateTiktokenPattern("abc\\").ok());
  EXPECT_FALSE(TranslateTiktokenPattern("[abc").ok());
}

TEST(PretokenizerTest, SplitsLikeCl100k) {
  auto p = Make(Cl100kBaseSpec().pattern);
  ASSERT_NE(p, nullptr);
  EXPECT_TRUE(p->jit());
  EXPECT_THAT(Pieces(*p, "Hello world, it's 12345!\n\n  x"),
              ElementsAre("Hello", " world", ",", " it", "'s", " ", "123", "45",
                          "!\n\n", " ", " x"));
}

TEST(PretokenizerTest, SplitsLikeO200k) {
  auto p = Make(O200kBaseSpec().pattern);
  ASSERT_NE(p, nullptr);
  // Case transitions split words; contractions stay attached.
  EXPECT_THAT(Pieces(*p, "CamelCase HTTPServer don't/path\n"),
              ElementsAre("Camel", "Case", " HTTPServer", " don't", "/path",
                          "\n"));
}

TEST(PretokenizerTest, RustWhiteSpaceSemantics) {
  auto p = Make(Cl100kBaseSpec().pattern);
  ASSERT_NE(p, nullptr);
  // U+0085 is White_Space (Rust \s) though PCRE2's \s lacks it, so it ends
  // a run of punctuation; U+FEFF is not White_Space, so it does not.
  EXPECT_THAT(Pieces(*p, "!\xC2\x85!"), ElementsAre("!", "\xC2\x85", "!"));
  EXPECT_THAT(Pieces(*p, "!\xEF\xBB\xBF!"), ElementsAre("!\xEF\xBB\xBF!"));
}

TEST(PretokenizerTest, LongSubjectsDoNotExhaustTheMatcher) {
  for (const EncodingSpec* spec : {&O200kBaseSpec(), &Cl100kBaseSpec()}) {
    auto p = Make(spec->pattern);
    ASSERT_NE(p, nullptr);
    for (const std::string& unit :
         {std::string(" "), std::string("\n"), std::string(" \n"),
          std::string("a"), std::string("A"), std::string("!"),
          std::string("中"), std::string("1"), std::string("\xCC\x81")}) {
      std::string text;
      while (text.size() < (4 << 20)) text += unit;
      text += "end";
      size_t covered = 0;
      absl::Status status = p->ForEachPiece(
          text, [&](absl::string_view piece) { covered += piece.size(); });
      EXPECT_TRUE(status.ok()) << spec->name << " unit " << unit << ": " << status;
      EXPECT_EQ(covered, text.size()) << spec->name << " unit " << unit;
    }
  }
}

}  // namespace
}  // namespace aigw::tokenizer
