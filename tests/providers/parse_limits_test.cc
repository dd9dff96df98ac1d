// What the parsers take from an upstream is bounded: JSON nesting depth at
// every entry point (a deeply nested body used to overflow the stack of the
// thread parsing it), and the size of one server-sent event.

#include "libs/providers/parse_limits.h"

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "libs/providers/adapter.h"

namespace aigw::providers {
namespace {

// `depth` nested arrays: "[[[...]]]".
std::string Nested(int depth) { return std::string(depth, '[') + std::string(depth, ']'); }

// Far deeper than any stack can recurse (a 2 MB body, within every size
// limit).
constexpr int kHostileDepth = 1'000'000;

bool TooDeep(const absl::Status& s) {
  return s.code() == absl::StatusCode::kResourceExhausted &&
         absl::StrContains(s.message(), "nested deeper than 64 levels");
}

TEST(JsonDepthTest, AnswersNestedTooDeepAreRefusedNotRecursedInto) {
  for (const char* format : {"openai", "anthropic"}) {
    const ProviderAdapter& adapter = AdapterFor(format);
    const std::string body = absl::StrCat(R"({"choices":)", Nested(kHostileDepth), "}");
    absl::StatusOr<Completion> parsed = adapter.ParseResponse(body);
    EXPECT_TRUE(TooDeep(parsed.status())) << format << ": " << parsed.status();

    absl::StatusOr<std::vector<ModelInfo>> models = adapter.ParseModelList(Nested(kHostileDepth));
    EXPECT_TRUE(TooDeep(models.status())) << format << ": " << models.status();

    // An error body that cannot be read falls back to its start.
    UpstreamError error = adapter.ParseError(500, Nested(kHostileDepth), "");
    EXPECT_EQ(error.http_status, 500);
    EXPECT_TRUE(absl::StartsWith(error.message, "[[[[")) << error.message.substr(0, 40);
  }
}

TEST(JsonDepthTest, StreamEventsNestedTooDeepEndTheStream) {
  for (const char* format : {"openai", "anthropic"}) {
    std::unique_ptr<StreamParser> parser = AdapterFor(format).NewStreamParser();
    std::vector<StreamEvent> events;
    const std::string event = absl::StrCat("event: message_start\ndata: ", R"({"x":)",
                                           Nested(kHostileDepth), "}\n\n");
    absl::Status st = parser->Feed(event, &events);
    EXPECT_TRUE(TooDeep(st)) << format << ": " << st;
  }
}

// The limit itself: 64 levels are read, 65 are not.
TEST(JsonDepthTest, SixtyFourLevelsAreReadSixtyFiveAreNot) {
  // {"data":[{"id":"m","x":<arrays>}]} is three levels around the arrays.
  auto list = [](int depth) {
    return absl::StrCat(R"({"data":[{"id":"m","x":)", Nested(depth - 3), "}]}");
  };
  absl::StatusOr<std::vector<ModelInfo>> ok = ParseModelListData(list(64));
  ASSERT_TRUE(ok.ok()) << ok.status();
  ASSERT_EQ(ok->size(), 1u);
  EXPECT_EQ((*ok)[0].id, "m");
  EXPECT_TRUE(TooDeep(ParseModelListData(list(65)).status()));
}

class ParseLimitsTest : public ::testing::Test {
 protected:
  void TearDown() override { SetParseLimits(ParseLimits{}); }
};

TEST_F(ParseLimitsTest, TheProcessWideLimitsAreHonoured) {
  ParseLimits limits;
  limits.max_json_depth = 3;
  limits.max_sse_event_bytes = 1024;
  SetParseLimits(limits);

  absl::Status deep = ParseModelListData(R"({"data":[{"id":[["m"]]}]})").status();
  EXPECT_EQ(deep.code(), absl::StatusCode::kResourceExhausted) << deep;
  EXPECT_TRUE(absl::StrContains(deep.message(), "deeper than 3 levels")) << deep;
  EXPECT_TRUE(ParseModelListData(R"({"data":[{"id":"m"}]})").ok());

  // A line that never ends is buffered up to the limit, not beyond.
  std::unique_ptr<StreamParser> parser = AdapterFor("openai").NewStreamParser();
  std::vector<StreamEvent> events;
  absl::Status st = parser->Feed("data: ", &events);
  for (int i = 0; st.ok() && i < 100; ++i) st = parser->Feed(std::string(100, 'a'), &events);
  EXPECT_EQ(st.code(), absl::StatusCode::kResourceExhausted) << st;
  EXPECT_TRUE(events.empty());
}

}  // namespace
}  // namespace aigw::providers
