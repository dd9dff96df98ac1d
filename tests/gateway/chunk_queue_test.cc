#include "services/gateway/chunk_queue.h"

#include <string>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace aigw::gateway {
namespace {

using aigw::v1::ChatCompletionChunk;

ChatCompletionChunk Delta(const std::string& content, const std::string& reasoning = "") {
  ChatCompletionChunk c;
  c.set_id("chatcmpl-1");
  c.set_delta_content(content);
  c.set_delta_reasoning_content(reasoning);
  return c;
}

TEST(ChunkQueueTest, TheFrontIsWrittenAtOnceAndDoesNotWait) {
  ChunkQueue q(/*max_waiting_bytes=*/4);
  ASSERT_TRUE(q.Push(Delta("far more than four bytes"), false).ok());
  EXPECT_EQ(q.size(), 1u);
  EXPECT_EQ(q.waiting_bytes(), 0);
}

// A burst during one write waits as one chunk: its cost is its content.
TEST(ChunkQueueTest, ABurstBehindTheFrontWaitsAsOneChunkInOrder) {
  ChunkQueue q(0);
  ChatCompletionChunk first = Delta("Hello");
  first.set_model("gpt-4o-mini");
  ASSERT_TRUE(q.Push(first, false).ok());
  std::string expected;
  for (int i = 0; i < 1000; ++i) {
    const std::string piece = " w" + std::to_string(i);
    expected += piece;
    ASSERT_TRUE(q.Push(Delta(piece), false).ok());
  }
  ASSERT_EQ(q.size(), 2u);
  EXPECT_EQ(q.waiting_bytes(), static_cast<int64_t>(expected.size()));
  EXPECT_EQ(q.front().model(), "gpt-4o-mini");
  q.PopFront();
  EXPECT_EQ(q.front().delta_content(), expected);
  EXPECT_EQ(q.front().id(), "chatcmpl-1");
  EXPECT_EQ(q.waiting_bytes(), 0);
}

TEST(ChunkQueueTest, OnlyPlainDeltasAreJoinedAndReasoningNeverAfterContent) {
  ChunkQueue q(0);
  ASSERT_TRUE(q.Push(Delta("front"), false).ok());
  ASSERT_TRUE(q.Push(Delta("", "think "), false).ok());
  ASSERT_TRUE(q.Push(Delta("", "more"), false).ok());
  ASSERT_TRUE(q.Push(Delta("answer"), false).ok());   // joined: after the reasoning
  ASSERT_TRUE(q.Push(Delta("", "again"), false).ok());  // not joined: reasoning after content
  ChatCompletionChunk last;
  last.set_id("chatcmpl-1");
  last.set_finish_reason("stop");
  last.mutable_usage()->set_total_tokens(9);
  ASSERT_TRUE(q.Push(last, true).ok());
  ASSERT_TRUE(q.Push(Delta("after"), false).ok());  // not joined into the usage chunk
  ASSERT_EQ(q.size(), 5u);
  q.PopFront();
  EXPECT_EQ(q.front().delta_reasoning_content(), "think more");
  EXPECT_EQ(q.front().delta_content(), "answer");
  q.PopFront();
  EXPECT_EQ(q.front().delta_reasoning_content(), "again");
  q.PopFront();
  EXPECT_EQ(q.front().finish_reason(), "stop");
  EXPECT_TRUE(q.front().delta_content().empty());
}

TEST(ChunkQueueTest, ContentOverTheLimitEndsTheStreamButTheLastChunkIsTaken) {
  ChunkQueue q(/*max_waiting_bytes=*/10);
  ASSERT_TRUE(q.Push(Delta("being written"), false).ok());
  ASSERT_TRUE(q.Push(Delta("123456"), false).ok());
  ASSERT_TRUE(q.Push(Delta("7890"), false).ok());  // exactly the limit
  absl::Status over = q.Push(Delta("x"), false);
  EXPECT_EQ(over.code(), absl::StatusCode::kResourceExhausted) << over;
  EXPECT_TRUE(absl::StrContains(over.message(), "the client is not reading the stream: 10 bytes"))
      << over;
  // What waited is dropped; the chunk being written stays until done.
  ASSERT_EQ(q.size(), 1u);
  EXPECT_EQ(q.front().delta_content(), "being written");
  EXPECT_EQ(q.waiting_bytes(), 0);

  ASSERT_TRUE(q.Push(Delta("0123456789"), false).ok());
  ChatCompletionChunk last = Delta("the last words");
  last.set_finish_reason("stop");
  EXPECT_TRUE(q.Push(last, /*last=*/true).ok());
  EXPECT_EQ(q.size(), 3u);
}

}  // namespace
}  // namespace aigw::gateway
