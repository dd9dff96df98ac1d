#include "services/gateway/request_validation_tools.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace aigw::gateway {
namespace {

using ::testing::HasSubstr;

constexpr char kWeatherSchema[] =
    R"({"type":"object","properties":{"city":{"type":"string"}},"required":["city"]})";

aigw::v1::ChatCompletionRequest WithTools(std::initializer_list<const char*> names) {
  aigw::v1::ChatCompletionRequest r;
  for (const char* name : names) {
    aigw::v1::Tool* t = r.add_tools();
    t->set_name(name);
    t->set_description("a tool");
    t->set_parameters_json(kWeatherSchema);
  }
  return r;
}

void ExpectRefused(const absl::Status& st, absl::string_view needle) {
  EXPECT_TRUE(absl::IsInvalidArgument(st)) << st;
  EXPECT_THAT(st.message(), HasSubstr(needle));
}

TEST(CheckToolNameTest, LettersDigitsUnderscoreDashUpTo64) {
  EXPECT_TRUE(CheckToolName("f", "get_weather-v2").ok());
  EXPECT_TRUE(CheckToolName("f", std::string(64, 'a')).ok());
  ExpectRefused(CheckToolName("tools[0].name", std::string(65, 'a')),
                "tools[0].name is 65 characters; at most 64");
  ExpectRefused(CheckToolName("tools[0].name", ""), "tools[0].name is empty");
  ExpectRefused(CheckToolName("tools[1].name", "get weather"),
                "tools[1].name 'get weather' has ' ' at position 3: use only ASCII letters, "
                "digits, '_' and '-'");
  ExpectRefused(CheckToolName("f", "wetter.heute"), "has '.' at position 6");
  ExpectRefused(CheckToolName("f", "天气"), "at position 0");
}

TEST(CheckToolsTest, CountsBytesAndRefusesDuplicatesAndBadSchemas) {
  aigw::v1::ChatCompletionRequest r = WithTools({"a", "b"});
  absl::StatusOr<int64_t> bytes = CheckTools(r.tools(), 128);
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  EXPECT_EQ(*bytes, 2 * static_cast<int64_t>(1 + 6 + sizeof(kWeatherSchema) - 1));

  r = WithTools({"a", "b", "a"});
  ExpectRefused(CheckTools(r.tools(), 128).status(),
                "tools[2].name 'a' is also tools[0].name: tool names must be unique");
  ExpectRefused(CheckTools(WithTools({"a", "b", "c"}).tools(), 2).status(),
                "tools has 3 entries; at most 2 are accepted");

  r = WithTools({"a"});
  r.mutable_tools(0)->set_parameters_json("");  // no parameters
  EXPECT_TRUE(CheckTools(r.tools(), 128).ok());
  r.mutable_tools(0)->set_parameters_json("[\"city\"]");
  ExpectRefused(CheckTools(r.tools(), 128).status(),
                "tools[0].parameters_json is not a JSON object: send a JSON Schema object as "
                "JSON text");
  r.mutable_tools(0)->set_parameters_json("{\"type\": \"object\",");
  ExpectRefused(CheckTools(r.tools(), 128).status(), "tools[0].parameters_json is not JSON");
  r.mutable_tools(0)->set_parameters_json(std::string(100000, '[') + std::string(100000, ']'));
  ExpectRefused(CheckTools(r.tools(), 128).status(), "deeper than 32 levels");
}

TEST(CheckToolsTest, RefusesTheNameTheAnthropicStructuredOutputEmulationUses) {
  // Anthropic has no response_format: the gateway offers a tool of this name
  // and reads its input back as the answer, so a caller's tool of the same
  // name would be taken for it.
  ExpectRefused(CheckTools(WithTools({"get_weather", "aigw_structured_output"}).tools(), 128)
                    .status(),
                "tools[1].name 'aigw_structured_output' is reserved: the gateway offers a tool of "
                "that name to Anthropic models to carry a response_format's answer; rename the "
                "tool");
  EXPECT_TRUE(CheckTools(WithTools({"aigw_structured_output2", "my_structured_output"}).tools(),
                         128)
                  .ok());
}

TEST(CheckToolChoiceTest, ModesAndNames) {
  aigw::v1::ChatCompletionRequest r = WithTools({"get_weather", "get_time"});
  EXPECT_TRUE(CheckToolChoice(r).ok());
  for (const char* mode : {"", "auto", "none", "required"}) {
    r.mutable_tool_choice()->set_mode(mode);
    EXPECT_TRUE(CheckToolChoice(r).ok()) << mode;
  }
  r.mutable_tool_choice()->set_mode("any");
  ExpectRefused(CheckToolChoice(r), "tool_choice.mode is 'any': use auto, none, required or tool");
  r.mutable_tool_choice()->set_mode("tool");
  ExpectRefused(CheckToolChoice(r), "tool_choice.name is empty: name the tool");
  r.mutable_tool_choice()->set_name("get_time");
  EXPECT_TRUE(CheckToolChoice(r).ok());
  r.mutable_tool_choice()->set_name("get_date");
  ExpectRefused(CheckToolChoice(r),
                "tool_choice.name 'get_date' is not among the tools offered (get_weather, get_time)");
  r.mutable_tool_choice()->set_mode("auto");
  ExpectRefused(CheckToolChoice(r), "tool_choice.name is set but tool_choice.mode is 'auto'");

  aigw::v1::ChatCompletionRequest none;
  none.mutable_tool_choice()->set_mode("required");
  ExpectRefused(CheckToolChoice(none), "'required' but no tools are offered");
  none.mutable_tool_choice()->set_mode("tool");
  none.mutable_tool_choice()->set_name("x");
  ExpectRefused(CheckToolChoice(none), "is not among the tools offered (none)");
  none.clear_tool_choice();
  none.set_parallel_tool_calls(false);
  ExpectRefused(CheckToolChoice(none), "parallel_tool_calls is set but no tools are offered");
  r.set_parallel_tool_calls(false);
  r.clear_tool_choice();
  EXPECT_TRUE(CheckToolChoice(r).ok());
}

TEST(CheckResponseFormatTest, TypesNamesAndSchemas) {
  aigw::v1::ResponseFormat f;
  EXPECT_EQ(*CheckResponseFormat(f), 0);
  f.set_type("json_object");
  EXPECT_EQ(*CheckResponseFormat(f), 0);
  f.set_type("text");
  EXPECT_TRUE(CheckResponseFormat(f).ok());
  f.set_type("yaml");
  ExpectRefused(CheckResponseFormat(f).status(),
                "response_format.type is 'yaml': use text, json_object or json_schema");
  f.set_type("json_object");
  f.set_schema_json("{}");
  ExpectRefused(CheckResponseFormat(f).status(), "set type to json_schema to use them");
  f.set_type("json_schema");
  ExpectRefused(CheckResponseFormat(f).status(), "response_format.name is empty");
  f.set_name("lyrics sheet");
  ExpectRefused(CheckResponseFormat(f).status(), "response_format.name 'lyrics sheet' has ' '");
  f.set_name("lyrics_sheet");
  EXPECT_EQ(*CheckResponseFormat(f), 12 + 2);
  f.clear_schema_json();
  ExpectRefused(CheckResponseFormat(f).status(), "response_format.schema_json is empty");
  f.set_schema_json("true");
  ExpectRefused(CheckResponseFormat(f).status(),
                "response_format.schema_json is not a JSON object");
}

}  // namespace
}  // namespace aigw::gateway
