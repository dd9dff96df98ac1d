#include "libs/tokenizer/tool_tokens.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace aigw::tokenizer {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// The function of OpenAI's cookbook example (section 7).
constexpr absl::string_view kWeatherParameters = R"({
  "type": "object",
  "properties": {
    "location": {"type": "string", "description": "The city and state, e.g. San Francisco, CA"},
    "unit": {"type": "string", "description": "The unit of temperature to return",
             "enum": ["celsius", "fahrenheit"]}
  },
  "required": ["location"]
})";

TEST(ReadToolPropertiesTest, ReadsTopLevelProperties) {
  absl::StatusOr<std::vector<ToolProperty>> p = ReadToolProperties(kWeatherParameters);
  ASSERT_TRUE(p.ok()) << p.status();
  ASSERT_EQ(p->size(), 2u);
  EXPECT_EQ((*p)[0].name, "location");
  EXPECT_EQ((*p)[0].type, "string");
  EXPECT_EQ((*p)[0].description, "The city and state, e.g. San Francisco, CA");
  EXPECT_FALSE((*p)[0].has_enum);
  EXPECT_EQ((*p)[0].nested, "");
  EXPECT_EQ((*p)[1].name, "unit");
  EXPECT_TRUE((*p)[1].has_enum);
  EXPECT_THAT((*p)[1].enum_values, ElementsAre("celsius", "fahrenheit"));
}

TEST(ReadToolPropertiesTest, NestedSchemaTypeListsAndOddShapes) {
  absl::StatusOr<std::vector<ToolProperty>> p = ReadToolProperties(R"({
    "properties": {
      "tags": {"type": "array", "items": {"type": "string", "maxLength": 20}},
      "when": {"type": ["string", "null"], "format": "date"},
      "level": {"enum": [1, 2.5, true, null]},
      "anything": true,
      "address": {"type": "object", "properties": {"city": {"type": "string"}}}
    }})");
  ASSERT_TRUE(p.ok()) << p.status();
  ASSERT_EQ(p->size(), 5u);
  EXPECT_EQ((*p)[0].nested, "items type string maxLength 20");
  EXPECT_EQ((*p)[1].type, "string|null");
  EXPECT_EQ((*p)[1].nested, "format date");
  EXPECT_THAT((*p)[2].enum_values, ElementsAre("1", "2.5", "true", "null"));
  EXPECT_EQ((*p)[3].name, "anything");
  EXPECT_EQ((*p)[3].type, "");
  EXPECT_EQ((*p)[4].nested, "properties city type string");

  p = ReadToolProperties("");
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->empty());
  p = ReadToolProperties(R"({"type": "object"})");
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->empty());
}

TEST(ReadToolPropertiesTest, RefusesWhatIsNotAJsonObject) {
  EXPECT_THAT(ReadToolProperties("[1, 2]").status().message(), HasSubstr("is not a JSON object"));
  EXPECT_THAT(ReadToolProperties("\"schema\"").status().message(),
              HasSubstr("is not a JSON object"));
  EXPECT_THAT(ReadToolProperties("{\"a\": ").status().message(), HasSubstr("is not JSON"));
  EXPECT_THAT(ReadToolProperties("{} {}").status().message(), HasSubstr("is not JSON"));
  EXPECT_THAT(ReadToolProperties("{\"a\": \"\xff\"}").status().message(), HasSubstr("is not JSON"));
  EXPECT_TRUE(absl::IsInvalidArgument(ReadToolProperties("nope").status()));
}

TEST(CheckJsonObjectTest, OneObjectOnly) {
  EXPECT_TRUE(CheckJsonObject(R"({"location": "Paris", "days": [1, 2]})").ok());
  EXPECT_TRUE(CheckJsonObject("{}").ok());
  EXPECT_THAT(CheckJsonObject("").message(), HasSubstr("is empty"));
  EXPECT_THAT(CheckJsonObject("[]").message(), HasSubstr("is not a JSON object"));
  EXPECT_THAT(CheckJsonObject("{\"a\": 1").message(), HasSubstr("is not JSON"));
}

TEST(ReadToolPropertiesTest, DepthIsBoundedWithoutRecursion) {
  auto nested = [](int levels) {
    std::string s;
    for (int i = 0; i < levels; ++i) s += "{\"a\":";
    s += "1";
    for (int i = 0; i < levels; ++i) s += "}";
    return s;
  };
  EXPECT_TRUE(ReadToolProperties(nested(kMaxToolSchemaDepth)).ok());
  EXPECT_THAT(ReadToolProperties(nested(kMaxToolSchemaDepth + 1)).status().message(),
              HasSubstr("deeper than 32 levels"));
  // A megabyte of brackets: refused, not a stack overflow.
  EXPECT_TRUE(absl::IsInvalidArgument(ReadToolProperties(std::string(1 << 20, '[')).status()));
}

TEST(ToolDefinitionsAsTextTest, FollowsTheCookbook) {
  const ToolDefinition weather{"get_current_weather", "Get the current weather in a given location.",
                               kWeatherParameters};
  ToolDefinitionText t = ToolDefinitionsAsText({weather}, ToolRuleForEncoding("o200k_base"));
  // func_init 7, prop_init 3, 2 x prop_key 3, enum_init -3, 2 x enum_item 3,
  // func_end 12.
  EXPECT_EQ(t.fixed_tokens, 7 + 3 + 3 + 3 - 3 + 3 + 3 + 12);
  EXPECT_THAT(t.lines, ElementsAre("get_current_weather:Get the current weather in a given location",
                                   "location:string:The city and state, e.g. San Francisco, CA",
                                   "celsius", "fahrenheit",
                                   "unit:string:The unit of temperature to return"));
  t = ToolDefinitionsAsText({weather}, ToolRuleForEncoding("cl100k_base"));
  EXPECT_EQ(t.fixed_tokens, 10 + 3 + 3 + 3 - 3 + 3 + 3 + 12);

  // No parameters: func_init, the line, func_end once for all functions.
  const ToolDefinition ping{"ping", "", ""};
  t = ToolDefinitionsAsText({ping, ping}, ToolTokenRule{});
  EXPECT_EQ(t.fixed_tokens, 7 + 7 + 12);
  EXPECT_THAT(t.lines, ElementsAre("ping:", "ping:"));
  // Parameters that are not a schema object count as their text.
  t = ToolDefinitionsAsText({ToolDefinition{"f", "d", "[1,2]"}}, ToolTokenRule{});
  EXPECT_THAT(t.lines, ElementsAre("f:d", "[1,2]"));
  EXPECT_EQ(ToolDefinitionsAsText({}, ToolTokenRule{}).fixed_tokens, 0);
}

}  // namespace
}  // namespace aigw::tokenizer
