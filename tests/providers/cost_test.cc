#include "libs/providers/cost.h"

#include <limits>

#include "gtest/gtest.h"

namespace aigw::providers {
namespace {

// List prices per 1K tokens in nano-dollars (the seed catalogue's figures).
constexpr ModelPrices kGpt4o{.prompt_per_1k_nanos = 2'500'000,          // $2.50 / 1M
                             .completion_per_1k_nanos = 10'000'000,     // $10 / 1M
                             .cached_prompt_per_1k_nanos = 1'250'000,   // $1.25 / 1M
                             .cache_creation_per_1k_nanos = 0};
constexpr ModelPrices kClaudeSonnet{.prompt_per_1k_nanos = 3'000'000,            // $3 / 1M
                                    .completion_per_1k_nanos = 15'000'000,       // $15 / 1M
                                    .cached_prompt_per_1k_nanos = 300'000,       // $0.30 / 1M
                                    .cache_creation_per_1k_nanos = 3'750'000};   // $3.75 / 1M
constexpr ModelPrices kDeepSeekReasoner{.prompt_per_1k_nanos = 550'000,         // $0.55 / 1M miss
                                        .completion_per_1k_nanos = 2'190'000,   // $2.19 / 1M
                                        .cached_prompt_per_1k_nanos = 140'000,  // $0.14 / 1M hit
                                        .cache_creation_per_1k_nanos = 0};

TEST(CostTest, Gpt4oWithCachedTokens) {
  // 86 uncached * $2.50/M = $0.000215; 1920 cached * $1.25/M = $0.0024;
  // 300 out * $10/M = $0.003. Total $0.005615.
  TokenUsage u{.prompt = 2006, .completion = 300, .total = 2306, .cached_prompt = 1920};
  EXPECT_EQ(CostNanos(u, kGpt4o), 5'615'000);
}

TEST(CostTest, ClaudeWithCacheWritesAndReads) {
  // 50 uncached * $3/M = $0.00015; 1000 written * $3.75/M = $0.00375;
  // 2000 read * $0.30/M = $0.0006; 503 out * $15/M = $0.007545.
  // Total $0.012045.
  TokenUsage u{.prompt = 3050, .completion = 503, .total = 3553, .cached_prompt = 2000,
               .cache_creation = 1000};
  EXPECT_EQ(CostNanos(u, kClaudeSonnet), 12'045'000);
}

TEST(CostTest, DeepSeekReasonerCacheHitAndMiss) {
  // 400 miss * $0.55/M = $0.00022; 600 hit * $0.14/M = $0.000084;
  // 500 out (400 of them reasoning) * $2.19/M = $0.001095. Total $0.001399.
  TokenUsage u{.prompt = 1000, .completion = 500, .total = 1500, .cached_prompt = 600,
               .reasoning = 400};
  EXPECT_EQ(CostNanos(u, kDeepSeekReasoner), 1'399'000);
}

TEST(CostTest, ZeroCachePricesMeanPromptPrice) {
  ModelPrices no_cache_prices = kClaudeSonnet;
  no_cache_prices.cached_prompt_per_1k_nanos = 0;
  no_cache_prices.cache_creation_per_1k_nanos = 0;
  TokenUsage cached{.prompt = 3050, .completion = 503, .cached_prompt = 2000, .cache_creation = 1000};
  TokenUsage plain{.prompt = 3050, .completion = 503};
  // All 3050 prompt tokens at $3/M = $0.00915, plus $0.007545.
  EXPECT_EQ(CostNanos(cached, no_cache_prices), 16'695'000);
  EXPECT_EQ(CostNanos(cached, no_cache_prices), CostNanos(plain, no_cache_prices));
}

TEST(CostTest, OneRoundingHalfUpAtTheEnd) {
  ModelPrices p{.prompt_per_1k_nanos = 1'500, .completion_per_1k_nanos = 1'499};
  // 1 token at 1.5 nanos: exactly half rounds up.
  EXPECT_EQ(CostNanos({.prompt = 1}, p), 2);
  // 1.499 rounds down.
  EXPECT_EQ(CostNanos({.completion = 1}, p), 1);
  // Rounded once on the sum: 0.6 + 0.6 = 1.2 -> 1, where rounding each
  // term would give 1 + 1 = 2.
  ModelPrices q{.prompt_per_1k_nanos = 600, .completion_per_1k_nanos = 600};
  EXPECT_EQ(CostNanos({.prompt = 1, .completion = 1}, q), 1);
  // Sub-nano totals below one half round to zero.
  EXPECT_EQ(CostNanos({.prompt = 1}, ModelPrices{.prompt_per_1k_nanos = 499}), 0);
}

TEST(CostTest, ZeroUsageCostsNothing) {
  EXPECT_EQ(CostNanos(TokenUsage{}, kGpt4o), 0);
  EXPECT_EQ(CostNanos({.prompt = 1000, .completion = 1000}, ModelPrices{}), 0);
}

TEST(CostTest, InconsistentCountsAreClamped) {
  // More cached than prompt: cached tokens are charged as reported, with no
  // negative uncached remainder.
  TokenUsage u{.prompt = 100, .cached_prompt = 150};
  EXPECT_EQ(CostNanos(u, kGpt4o), 187'500);  // 150 * 1.25e6 / 1000
  // Negative counts count as zero.
  EXPECT_EQ(CostNanos({.prompt = -5, .completion = -7}, kGpt4o), 0);
}

TEST(CostTest, HugeValuesDoNotOverflow) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  // 1e12 tokens at $10 / 1K tokens: 1e12 * 1e10 / 1000 = 1e19 nanos, beyond
  // int64: saturates instead of wrapping.
  ModelPrices expensive{.prompt_per_1k_nanos = 10'000'000'000};
  EXPECT_EQ(CostNanos({.prompt = 1'000'000'000'000}, expensive), kMax);
  // Every factor at its maximum.
  ModelPrices max_prices{kMax, kMax, kMax, kMax};
  TokenUsage max_usage{.prompt = kMax, .completion = kMax, .cached_prompt = kMax / 2,
                       .cache_creation = kMax / 2};
  EXPECT_EQ(CostNanos(max_usage, max_prices), kMax);
  // Large but representable: 1e9 tokens at $10/1M = $10,000 = 1e13 nanos.
  EXPECT_EQ(CostNanos({.completion = 1'000'000'000}, kGpt4o), 10'000'000'000'000);
}

}  // namespace
}  // namespace aigw::providers
