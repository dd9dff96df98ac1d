#include "libs/tokenizer/utf8.h"

#include <string>

#include "gtest/gtest.h"

namespace aigw::tokenizer {
namespace {

const std::string kFffd = "\xEF\xBF\xBD";

TEST(Utf8Test, AcceptsWellFormedText) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain ascii text that is longer than eight bytes"));
  EXPECT_TRUE(IsValidUtf8("中文 emoji 😀 é \xF4\x8F\xBF\xBF"));  // U+10FFFF
  EXPECT_TRUE(IsValidUtf8(std::string("nul\0inside", 10)));
}

TEST(Utf8Test, RejectsIllFormedText) {
  EXPECT_FALSE(IsValidUtf8("\x80"));                  // lone continuation
  EXPECT_FALSE(IsValidUtf8("abc\xC3"));               // truncated
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));              // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xE0\x80\xAF"));          // overlong
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));          // surrogate U+D800
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));      // above U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xFF"));
  EXPECT_FALSE(IsValidUtf8("12345678\xE4\xB8"));      // after the ASCII fast path
}

TEST(Utf8Test, ReplacesEachMaximalSubpartOnce) {
  EXPECT_EQ(ToValidUtf8("ok"), "ok");
  EXPECT_EQ(ToValidUtf8("a\x80" "b"), "a" + kFffd + "b");
  // A valid lead and continuation cut short: one replacement for both.
  EXPECT_EQ(ToValidUtf8("a\xE4\xB8" "b"), "a" + kFffd + "b");
  // Overlong and surrogate leads are not valid prefixes: one per byte.
  EXPECT_EQ(ToValidUtf8("\xC0\xAF"), kFffd + kFffd);
  EXPECT_EQ(ToValidUtf8("\xED\xA0\x80"), kFffd + kFffd + kFffd);
  EXPECT_EQ(ToValidUtf8("\xF0\x9F\x98"), kFffd);  // truncated emoji
  EXPECT_EQ(ToValidUtf8("\xF0\x9F\x98\x80"), "\xF0\x9F\x98\x80");
  EXPECT_TRUE(IsValidUtf8(ToValidUtf8("\xFF\xFE\xE4\xB8\xAD\xC3")));
}

}  // namespace
}  // namespace aigw::tokenizer
