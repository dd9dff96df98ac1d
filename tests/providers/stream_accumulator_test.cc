#include "libs/providers/stream_accumulator.h"

#include "gtest/gtest.h"

namespace aigw::providers {
namespace {

StreamEvent Event(StreamEvent::Kind kind) {
  StreamEvent e;
  e.kind = kind;
  return e;
}

StreamEvent Delta(absl::string_view content, absl::string_view reasoning = "") {
  StreamEvent e = Event(StreamEvent::Kind::kDelta);
  e.delta_content = std::string(content);
  e.delta_reasoning = std::string(reasoning);
  return e;
}

TEST(StreamAccumulatorTest, FoldsAStreamIntoItsCompletion) {
  StreamAccumulator acc;
  StreamEvent first = Delta("", "think ");
  first.id = "chatcmpl-1";
  first.model = "gpt-4o";
  acc.Add(first);
  acc.Add(Delta("Hel", "more"));
  StreamEvent late = Delta("lo");
  late.id = "chatcmpl-2";  // the first id and model stay
  late.model = "other";
  acc.Add(late);
  StreamEvent finish = Event(StreamEvent::Kind::kFinish);
  finish.finish_reason = "stop";
  acc.Add(finish);
  StreamEvent usage = Event(StreamEvent::Kind::kUsage);
  usage.usage = {.prompt = 5, .completion = 2, .total = 7};
  acc.Add(usage);
  usage.usage = {.prompt = 5, .completion = 3, .total = 8};  // the latest wins
  acc.Add(usage);
  EXPECT_FALSE(acc.done());
  acc.Add(Event(StreamEvent::Kind::kDone));

  EXPECT_TRUE(acc.done());
  EXPECT_EQ(acc.deltas(), 3);
  EXPECT_FALSE(acc.error().has_value());
  const Completion& c = acc.completion();
  EXPECT_EQ(c.id, "chatcmpl-1");
  EXPECT_EQ(c.model, "gpt-4o");
  EXPECT_EQ(c.content, "Hello");
  EXPECT_EQ(c.reasoning_content, "think more");
  EXPECT_EQ(c.finish_reason, "stop");
  EXPECT_TRUE(c.has_usage);
  EXPECT_EQ(c.usage, (TokenUsage{.prompt = 5, .completion = 3, .total = 8}));
  EXPECT_EQ(acc.Take().content, "Hello");
}

TEST(StreamAccumulatorTest, KeepsTheFirstErrorAndNoUsageWhenNoneCame) {
  StreamAccumulator acc;
  StreamEvent overloaded = Event(StreamEvent::Kind::kError);
  overloaded.error.http_status = 529;
  overloaded.error.type = "overloaded_error";
  acc.Add(overloaded);
  StreamEvent second = Event(StreamEvent::Kind::kError);
  second.error.type = "api_error";
  acc.Add(second);
  ASSERT_TRUE(acc.error().has_value());
  EXPECT_EQ(acc.error()->type, "overloaded_error");
  EXPECT_EQ(acc.error()->http_status, 529);
  EXPECT_FALSE(acc.completion().has_usage);
  EXPECT_EQ(acc.deltas(), 0);
}

}  // namespace
}  // namespace aigw::providers
