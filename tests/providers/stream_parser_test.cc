#include "libs/providers/stream_parser.h"

#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"

namespace aigw::providers {
namespace {

// The plumbing under a toy protocol: each event's data is
// "id|model|text", or "end"; "fail" is an error from OnEvent.
class ToyParser final : public SseStreamParser {
 protected:
  absl::Status OnEvent(SseEvent& event, std::vector<StreamEvent>* out) override {
    if (event.data == "end") {
      set_done();
      Emit(StreamEvent::Kind::kDone, out);
      return absl::OkStatus();
    }
    if (event.data == "fail") return absl::InternalError("toy: bad event");
    std::vector<std::string> parts = absl::StrSplit(event.data, '|');
    if (parts.size() != 3) return absl::InternalError("toy: three parts wanted");
    SeeIdentity(parts[0], parts[1]);
    Emit(StreamEvent::Kind::kDelta, out).delta_content = parts[2];
    return absl::OkStatus();
  }
};

std::vector<StreamEvent> FeedAll(StreamParser& parser, absl::string_view bytes,
                                 size_t piece = 0) {
  std::vector<StreamEvent> out;
  if (piece == 0) piece = bytes.size();
  for (size_t i = 0; i < bytes.size(); i += piece) {
    EXPECT_TRUE(parser.Feed(bytes.substr(i, piece), &out).ok());
  }
  return out;
}

constexpr absl::string_view kStream =
    "data: c1|m1|Hel\n\n"
    "data: c2|m2|lo\n\n"
    ": a comment\n\n"
    "data: |m1|!\n\n"
    "data: end\n\n";

TEST(SseStreamParserTest, IdAndModelRideOnTheFirstEventAfterTheyAreSeen) {
  ToyParser parser;
  std::vector<StreamEvent> events = FeedAll(parser, kStream);
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[0].id, "c1");
  EXPECT_EQ(events[0].model, "m1");
  EXPECT_EQ(events[0].delta_content, "Hel");
  // Later values do not replace the first ones, and are not repeated.
  for (size_t i = 1; i < events.size(); ++i) {
    EXPECT_EQ(events[i].id, "") << i;
    EXPECT_EQ(events[i].model, "") << i;
  }
  EXPECT_EQ(events[3].kind, StreamEvent::Kind::kDone);
  EXPECT_TRUE(parser.done());
}

TEST(SseStreamParserTest, EventsDoNotDependOnHowTheBytesWereSplit) {
  ToyParser whole;
  const std::vector<StreamEvent> expected = FeedAll(whole, kStream);
  for (size_t piece : {1u, 2u, 3u, 7u}) {
    ToyParser parser;
    std::vector<StreamEvent> events = FeedAll(parser, kStream, piece);
    ASSERT_EQ(events.size(), expected.size()) << piece;
    for (size_t i = 0; i < events.size(); ++i) {
      EXPECT_EQ(events[i].kind, expected[i].kind);
      EXPECT_EQ(events[i].delta_content, expected[i].delta_content);
      EXPECT_EQ(events[i].id, expected[i].id);
    }
  }
}

TEST(SseStreamParserTest, AStreamCutBeforeItsEndIsNotDone) {
  ToyParser parser;
  FeedAll(parser, "data: c1|m1|Hel\n\ndata: en");
  EXPECT_FALSE(parser.done());
}

TEST(SseStreamParserTest, AnErrorFromAnEventIsFeedsError) {
  ToyParser parser;
  std::vector<StreamEvent> out;
  EXPECT_EQ(parser.Feed("data: c1|m1|a\n\ndata: fail\n\n", &out),
            absl::InternalError("toy: bad event"));
  EXPECT_EQ(out.size(), 1u);
}

}  // namespace
}  // namespace aigw::providers
