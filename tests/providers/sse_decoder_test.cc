#include "libs/providers/sse_decoder.h"

#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gtest/gtest.h"

namespace aigw::providers {
namespace {

std::string Describe(const std::vector<SseEvent>& events) {
  std::string s;
  for (const SseEvent& e : events) {
    absl::StrAppend(&s, "{type=", e.type, " id=", e.id, " data=[", e.data, "]}");
  }
  return s;
}

std::vector<SseEvent> DecodeWhole(absl::string_view stream) {
  SseDecoder decoder;
  std::vector<SseEvent> events;
  EXPECT_TRUE(decoder.Feed(stream, &events).ok());
  return events;
}

std::vector<SseEvent> DecodeBytewise(absl::string_view stream) {
  SseDecoder decoder;
  std::vector<SseEvent> events;
  for (char c : stream) EXPECT_TRUE(decoder.Feed(absl::string_view(&c, 1), &events).ok());
  return events;
}

TEST(SseDecoderTest, DataTypeAndIdFields) {
  std::vector<SseEvent> events =
      DecodeWhole("event: message_start\ndata: {\"a\":1}\nid: 7\n\ndata: second\n\n");
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].type, "message_start");
  EXPECT_EQ(events[0].data, "{\"a\":1}");
  EXPECT_EQ(events[0].id, "7");
  // No event field: the standard's default type. The last ID persists.
  EXPECT_EQ(events[1].type, "message");
  EXPECT_EQ(events[1].data, "second");
  EXPECT_EQ(events[1].id, "7");
}

TEST(SseDecoderTest, MultiLineDataIsJoinedWithNewlines) {
  std::vector<SseEvent> events = DecodeWhole("data: YHOO\ndata: +2\ndata: 10\n\n");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data, "YHOO\n+2\n10");
}

TEST(SseDecoderTest, OnlyOneLeadingSpaceIsStripped) {
  std::vector<SseEvent> events = DecodeWhole("data:no space\n\ndata:  two spaces\n\n");
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].data, "no space");
  EXPECT_EQ(events[1].data, " two spaces");
}

TEST(SseDecoderTest, StandardExampleWithEmptyDataLines) {
  // From the WHATWG spec: "data" alone and "data:" both add an empty line;
  // the first block dispatches "" then the second "\n".
  std::vector<SseEvent> events = DecodeWhole("data\n\ndata\ndata\n\ndata:");
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].data, "");
  EXPECT_EQ(events[1].data, "\n");
}

TEST(SseDecoderTest, CommentsAreSkippedAndCounted) {
  SseDecoder decoder;
  std::vector<SseEvent> events;
  ASSERT_TRUE(decoder.Feed(": keep-alive\n\n: keep-alive\n\ndata: x\n\n:\n", &events).ok());
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data, "x");
  EXPECT_EQ(decoder.comments(), 3);
}

TEST(SseDecoderTest, BlockWithoutDataDispatchesNothingAndResetsType) {
  std::vector<SseEvent> events = DecodeWhole("event: ping\n\ndata: after\n\n");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, "message");
  EXPECT_EQ(events[0].data, "after");
}

TEST(SseDecoderTest, UnterminatedEventAtEndIsNotDispatched) {
  std::vector<SseEvent> events = DecodeWhole("data: complete\n\ndata: cut sho");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data, "complete");
  events = DecodeWhole("data: no blank line\n");
  EXPECT_TRUE(events.empty());
}

TEST(SseDecoderTest, UnknownFieldsAndNoColonLinesAreIgnored) {
  std::vector<SseEvent> events = DecodeWhole("foo: bar\nbogus\ndata: x\n\n");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data, "x");
}

TEST(SseDecoderTest, IdWithNulIsIgnoredAndRetryNeedsDigits) {
  SseDecoder decoder;
  std::vector<SseEvent> events;
  std::string stream = "id: 1\nid: a";
  stream.push_back('\0');
  stream += "b\nretry: 25x\ndata: x\n\n";
  ASSERT_TRUE(decoder.Feed(stream, &events).ok());
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].id, "1");
  EXPECT_FALSE(decoder.retry_ms().has_value());
  ASSERT_TRUE(decoder.Feed("retry: 1500\n", &events).ok());
  EXPECT_EQ(decoder.retry_ms(), 1500);
}

TEST(SseDecoderTest, AllLineEndingsGiveTheSameEvents) {
  const std::string lf = "event: a\ndata: 1\ndata: 2\n\n: c\ndata: 3\n\n";
  const std::string crlf = absl::StrReplaceAll(lf, {{"\n", "\r\n"}});
  const std::string cr = absl::StrReplaceAll(lf, {{"\n", "\r"}});
  const std::string expected = Describe(DecodeWhole(lf));
  EXPECT_EQ(expected, "{type=a id= data=[1\n2]}{type=message id= data=[3]}");
  EXPECT_EQ(Describe(DecodeWhole(crlf)), expected);
  EXPECT_EQ(Describe(DecodeWhole(cr)), expected);
  EXPECT_EQ(Describe(DecodeBytewise(crlf)), expected);
  EXPECT_EQ(Describe(DecodeBytewise(cr)), expected);
}

TEST(SseDecoderTest, CrLfSplitAcrossChunksIsOneLineEnd) {
  // If the '\n' after a chunk-final '\r' were taken as a second line end,
  // it would dispatch the event early, before "data: b".
  SseDecoder decoder;
  std::vector<SseEvent> events;
  ASSERT_TRUE(decoder.Feed("data: a\r", &events).ok());
  ASSERT_TRUE(decoder.Feed("", &events).ok());  // an empty chunk keeps the state
  ASSERT_TRUE(decoder.Feed("\ndata: b\r\n\r\n", &events).ok());
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data, "a\nb");
}

TEST(SseDecoderTest, LeadingBomIsStrippedEvenWhenSplit) {
  const std::string stream = "\xEF\xBB\xBF" "data: x\n\n";
  EXPECT_EQ(Describe(DecodeWhole(stream)), "{type=message id= data=[x]}");
  EXPECT_EQ(Describe(DecodeBytewise(stream)), "{type=message id= data=[x]}");
  // Only at the start: a BOM later is data.
  std::vector<SseEvent> events = DecodeWhole("data: a\n\ndata: \xEF\xBB\xBF" "b\n\n");
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].data, "\xEF\xBB\xBF" "b");
}

TEST(SseDecoderTest, PartialBomIsLineContent) {
  // \xEF not followed by the rest of a BOM belongs to the first line; here
  // it makes the field name "\xEF" "data", which is ignored.
  std::vector<SseEvent> events = DecodeBytewise("\xEF" "data: x\n\ndata: y\n\n");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data, "y");
}

TEST(SseDecoderTest, RandomSplitsMatchWholeFeed) {
  const std::string stream =
      "\xEF\xBB\xBF: hello\r\nevent: e1\r\ndata: {\"x\":\"caf\xC3\xA9\"}\r\nid: 42\r\n\r\n"
      "data: line1\rdata: line2\r\rdata:\n\nretry: 10\nevent: e3\ndata: tail\n\n";
  const std::string expected = Describe(DecodeWhole(stream));
  ASSERT_EQ(expected,
            "{type=e1 id=42 data=[{\"x\":\"caf\xC3\xA9\"}]}{type=message id=42 data=[line1\nline2]}"
            "{type=message id=42 data=[]}{type=e3 id=42 data=[tail]}");
  for (size_t i = 0; i <= stream.size(); ++i) {
    SseDecoder decoder;
    std::vector<SseEvent> events;
    ASSERT_TRUE(decoder.Feed(absl::string_view(stream).substr(0, i), &events).ok());
    ASSERT_TRUE(decoder.Feed(absl::string_view(stream).substr(i), &events).ok());
    ASSERT_EQ(Describe(events), expected) << "split at " << i;
  }
  std::mt19937 rng(7);
  for (int round = 0; round < 300; ++round) {
    SseDecoder decoder;
    std::vector<SseEvent> events;
    size_t pos = 0;
    while (pos < stream.size()) {
      size_t n = std::uniform_int_distribution<size_t>(0, 9)(rng);
      n = std::min(n, stream.size() - pos);
      ASSERT_TRUE(decoder.Feed(absl::string_view(stream).substr(pos, n), &events).ok());
      pos += n;
    }
    ASSERT_EQ(Describe(events), expected) << "round " << round;
  }
}

TEST(SseDecoderTest, CallbackMayParseInPlaceAndStopWithAnError) {
  SseDecoder decoder;
  int calls = 0;
  absl::Status status = decoder.Feed("data: one\n\ndata: two\n\ndata: three\n\n",
                                     [&calls](SseEvent& event) {
                                       ++calls;
                                       event.data[0] = 'X';  // the buffer is ours to scribble on
                                       if (event.data == "Xwo") {
                                         return absl::InternalError("stop here");
                                       }
                                       return absl::OkStatus();
                                     });
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_EQ(calls, 2);
}

TEST(SseDecoderTest, OversizedLineOrEventIsResourceExhausted) {
  {
    SseDecoder decoder(/*max_event_bytes=*/64);
    std::vector<SseEvent> events;
    absl::Status status;
    for (int i = 0; i < 10 && status.ok(); ++i) status = decoder.Feed("data: 0123456789", &events);
    EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  }
  {
    SseDecoder decoder(/*max_event_bytes=*/64);
    std::vector<SseEvent> events;
    absl::Status status;
    for (int i = 0; i < 10 && status.ok(); ++i) status = decoder.Feed("data: 0123456789\n", &events);
    EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  }
  {
    // Within the limit, many events in a row are fine.
    SseDecoder decoder(/*max_event_bytes=*/64);
    std::vector<SseEvent> events;
    for (int i = 0; i < 100; ++i) ASSERT_TRUE(decoder.Feed("data: 0123456789\n\n", &events).ok());
    EXPECT_EQ(events.size(), 100u);
  }
}

}  // namespace
}  // namespace aigw::providers
