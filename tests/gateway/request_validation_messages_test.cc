#include "services/gateway/request_validation_messages.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/tokenizer/image_fixtures.h"

namespace aigw::gateway {
namespace {

using ::aigw::tokenizer::testing::DataUrl;
using ::aigw::tokenizer::testing::JpegHeader;
using ::aigw::tokenizer::testing::PngHeader;
using ::testing::HasSubstr;
using Messages = google::protobuf::RepeatedPtrField<aigw::v1::ChatMessage>;

aigw::v1::ChatMessage* Add(Messages* ms, const std::string& role, const std::string& content) {
  aigw::v1::ChatMessage* m = ms->Add();
  m->set_role(role);
  m->set_content(content);
  return m;
}

aigw::v1::ToolCall* Call(aigw::v1::ChatMessage* m, const std::string& id, const std::string& name,
                         const std::string& args = R"({"city":"Paris"})") {
  aigw::v1::ToolCall* c = m->add_tool_calls();
  c->set_id(id);
  c->set_name(name);
  c->set_arguments_json(args);
  return c;
}

aigw::v1::ChatMessage* ToolTurn(Messages* ms, const std::string& id, const std::string& result) {
  aigw::v1::ChatMessage* m = Add(ms, "tool", result);
  m->set_tool_call_id(id);
  return m;
}

aigw::v1::ImageUrl* Image(aigw::v1::ChatMessage* m, const std::string& url,
                          const std::string& detail = "") {
  aigw::v1::ImageUrl* image = m->add_parts()->mutable_image_url();
  image->set_url(url);
  image->set_detail(detail);
  return image;
}

absl::StatusOr<MessagesSummary> Check(const Messages& ms, ValidationLimits limits = {}) {
  return CheckMessages(ms, limits);
}

void ExpectRefused(const absl::StatusOr<MessagesSummary>& s, absl::string_view needle) {
  EXPECT_TRUE(absl::IsInvalidArgument(s.status())) << s.status();
  EXPECT_THAT(s.status().message(), HasSubstr(needle));
}

// A user turn, an assistant turn calling two tools, their results, the
// assistant's answer.
Messages ToolConversation() {
  Messages ms;
  Add(&ms, "user", "weather in Paris and Rome?");
  aigw::v1::ChatMessage* a = Add(&ms, "assistant", "");
  Call(a, "call_1", "get_weather");
  Call(a, "call_2", "get_weather", R"({"city":"Rome"})");
  ToolTurn(&ms, "call_2", R"({"c":21})");
  ToolTurn(&ms, "call_1", "");  // results in any order; an empty result is allowed
  Add(&ms, "assistant", "Paris 18, Rome 21.");
  return ms;
}

TEST(CheckMessagesTest, PlainTextCountsBytes) {
  Messages ms;
  Add(&ms, "system", "be brief");
  Add(&ms, "user", "hi")->set_name("ann");
  absl::StatusOr<MessagesSummary> s = Check(ms);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->text_bytes, 8 + 2 + 3);
  EXPECT_EQ(s->images, 0);
  EXPECT_FALSE(s->has_tool_turns);
}

TEST(CheckMessagesTest, RolesAndContent) {
  Messages ms;
  Add(&ms, "function", "x");
  ExpectRefused(Check(ms), "messages[0].role is 'function': use system, user, assistant or tool");
  ms.Clear();
  Add(&ms, "user", "");
  ExpectRefused(Check(ms), "messages[0].content is empty");
  ms.Clear();
  aigw::v1::ChatMessage* m = Add(&ms, "user", "look");
  m->add_parts()->set_text("look");
  ExpectRefused(Check(ms), "messages[0] has both content and parts");
  m->clear_content();
  m->add_parts();
  ExpectRefused(Check(ms), "messages[0].parts[1] is empty: set text or image_url");
  m->mutable_parts(1)->set_text("");
  ExpectRefused(Check(ms), "messages[0].parts[1] is empty");
  ms.Clear();
  Add(&ms, "user", "a");
  Add(&ms, "user", "b");
  ExpectRefused(Check(ms, ValidationLimits{.max_messages = 1}),
                "messages has 2 entries; at most 1 are accepted");
}

TEST(CheckMessagesTest, AToolConversation) {
  absl::StatusOr<MessagesSummary> s = Check(ToolConversation());
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_TRUE(s->has_tool_turns);
  EXPECT_EQ(s->text_bytes, 26 + (6 + 11 + 16) + (6 + 11 + 15) + 8 + 0 + 18);
}

TEST(CheckMessagesTest, EveryCallIsAnsweredOnceBeforeTheConversationGoesOn) {
  Messages ms = ToolConversation();
  ms.DeleteSubrange(3, 1);  // call_1 unanswered before the final assistant turn
  ExpectRefused(Check(ms),
                "messages[1] calls tool 'get_weather' (id 'call_1') but no tool turn answers it "
                "before the next assistant turn: send a tool turn with that tool_call_id");
  ms = ToolConversation();
  ms.DeleteSubrange(2, 3);  // the conversation ends on the calls
  ExpectRefused(Check(ms), "before the conversation ends");
  ms = ToolConversation();
  ms.Mutable(3)->set_tool_call_id("call_2");  // answered twice
  ExpectRefused(Check(ms),
                "messages[3].tool_call_id 'call_2' answers a call an earlier tool turn answered");
  ms = ToolConversation();
  ms.Mutable(3)->set_tool_call_id("call_9");
  ExpectRefused(Check(ms), "messages[3].tool_call_id 'call_9' answers no tool call of the "
                           "assistant turn before it");
  ms.Clear();
  Add(&ms, "user", "hi");
  ToolTurn(&ms, "call_1", "x");
  ExpectRefused(Check(ms), "answers no tool call of the assistant turn before it (no assistant "
                           "turn called a tool)");
  ms = ToolConversation();
  ms.Mutable(2)->clear_tool_call_id();
  ExpectRefused(Check(ms), "messages[2].tool_call_id is empty: name the tool call this turn");
  ms = ToolConversation();
  ms.Mutable(4)->set_tool_call_id("call_1");
  ExpectRefused(Check(ms), "messages[4].tool_call_id is set but its role is 'assistant': only tool turns");
}

TEST(CheckMessagesTest, ToolCallsOnlyOnAssistantTurnsAndWellFormed) {
  Messages ms = ToolConversation();
  Call(ms.Mutable(0), "call_3", "f");
  ExpectRefused(Check(ms), "messages[0] has tool_calls but its role is 'user': only assistant turns");
  struct Case {
    std::string id, name, args, message;
  };
  for (const Case& c : std::vector<Case>{
           {"", "f", "{}", "messages[1].tool_calls[1].id is empty"},
           {std::string(129, 'c'), "f", "{}", "tool_calls[1].id is 129 characters; at most 128"},
           {"call 2", "f", "{}", "tool_calls[1].id has byte 0x20 at position 4"},
           {"call_1", "f", "{}", "tool_calls[1].id 'call_1' is also the id of another call"},
           {"call_2", "get weather", "{}", "tool_calls[1].name 'get weather' has ' '"},
           {"call_2", "f", "[1]", "tool_calls[1].arguments_json is not a JSON object: send the "
                                  "arguments as a JSON object"},
           {"call_2", "f", "{\"city\":", "tool_calls[1].arguments_json is not JSON"},
       }) {
    ms = ToolConversation();
    aigw::v1::ToolCall* call = ms.Mutable(1)->mutable_tool_calls(1);
    call->set_id(c.id);
    call->set_name(c.name);
    call->set_arguments_json(c.args);
    ExpectRefused(Check(ms), c.message);
  }
  ms = ToolConversation();
  ms.Mutable(1)->mutable_tool_calls(0)->clear_arguments_json();  // no arguments
  EXPECT_TRUE(Check(ms).ok());
}

TEST(CheckMessagesTest, ImagesInUserTurns) {
  Messages ms;
  aigw::v1::ChatMessage* m = Add(&ms, "user", "");
  m->add_parts()->set_text("describe the cover");
  Image(m, "https://cdn.example.com/covers/1.png", "high");
  Image(m, DataUrl("image/png", PngHeader(640, 480)), "low");
  Image(m, DataUrl("image/jpeg", JpegHeader(4000, 3000, 30000)));
  absl::StatusOr<MessagesSummary> s = Check(ms);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->images, 3);
  EXPECT_EQ(s->text_bytes, 18);  // images are not text

  ms.Clear();
  m = Add(&ms, "assistant", "");
  Image(m, "https://cdn.example.com/a.png");
  ExpectRefused(Check(ms), "messages[0].parts[0] is an image but the turn's role is "
                           "'assistant': images go in user turns");
  ms.Clear();
  m = Add(&ms, "user", "");
  for (int i = 0; i < 3; ++i) Image(m, "https://cdn.example.com/a.png");
  ExpectRefused(Check(ms, ValidationLimits{.max_images = 2}),
                "messages[0].parts[2] is image 3; at most 2 images are accepted in a request");
}

TEST(CheckMessagesTest, ImageUrlsAreHttpsOrImageDataUrls) {
  struct Case {
    std::string url, detail, message;
  };
  const std::string png = DataUrl("image/png", PngHeader(10, 10));
  for (const Case& c : std::vector<Case>{
           {"https://a.example/x.png", "medium",
            "messages[0].parts[0].image_url.detail is 'medium': use auto, low or high"},
           {"", "", "messages[0].parts[0].image_url.url is empty"},
           {"http://a.example/x.png", "", "is neither an https URL nor a data: URL"},
           {"file:///etc/passwd", "", "is neither an https URL nor a data: URL"},
           {"https://", "", "image_url.url has no host"},
           {"https:///x.png", "", "image_url.url has no host"},
           {"https://a.example/my cover.png", "", "has byte 0x20 at position 20: percent-encode"},
           {"https://a.example/" + std::string(9000, 'a'), "", "is 9018 bytes; an image URL may "
                                                               "have at most 8192"},
           {DataUrl("image/svg+xml", "<svg/>"), "", "media type is 'image/svg+xml'"},
           {DataUrl("image/png", "not a png at all"), "", "not a PNG, JPEG, GIF or WebP image"},
           {DataUrl("image/png", PngHeader(10, 10).substr(0, 20)), "",
            "the image ends inside its header"},
           {DataUrl("image/png", JpegHeader(10, 10)), "",
            "says image/png but holds a image/jpeg image: send it as image/jpeg"},
           {"data:image/png;base64,@@@@", "", "image_url.url: the data: URL's payload is not base64"},
       }) {
    Messages ms;
    Image(Add(&ms, "user", ""), c.url, c.detail);
    ExpectRefused(Check(ms), c.message);
  }
  // The decoded size is bounded.
  Messages ms;
  Image(Add(&ms, "user", ""), DataUrl("image/png", PngHeader(10, 10) + std::string(2000, 'p')));
  ExpectRefused(Check(ms, ValidationLimits{.max_image_bytes = 1000}),
                "holds an image of 2033 bytes; at most 1000 are accepted");
  EXPECT_TRUE(Check(ms).ok());
}

}  // namespace
}  // namespace aigw::gateway
