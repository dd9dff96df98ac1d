// ParsedJson refuses what JSON cannot carry, the same way for both of its
// entry points.

#include "libs/providers/json_util.h"

#include <cmath>
#include <string>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace aigw::providers::json {
namespace {

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
