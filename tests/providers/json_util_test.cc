#include "libs/providers/json_util.h"

#include <cmath>
#include <limits>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace aigw::providers::json {
namespace {

TEST(StringSinkTest, WritesStraightIntoTheStringAfterWhatItHeld) {
  std::string out = "prefix:";
  {
    StringSink sink(&out);
    Writer w(sink);
    w.StartObject();
    Key(w, "name");
    String(w, std::string(1000, 'n'));  // more than the sink's first room
    DoubleField(w, "temperature", 0.5);
    DoubleField(w, "nan", std::nan(""));
    DoubleField(w, "inf", std::numeric_limits<double>::infinity());
    w.EndObject();
    sink.Finish();
  }
  EXPECT_EQ(out, "prefix:{\"name\":\"" + std::string(1000, 'n') + "\",\"temperature\":0.5}");
}

TEST(ParsedJsonTest, ParsesACopyAndIgnoresTrailingBytes) {
  ParsedJson doc;
  ASSERT_TRUE(doc.Parse(R"({"a":"b"} trailing)").ok());
  EXPECT_EQ(StrMember(doc.root(), "a"), "b");
}

TEST(ParsedJsonTest, ParsesInPlace) {
  std::string text = R"({"id":"chatcmpl-1","n":[1,2]})";
  ParsedJson doc;
  ASSERT_TRUE(doc.ParseInsitu(&text).ok());
  EXPECT_EQ(StrMember(doc.root(), "id"), "chatcmpl-1");
}

TEST(ParsedJsonTest, MalformedJsonIsInternalAndSaysWhere) {
  ParsedJson doc;
  absl::Status st = doc.Parse(R"({"a":)");
  EXPECT_EQ(st.code(), absl::StatusCode::kInternal);
  EXPECT_TRUE(absl::StartsWith(st.message(), "malformed upstream JSON: ")) << st;
  EXPECT_TRUE(absl::StrContains(st.message(), " of 5")) << st;
  EXPECT_TRUE(doc.root().IsNull());
}

TEST(ParsedJsonTest, DocumentsLargerThanTheInlineBufferSpillToTheHeap) {
  std::string big = "[";
  for (int i = 0; i < 5000; ++i) big += absl::StrCat(i == 0 ? "" : ",", R"({"k":"v"})");
  big += "]";
  ParsedJson doc;
  ASSERT_TRUE(doc.Parse(big).ok());
  EXPECT_EQ(doc.root().Size(), 5000u);
}

TEST(AccessTest, WrongTypesReadAsAbsent) {
  ParsedJson doc;
  ASSERT_TRUE(doc.Parse(R"({"s":"text","n":3,"o":{"x":"y"},"a":[1]})").ok());
  const Value& root = doc.root();
  EXPECT_EQ(Member(root, "missing"), nullptr);
  EXPECT_EQ(Member(*Member(root, "a"), "x"), nullptr);  // not an object
  EXPECT_EQ(Member(static_cast<const Value*>(nullptr), "x"), nullptr);
  EXPECT_EQ(Str(Member(Member(root, "o"), "x")), "y");
  EXPECT_EQ(StrMember(root, "n"), "");  // a number is not a string
  EXPECT_EQ(Str(nullptr), "");
}

TEST(AccessTest, CountsAreNonNegativeIntegers) {
  ParsedJson doc;
  ASSERT_TRUE(
      doc.Parse(R"({"i":12,"d":7.0,"neg":-1,"frac":1.5,"big":1e30,"s":"12","null":null})").ok());
  const Value& root = doc.root();
  EXPECT_EQ(Count(Member(root, "i")), 12);
  EXPECT_EQ(Count(Member(root, "d")), 7);
  EXPECT_TRUE(HasCount(Member(root, "d")));
  for (const char* key : {"neg", "frac", "big", "s", "null", "absent"}) {
    EXPECT_FALSE(HasCount(Member(root, key))) << key;
    EXPECT_EQ(Count(Member(root, key), -7), -7) << key;
  }
}

TEST(AccessTest, ScalarTextRendersStringsAndNumbers) {
  ParsedJson doc;
  ASSERT_TRUE(
      doc.Parse(R"({"s":"rate_limit","i":-3,"u":18446744073709551615,"d":2.5,"b":true})").ok());
  const Value& root = doc.root();
  EXPECT_EQ(ScalarText(Member(root, "s")), "rate_limit");
  EXPECT_EQ(ScalarText(Member(root, "i")), "-3");
  EXPECT_EQ(ScalarText(Member(root, "u")), "18446744073709551615");
  EXPECT_EQ(ScalarText(Member(root, "d")), "2.5");
  EXPECT_EQ(ScalarText(Member(root, "b")), "");
  EXPECT_EQ(ScalarText(nullptr), "");
}

absl::Status ParseCopy(absl::string_view text) {
  ParsedJson doc;
  return doc.Parse(text);
}

absl::Status ParseInPlace(absl::string_view text) {
  std::string copy(text);
  ParsedJson doc;
  return doc.ParseInsitu(&copy);
}

// Found by fuzz/json_util: rapidjson 1.1 stops checking the size of a number
// once its mantissa has outgrown 64 bits, and made these infinite.
TEST(ParsedJsonTest, NumbersBeyondADoubleAreRefused) {
  for (const char* text :
       {"[18446744073709551616e308]", R"({"usage":{"total_tokens":-99999999999999999999e300}})",
        "1e309", "[100000000000000000000000e290]"}) {
    for (const absl::Status& st : {ParseCopy(text), ParseInPlace(text)}) {
      EXPECT_EQ(st.code(), absl::StatusCode::kInternal) << text << ": " << st;
      EXPECT_TRUE(absl::StrContains(st.message(), "Number too big")) << st;
    }
  }
}

TEST(ParsedJsonTest, TheLargestAndSmallestDoublesAreRead) {
  for (const char* text : {"[1.7976931348623157e308]", "[-1.7976931348623157e308]",
                           "[18446744073709551616e200]", "[4.9e-324]", "[1e-400]"}) {
    ParsedJson doc;
    ASSERT_TRUE(doc.Parse(text).ok()) << text;
    ASSERT_TRUE(doc.root()[0].IsDouble()) << text;
    EXPECT_TRUE(std::isfinite(doc.root()[0].GetDouble())) << text;
  }
}

}  // namespace
}  // namespace aigw::providers::json
