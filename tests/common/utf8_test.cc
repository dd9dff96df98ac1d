#include "libs/common/utf8.h"

#include <string>

#include "gtest/gtest.h"

namespace aigw {
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

TEST(CleanUtf8Test, ReplacesInvalidBytesAndCutsOnCharacters) {
  EXPECT_EQ(CleanUtf8("héllo", 100), "héllo");
  EXPECT_EQ(CleanUtf8("héllo", 2), "hé");
  EXPECT_EQ(CleanUtf8("🚀🚀🚀", 2), "🚀🚀");
  EXPECT_EQ(CleanUtf8("a\xC3(b", 100), "a" + kFffd + "(b");
  EXPECT_EQ(CleanUtf8("\xED\xA0\x80", 100), kFffd + kFffd + kFffd);  // surrogate
  EXPECT_EQ(CleanUtf8(std::string("a\0b", 3), 100), "ab");
  EXPECT_EQ(Utf8Length("日本🚀"), 3u);
}

TEST(CleanUtf8Test, CutsOnCharacterBoundariesByBytes) {
  // 中 is three bytes: 1000 bytes of them hold 333 characters, never a
  // piece of the 334th (the cut that once made call events undecodable).
  std::string chinese;
  for (int i = 0; i < 600; ++i) chinese += "中";
  const std::string cut = CleanUtf8(chinese, 16000, 1000);
  EXPECT_EQ(cut.size(), 999u);
  EXPECT_TRUE(IsValidUtf8(cut));
  EXPECT_EQ(CleanUtf8("ab🚀", 10, 5), "ab");
  EXPECT_EQ(CleanUtf8("ab🚀", 10, 6), "ab🚀");
  EXPECT_EQ(CleanUtf8("abc", 10, 0), "");
}

TEST(CleanUtf8Test, IsCleanUtf8SaysWhetherCleaningChangesTheText) {
  for (const std::string& text :
       {std::string("plain"), std::string("中文🚀"), std::string("a\xC3(b"),
        std::string("nul\0inside", 10), std::string("héllo"), std::string("\xF0\x9F\x98")}) {
    for (size_t chars : {1u, 3u, 5u, 100u}) {
      for (size_t bytes : {2u, 4u, 6u, 1000u}) {
        EXPECT_EQ(IsCleanUtf8(text, chars, bytes), CleanUtf8(text, chars, bytes) == text)
            << text << " " << chars << " " << bytes;
      }
    }
  }
}

}  // namespace
}  // namespace aigw
