#ifndef AIGW_LIBS_PROVIDERS_COST_H_
#define AIGW_LIBS_PROVIDERS_COST_H_

#include <cstdint>

#include "libs/providers/chat_types.h"

namespace aigw::providers {

// A model's list prices in integer nano-dollars (1e-9 USD) per 1,000 tokens,
// as stored in t_ai_models (DECIMAL(20,9) per 1K tokens).
//
// A cached_prompt or cache_creation price of 0 means "not priced
// separately": those tokens are charged at the prompt price. (A provider
// that really gave cache hits away would need a price of 1 nano per 1K,
// which is 1e-12 USD a token and rounds away.)
struct ModelPrices {
  int64_t prompt_per_1k_nanos = 0;
  int64_t completion_per_1k_nanos = 0;
  int64_t cached_prompt_per_1k_nanos = 0;   // cache reads / hits
  int64_t cache_creation_per_1k_nanos = 0;  // cache writes (Anthropic)
};

// The exact cost of one call in nano-dollars, cache-aware:
//
//   ( (prompt - cached_prompt - cache_creation) * prompt_price
//   + cached_prompt  * cached_price
//   + cache_creation * cache_creation_price
//   + completion     * completion_price ) / 1000
//
// on normalised usage (cached and cache-creation tokens are part of prompt;
// reasoning tokens are part of completion and priced as completion). The sum
// is formed in 128-bit integers and rounded once, half up, at the end.
// Negative counts or prices count as 0; cached + cache_creation beyond
// prompt are charged as reported, with no uncached remainder; a result
// beyond int64 saturates.
int64_t CostNanos(const TokenUsage& usage, const ModelPrices& prices);

}  // namespace aigw::providers

#endif  // AIGW_LIBS_PROVIDERS_COST_H_
