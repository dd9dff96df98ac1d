#include "services/gateway/request_validation.h"

#include <cmath>

#include "absl/strings/match.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"

namespace aigw::gateway {
namespace {

std::shared_ptr<const Catalogue> TestCatalogue() {
  ProviderEntry openai;
  openai.id = 1;
  openai.code = "openai";
  openai.api_format = "openai";
  openai.models = {ModelEntry{.id = 1, .code = "gpt-4o", .max_output_tokens = 16384, .is_default = true},
                   ModelEntry{.id = 2, .code = "gpt-4o-mini", .max_output_tokens = 16384},
                   ModelEntry{.id = 3, .code = "old", .is_active = false}};
  ProviderEntry off;
  off.id = 2;
  off.code = "legacy";
  off.is_active = false;
  off.models = {ModelEntry{.id = 4, .code = "m"}};
  ProviderEntry nostream;
  nostream.id = 3;
  nostream.code = "batchonly";
  nostream.models = {ModelEntry{.id = 5, .code = "b", .supports_streaming = false}};
  ProviderEntry deepseek;
  deepseek.id = 4;
  deepseek.code = "deepseek";
  deepseek.models = {
      ModelEntry{.id = 6, .code = "deepseek-chat", .supports_vision = false, .is_default = true},
      ModelEntry{.id = 7,
                 .code = "deepseek-reasoner",
                 .supports_function_call = false,
                 .supports_vision = false}};
  return Catalogue::FromProviders({openai, off, nostream, deepseek});
}

aigw::v1::ChatCompletionRequest Valid() {
  aigw::v1::ChatCompletionRequest r;
  r.set_provider_code("openai");
  auto* m = r.add_messages();
  m->set_role("user");
  m->set_content("write a chorus");
  return r;
}

absl::Status Check(const aigw::v1::ChatCompletionRequest& r, bool streaming = false,
                   ValidationLimits limits = {}) {
  auto catalogue = TestCatalogue();
  return ValidateChatRequest(r, *catalogue, limits, streaming).status();
}

void ExpectError(const absl::Status& st, absl::StatusCode code, absl::string_view needle) {
  EXPECT_EQ(st.code(), code) << st;
  EXPECT_TRUE(absl::StrContains(st.message(), needle)) << st;
}

TEST(RequestValidationTest, ValidRequestResolvesTheDefaultModelAndFallbacks) {
  auto catalogue = TestCatalogue();
  auto r = Valid();
  auto* f = r.add_fallbacks();
  f->set_provider_code("openai");
  f->set_model("gpt-4o-mini");
  auto targets = ValidateChatRequest(r, *catalogue, {}, false);
  ASSERT_TRUE(targets.ok()) << targets.status();
  ASSERT_EQ(targets->size(), 2u);
  EXPECT_EQ((*targets)[0].model->code, "gpt-4o");
  EXPECT_EQ((*targets)[1].model->code, "gpt-4o-mini");
}

TEST(RequestValidationTest, NoMessages) {
  auto r = Valid();
  r.clear_messages();
  ExpectError(Check(r), absl::StatusCode::kInvalidArgument, "messages is empty");
}

TEST(RequestValidationTest, UnknownRole) {
  auto r = Valid();
  r.mutable_messages(0)->set_role("function");
  ExpectError(Check(r), absl::StatusCode::kInvalidArgument,
              "messages[0].role is 'function': use system, user, assistant or tool");
}

TEST(RequestValidationTest, EmptyContent) {
  auto r = Valid();
  auto* m = r.add_messages();
  m->set_role("assistant");
  ExpectError(Check(r), absl::StatusCode::kInvalidArgument, "messages[1].content is empty");
}

TEST(RequestValidationTest, TemperatureRange) {
  auto r = Valid();
  r.set_temperature(2.0);
  EXPECT_TRUE(Check(r).ok());
  r.set_temperature(2.01);
  ExpectError(Check(r), absl::StatusCode::kInvalidArgument, "between 0 and 2");
  r.set_temperature(-0.1);
  ExpectError(Check(r), absl::StatusCode::kInvalidArgument, "temperature");
  r.set_temperature(std::nan(""));
  ExpectError(Check(r), absl::StatusCode::kInvalidArgument, "temperature");
}

TEST(RequestValidationTest, TopPRange) {
  auto r = Valid();
  r.set_top_p(1.0);
  EXPECT_TRUE(Check(r).ok());
  r.set_top_p(1.5);
  ExpectError(Check(r), absl::StatusCode::kInvalidArgument, "top_p is 1.5: it must be between 0 and 1");
}

TEST(RequestValidationTest, MaxTokensMustBePositiveAndWithinTheModel) {
  auto r = Valid();
  r.set_max_tokens(0);
  ExpectError(Check(r), absl::StatusCode::kInvalidArgument, "max_tokens is 0: it must be positive");
  r.set_max_tokens(-5);
  ExpectError(Check(r), absl::StatusCode::kInvalidArgument, "must be positive");
  r.set_max_tokens(16385);
  ExpectError(Check(r), absl::StatusCode::kInvalidArgument,
              "max_tokens is 16385 but model 'gpt-4o' allows at most 16384");
  r.set_max_tokens(16384);
  EXPECT_TRUE(Check(r).ok());
}

TEST(RequestValidationTest, OversizedRequest) {
  auto r = Valid();
  ValidationLimits limits;
  limits.max_request_bytes = 10;
  ExpectError(Check(r, false, limits), absl::StatusCode::kInvalidArgument,
              "request carries 14 bytes of text; the limit is 10");
}

TEST(RequestValidationTest, UnknownProviderOrModel) {
  auto r = Valid();
  r.set_provider_code("mistral");
  ExpectError(Check(r), absl::StatusCode::kNotFound,
              "provider 'mistral' is not configured (configured: openai, batchonly, deepseek)");
  r.set_provider_code("");
  ExpectError(Check(r), absl::StatusCode::kInvalidArgument, "provider_code is empty");
  r.set_provider_code("legacy");
  ExpectError(Check(r), absl::StatusCode::kNotFound, "provider 'legacy' is disabled");
  r.set_provider_code("openai");
  r.set_model("gpt-5");
  ExpectError(Check(r), absl::StatusCode::kNotFound,
              "model 'gpt-5' is not an active model of provider 'openai' (active: gpt-4o, gpt-4o-mini)");
  r.set_model("old");
  ExpectError(Check(r), absl::StatusCode::kNotFound, "model 'old'");
}

TEST(RequestValidationTest, FallbackToAnUnknownProvider) {
  auto r = Valid();
  r.add_fallbacks()->set_provider_code("openai");
  r.add_fallbacks()->set_provider_code("nope");
  ExpectError(Check(r), absl::StatusCode::kNotFound, "fallbacks[1]: provider 'nope'");
}

TEST(RequestValidationTest, StreamingNeedsAStreamingModel) {
  auto r = Valid();
  r.set_provider_code("batchonly");
  EXPECT_TRUE(Check(r, /*streaming=*/false).ok());
  ExpectError(Check(r, /*streaming=*/true), absl::StatusCode::kInvalidArgument,
              "model 'b' does not support streaming");
}

TEST(RequestValidationTest, StopSequencesAndRequestId) {
  auto r = Valid();
  for (int i = 0; i < 5; ++i) r.add_stop("x");
  ExpectError(Check(r), absl::StatusCode::kInvalidArgument, "stop has 5 sequences");
  r.clear_stop();
  r.add_stop("");
  ExpectError(Check(r), absl::StatusCode::kInvalidArgument, "stop[0] is empty");
  r.clear_stop();
  r.set_request_id(std::string(65, 'r'));
  ExpectError(Check(r), absl::StatusCode::kInvalidArgument, "request_id is 65 characters");
}

TEST(RequestValidationTest, RequestIdHoldsOnlyTraceIdCharacters) {
  auto r = Valid();
  for (const char* ok : {"req_0193a1b2c3d4e5f6", "550e8400-e29b-41d4-a716-446655440000",
                         "01ARZ3NDEKTSV4RRFFQ69G5FAV", "trace:span/3", "YWJj+/=", "a@b.c~d"}) {
    r.set_request_id(ok);
    EXPECT_TRUE(Check(r).ok()) << ok << ": " << Check(r);
  }
  r.set_request_id("has space");
  ExpectError(Check(r), absl::StatusCode::kInvalidArgument,
              "request_id has byte 0x20 at position 3: use only ASCII letters, digits and");
  r.set_request_id(std::string("nul\0", 4));
  ExpectError(Check(r), absl::StatusCode::kInvalidArgument, "byte 0x00 at position 3");
  r.set_request_id("请求");
  ExpectError(Check(r), absl::StatusCode::kInvalidArgument, "byte 0xE8 at position 0");
  r.set_request_id("quote'");
  ExpectError(Check(r), absl::StatusCode::kInvalidArgument, "byte 0x27");
}

TEST(RequestValidationTest, CallerFieldsFitTheirColumns) {
  // Megabytes of caller fields were accepted and stopped event delivery.
  auto r = Valid();
  r.mutable_caller()->set_user_agent(std::string(2 << 20, 'a'));
  ExpectError(Check(r), absl::StatusCode::kInvalidArgument,
              "caller.user_agent is 2097152 characters; at most 512 are accepted");
  r.mutable_caller()->set_user_agent(std::string(512, 'a'));
  EXPECT_TRUE(Check(r).ok());
  r.mutable_caller()->set_user_id(std::string(129, 'u'));
  ExpectError(Check(r), absl::StatusCode::kInvalidArgument,
              "caller.user_id is 129 characters; at most 128");
  std::string id;
  for (int i = 0; i < 128; ++i) id += "用";  // characters, not bytes
  r.mutable_caller()->set_user_id(id);
  EXPECT_TRUE(Check(r).ok());
  r.mutable_caller()->set_ip_address(std::string(65, '1'));
  ExpectError(Check(r), absl::StatusCode::kInvalidArgument,
              "caller.ip_address is 65 characters; at most 64");
}

TEST(RequestValidationTest, CallerFieldsArePrintableText) {
  auto r = Valid();
  r.mutable_caller()->set_user_agent(std::string("Mozilla/5.0\0evil", 17));
  ExpectError(Check(r), absl::StatusCode::kInvalidArgument,
              "caller.user_agent has the control character U+0000 at character 11");
  r.mutable_caller()->set_user_agent("Mozilla\r\nX-Injected: 1");
  ExpectError(Check(r), absl::StatusCode::kInvalidArgument, "U+000D at character 7");
  r.mutable_caller()->set_user_agent("é\xC2\x85");  // NEL, a C1 control
  ExpectError(Check(r), absl::StatusCode::kInvalidArgument, "U+0085 at character 1");
  r.mutable_caller()->set_user_agent("Mozilla/5.0 (X11; Linux) 浏览器 🚀");
  EXPECT_TRUE(Check(r).ok());
  r.mutable_caller()->set_user_id("\xE4\xB8");
  ExpectError(Check(r), absl::StatusCode::kInvalidArgument, "caller.user_id is not valid UTF-8");
  r.mutable_caller()->set_user_id("user-7");
  r.mutable_caller()->set_ip_address("10.0.0.7\x7F");
  ExpectError(Check(r), absl::StatusCode::kInvalidArgument,
              "caller.ip_address has the control character U+007F");
}

TEST(RequestValidationTest, AToolAndImageConversationIsAccepted) {
  aigw::v1::ChatCompletionRequest r;
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(R"pb(
    provider_code: "openai"
    messages { role: "system" content: "You write lyrics." }
    messages {
      role: "user"
      parts { text: "What is on this cover, and the weather in Paris?" }
      parts { image_url { url: "https://cdn.example.com/c.png" detail: "low" } }
    }
    messages {
      role: "assistant"
      tool_calls { id: "call_1" name: "get_weather" arguments_json: "{\"city\":\"Paris\"}" }
      tool_calls { id: "call_2" name: "get_time" }
    }
    messages { role: "tool" tool_call_id: "call_2" content: "12:00" }
    messages { role: "tool" tool_call_id: "call_1" content: "18C" }
    tools {
      name: "get_weather"
      parameters_json: "{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}}}"
    }
    tools { name: "get_time" }
    tool_choice { mode: "tool" name: "get_weather" }
    parallel_tool_calls: false
    response_format { type: "json_schema" name: "answer" schema_json: "{\"type\":\"object\"}" }
    presence_penalty: 0.5
    frequency_penalty: -1
    seed: 42
  )pb", &r));
  EXPECT_TRUE(Check(r).ok()) << Check(r);
}

TEST(RequestValidationTest, PenaltiesAndSeedWithinRange) {
  auto r = Valid();
  r.set_presence_penalty(-2);
  r.set_frequency_penalty(2);
  r.set_seed(-((int64_t{1} << 53) - 1));
  EXPECT_TRUE(Check(r).ok());
  r.set_presence_penalty(2.5);
  ExpectError(Check(r), absl::StatusCode::kInvalidArgument,
              "presence_penalty is 2.5: it must be between -2 and 2");
  r.set_presence_penalty(std::nan(""));
  ExpectError(Check(r), absl::StatusCode::kInvalidArgument, "presence_penalty is nan");
  r.clear_presence_penalty();
  r.set_frequency_penalty(-2.01);
  ExpectError(Check(r), absl::StatusCode::kInvalidArgument,
              "frequency_penalty is -2.01: it must be between -2 and 2");
  r.clear_frequency_penalty();
  r.set_seed(int64_t{1} << 53);
  ExpectError(Check(r), absl::StatusCode::kInvalidArgument,
              "seed is 9007199254740992: it must be between -9007199254740991 and 9007199254740991");
}

TEST(RequestValidationTest, ToolsAndImagesNeedTheModelsCapabilities) {
  auto r = Valid();
  r.set_provider_code("deepseek");
  r.set_model("deepseek-reasoner");
  auto* tool = r.add_tools();
  tool->set_name("get_weather");
  ExpectError(Check(r), absl::StatusCode::kInvalidArgument,
              "model 'deepseek-reasoner' of provider 'deepseek' does not support function calling "
              "(supports_function_call is off in its catalogue entry): send no tools or tool "
              "turns, or choose a model that supports function calling");
  r.set_model("deepseek-chat");
  EXPECT_TRUE(Check(r).ok());
  r.mutable_messages(0)->clear_content();
  r.mutable_messages(0)->add_parts()->mutable_image_url()->set_url("https://a.example/c.png");
  ExpectError(Check(r), absl::StatusCode::kInvalidArgument,
              "model 'deepseek-chat' of provider 'deepseek' does not support images "
              "(supports_vision is off in its catalogue entry): send no image parts");
  r.set_provider_code("openai");
  r.clear_model();
  EXPECT_TRUE(Check(r).ok());

  // Tool turns need function calling even with no tools offered.
  auto history = Valid();
  history.set_provider_code("deepseek");
  history.set_model("deepseek-reasoner");
  auto* a = history.add_messages();
  a->set_role("assistant");
  auto* call = a->add_tool_calls();
  call->set_id("call_1");
  call->set_name("get_weather");
  auto* result = history.add_messages();
  result->set_role("tool");
  result->set_tool_call_id("call_1");
  result->set_content("18C");
  ExpectError(Check(history), absl::StatusCode::kInvalidArgument, "does not support function calling");
  EXPECT_TRUE(NeedsOf(history).function_calling);
  EXPECT_FALSE(NeedsOf(history).vision);
  EXPECT_TRUE(NeedsOf(r).vision);

  // A fallback without the capability is resolved: the pipeline skips it.
  r.add_fallbacks()->set_provider_code("deepseek");
  auto catalogue = TestCatalogue();
  auto targets = ValidateChatRequest(r, *catalogue, {}, false);
  ASSERT_TRUE(targets.ok()) << targets.status();
  ASSERT_EQ(targets->size(), 2u);
  ExpectError(CheckCapabilities((*targets)[1], NeedsOf(r), "fallbacks[0]"),
              absl::StatusCode::kInvalidArgument,
              "fallbacks[0]: model 'deepseek-chat' of provider 'deepseek' does not support images");
}

TEST(RequestValidationTest, ToolChoiceToolsAndResponseFormatAreChecked) {
  auto r = Valid();
  r.mutable_tool_choice()->set_mode("tool");
  r.mutable_tool_choice()->set_name("get_weather");
  ExpectError(Check(r), absl::StatusCode::kInvalidArgument,
              "tool_choice.name 'get_weather' is not among the tools offered (none)");
  r.add_tools()->set_name("get_weather");
  EXPECT_TRUE(Check(r).ok());
  r.add_tools()->set_name("get_weather");
  ExpectError(Check(r), absl::StatusCode::kInvalidArgument, "tool names must be unique");
  r.mutable_tools()->RemoveLast();
  r.add_tools()->set_name("aigw_structured_output");
  ExpectError(Check(r), absl::StatusCode::kInvalidArgument,
              "tools[1].name 'aigw_structured_output' is reserved");
  r.mutable_tools()->RemoveLast();
  r.mutable_response_format()->set_type("json_schema");
  r.mutable_response_format()->set_name("sheet");
  r.mutable_response_format()->set_schema_json("[]");
  ExpectError(Check(r), absl::StatusCode::kInvalidArgument,
              "response_format.schema_json is not a JSON object");
}

TEST(RequestValidationTest, ToolsAndSchemasCountTowardTheRequestBytes) {
  auto r = Valid();  // 14 bytes of content
  auto* tool = r.add_tools();
  tool->set_name("f");
  tool->set_description(std::string(40, 'd'));
  tool->set_parameters_json("{}");
  EXPECT_TRUE(Check(r, false, ValidationLimits{.max_request_bytes = 57}).ok());
  ExpectError(Check(r, false, ValidationLimits{.max_request_bytes = 56}),
              absl::StatusCode::kInvalidArgument, "request carries 57 bytes of text; the limit is 56");
  r.mutable_response_format()->set_type("json_schema");
  r.mutable_response_format()->set_name("s");
  r.mutable_response_format()->set_schema_json("{}");
  ExpectError(Check(r, false, ValidationLimits{.max_request_bytes = 57}),
              absl::StatusCode::kInvalidArgument, "request carries 60 bytes");
}

TEST(CountTokensValidationTest, MessagesOrTextAndTools) {
  aigw::v1::CountTokensRequest r;
  ExpectError(ValidateCountTokensRequest(r, {}), absl::StatusCode::kInvalidArgument,
              "give either messages or text");
  r.set_text("hello");
  EXPECT_TRUE(ValidateCountTokensRequest(r, {}).ok());
  r.add_tools()->set_name("f");
  ExpectError(ValidateCountTokensRequest(r, {}), absl::StatusCode::kInvalidArgument,
              "tools count with messages, not with text");
  r.clear_text();
  auto* m = r.add_messages();
  m->set_role("tool");
  m->set_tool_call_id("call_1");
  ExpectError(ValidateCountTokensRequest(r, {}), absl::StatusCode::kInvalidArgument,
              "messages[0].tool_call_id 'call_1' answers no tool call");
  m->set_role("user");
  m->clear_tool_call_id();
  m->add_parts()->mutable_image_url()->set_url("https://a.example/a.png");
  EXPECT_TRUE(ValidateCountTokensRequest(r, {}).ok());
  r.mutable_tools(0)->set_name("bad name");
  ExpectError(ValidateCountTokensRequest(r, {}), absl::StatusCode::kInvalidArgument,
              "tools[0].name 'bad name'");
  r.mutable_tools(0)->set_name("f");
  r.set_text(std::string(100, 'x'));
  r.clear_messages();
  r.clear_tools();
  ExpectError(ValidateCountTokensRequest(r, ValidationLimits{.max_request_bytes = 99}),
              absl::StatusCode::kInvalidArgument, "text is 100 bytes; the limit is 99");
}

}  // namespace
}  // namespace aigw::gateway
