#ifndef AIGW_TESTS_PROVIDERS_STREAM_TEST_UTIL_H_
#define AIGW_TESTS_PROVIDERS_STREAM_TEST_UTIL_H_

#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "gtest/gtest.h"
#include "libs/providers/adapter.h"

namespace aigw::providers::testing {

// A one-line rendering of an event, so that event sequences compare with
// readable failure messages.
inline std::string Describe(const StreamEvent& e) {
  std::string s;
  switch (e.kind) {
    case StreamEvent::Kind::kDelta:
      s = absl::StrCat("delta content=[", e.delta_content, "] reasoning=[", e.delta_reasoning, "]");
      break;
    case StreamEvent::Kind::kUsage:
      s = absl::StrCat("usage p=", e.usage.prompt, " c=", e.usage.completion, " t=", e.usage.total,
                       " cached=", e.usage.cached_prompt, " creation=", e.usage.cache_creation,
                       " reasoning=", e.usage.reasoning);
      break;
    case StreamEvent::Kind::kFinish:
      s = absl::StrCat("finish ", e.finish_reason);
      break;
    case StreamEvent::Kind::kError:
      s = absl::StrCat("error ", e.error.http_status, " ", e.error.type, " ", e.error.code, " [",
                       e.error.message, "]");
      break;
    case StreamEvent::Kind::kDone:
      s = "done";
      break;
    case StreamEvent::Kind::kToolCall:
      s = absl::StrCat("tool_call ", e.tool_call.index, " id=[", e.tool_call.id, "] name=[",
                       e.tool_call.name, "] args=[", e.tool_call.arguments_delta, "]");
      break;
  }
  if (!e.id.empty()) absl::StrAppend(&s, " id=", e.id);
  if (!e.model.empty()) absl::StrAppend(&s, " model=", e.model);
  return s;
}

// Feeds `pieces` in order to a fresh parser; fails the test on a bad status.
inline std::vector<std::string> FeedPieces(const ProviderAdapter& adapter,
                                           const std::vector<absl::string_view>& pieces,
                                           bool* done = nullptr) {
  std::unique_ptr<StreamParser> parser = adapter.NewStreamParser();
  std::vector<StreamEvent> events;
  for (absl::string_view piece : pieces) {
    absl::Status status = parser->Feed(piece, &events);
    EXPECT_TRUE(status.ok()) << status;
  }
  if (done != nullptr) *done = parser->done();
  std::vector<std::string> out;
  out.reserve(events.size());
  for (const StreamEvent& e : events) out.push_back(Describe(e));
  return out;
}

inline std::vector<std::string> FeedWhole(const ProviderAdapter& adapter, absl::string_view body,
                                          bool* done = nullptr) {
  return FeedPieces(adapter, {body}, done);
}

inline std::vector<std::string> FeedBytewise(const ProviderAdapter& adapter,
                                             absl::string_view body) {
  std::vector<absl::string_view> pieces;
  for (size_t i = 0; i < body.size(); ++i) pieces.push_back(body.substr(i, 1));
  return FeedPieces(adapter, pieces);
}

inline std::vector<absl::string_view> RandomPieces(absl::string_view body, std::mt19937* rng,
                                                   size_t max_piece) {
  std::uniform_int_distribution<size_t> size(0, max_piece);  // 0: an empty Feed
  std::vector<absl::string_view> pieces;
  size_t pos = 0;
  while (pos < body.size()) {
    size_t n = std::min(size(*rng), body.size() - pos);
    pieces.push_back(body.substr(pos, n));
    pos += n;
  }
  return pieces;
}

// Checks that every way of splitting `body` gives the same events as feeding
// it whole: every single split point, one byte at a time, and random chunks.
inline void ExpectSplitInvariant(const ProviderAdapter& adapter, absl::string_view body) {
  const std::vector<std::string> whole = FeedWhole(adapter, body);
  ASSERT_FALSE(whole.empty());
  for (size_t i = 0; i <= body.size(); ++i) {
    ASSERT_EQ(FeedPieces(adapter, {body.substr(0, i), body.substr(i)}), whole)
        << "split at byte " << i;
  }
  ASSERT_EQ(FeedBytewise(adapter, body), whole) << "one byte at a time";
  std::mt19937 rng(20240611);
  for (int round = 0; round < 200; ++round) {
    std::vector<absl::string_view> pieces = RandomPieces(body, &rng, 1 + round % 97);
    ASSERT_EQ(FeedPieces(adapter, pieces), whole) << "random round " << round;
  }
}

}  // namespace aigw::providers::testing

#endif  // AIGW_TESTS_PROVIDERS_STREAM_TEST_UTIL_H_
