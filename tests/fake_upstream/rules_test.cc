#include "tools/fake-upstream/rules.h"

#include "gtest/gtest.h"

namespace aigw::fake_upstream {
namespace {

TEST(RulesTest, ParsesEveryField) {
  absl::StatusOr<std::vector<Rule>> rules = ParseRules(R"({
    "api_key": "sk-a", "path": "/v1/messages", "model": "claude", "times": 2,
    "status": 429, "message": "slow down", "error_type": "t", "error_code": "c",
    "retry_after": 3, "delay_ms": 20, "chunk_delay_ms": 5, "drop": true,
    "drop_after_chunks": 4, "omit_usage": true, "content": "hello",
    "usage": {"input_tokens": 10, "output_tokens": 2, "cache_read_input_tokens": 6,
              "cache_creation_input_tokens": 4, "reasoning_tokens": 1}})");
  ASSERT_TRUE(rules.ok()) << rules.status();
  ASSERT_EQ(rules->size(), 1u);
  const Rule& r = rules->front();
  EXPECT_EQ(r.api_key, "sk-a");
  EXPECT_EQ(r.path, "/v1/messages");
  EXPECT_EQ(r.model, "claude");
  EXPECT_EQ(r.times, 2);
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.message, "slow down");
  EXPECT_EQ(r.error_type, "t");
  EXPECT_EQ(r.error_code, "c");
  EXPECT_EQ(r.retry_after_seconds, 3);
  EXPECT_EQ(r.delay, absl::Milliseconds(20));
  EXPECT_EQ(r.chunk_delay, absl::Milliseconds(5));
  EXPECT_TRUE(r.drop);
  EXPECT_EQ(r.drop_after_chunks, 4);
  EXPECT_TRUE(r.omit_usage);
  EXPECT_EQ(r.content, "hello");
  EXPECT_EQ(r.usage.prompt_tokens, 10);
  EXPECT_EQ(r.usage.completion_tokens, 2);
  EXPECT_EQ(r.usage.cached_tokens, 6);
  EXPECT_EQ(r.usage.cache_creation_tokens, 4);
  EXPECT_EQ(r.usage.reasoning_tokens, 1);
}

TEST(RulesTest, AcceptsArraysAndRulesObjectsAndRoundTrips) {
  absl::StatusOr<std::vector<Rule>> rules =
      ParseRules(R"({"rules":[{"status":500},{"delay_ms":7,"usage":{"cached_tokens":3}}]})");
  ASSERT_TRUE(rules.ok()) << rules.status();
  ASSERT_EQ(rules->size(), 2u);
  absl::StatusOr<std::vector<Rule>> again = ParseRules(RulesToJson(*rules));
  ASSERT_TRUE(again.ok()) << again.status();
  ASSERT_EQ(again->size(), 2u);
  EXPECT_EQ((*again)[0].status, 500);
  EXPECT_EQ((*again)[1].delay, absl::Milliseconds(7));
  EXPECT_EQ((*again)[1].usage.cached_tokens, 3);
}

TEST(RulesTest, RejectsTyposAndBadValues) {
  for (const char* bad :
       {R"({"stauts":429})", R"({"status":"429"})", R"({"status":42})", R"({"delay_ms":-1})",
        R"({"usage":{"tokens":1}})", R"([1])", R"({"drop":"yes"})", "{"}) {
    EXPECT_FALSE(ParseRules(bad).ok()) << bad;
  }
}

Rule Make(absl::string_view key, int status, int64_t times = 0) {
  Rule r;
  r.api_key = std::string(key);
  r.status = status;
  r.times = times;
  return r;
}

TEST(RuleBookTest, EmptyBookMatchesNothing) {
  RuleBook book;
  EXPECT_EQ(book.Take("k", "/p", "m"), nullptr);
}

TEST(RuleBookTest, MatchesOnlyTheFieldsItSets) {
  RuleBook book;
  Rule r = Make("sk-a", 401);
  r.path = "/v1/chat/completions";
  book.Add(r);
  EXPECT_EQ(book.Take("sk-b", "/v1/chat/completions", "m"), nullptr);
  EXPECT_EQ(book.Take("sk-a", "/chat/completions", "m"), nullptr);
  auto hit = book.Take("sk-a", "/v1/chat/completions", "any-model");
  ASSERT_NE(hit, nullptr);
  EXPECT_EQ(hit->status, 401);
}

TEST(RuleBookTest, NewestMatchingRuleWins) {
  RuleBook book;
  book.Add(Make("", 500));
  book.Add(Make("sk-a", 429));
  EXPECT_EQ(book.Take("sk-a", "/p", "")->status, 429);
  EXPECT_EQ(book.Take("sk-b", "/p", "")->status, 500);
}

TEST(RuleBookTest, NextNRulesExpireAndUncoverOlderOnes) {
  RuleBook book;
  book.Add(Make("", 503));
  int64_t id = book.Add(Make("", 429, /*times=*/2));
  EXPECT_EQ(book.List().back().times, 2);
  EXPECT_EQ(book.Take("k", "/p", "")->status, 429);
  EXPECT_EQ(book.List().back().times, 1);
  EXPECT_EQ(book.Take("k", "/p", "")->status, 429);
  EXPECT_EQ(book.Take("k", "/p", "")->status, 503);
  EXPECT_EQ(book.List().size(), 1u);
  EXPECT_FALSE(book.Remove(id));
}

TEST(RuleBookTest, RemoveAndClear) {
  RuleBook book;
  int64_t a = book.Add(Make("", 500));
  book.Add(Make("", 501));
  EXPECT_TRUE(book.Remove(a));
  EXPECT_EQ(book.Take("", "", "")->status, 501);
  book.Clear();
  EXPECT_EQ(book.Take("", "", ""), nullptr);
}

}  // namespace
}  // namespace aigw::fake_upstream
