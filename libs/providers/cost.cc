#include "libs/providers/cost.h"

#include <limits>

namespace aigw::providers {
namespace {

// Unsigned: four products of two values below 2^63 each stay below 2^128.
using Int128 = unsigned __int128;

Int128 NonNegative(int64_t v) { return v < 0 ? 0 : static_cast<Int128>(v); }

Int128 Price(int64_t special, Int128 fallback) {
  return special > 0 ? static_cast<Int128>(special) : fallback;
}

}  // namespace

int64_t CostNanos(const TokenUsage& usage, const ModelPrices& prices) {
  const Int128 prompt_price = NonNegative(prices.prompt_per_1k_nanos);
  const Int128 cached_price = Price(prices.cached_prompt_per_1k_nanos, prompt_price);
  const Int128 creation_price = Price(prices.cache_creation_per_1k_nanos, prompt_price);
  const Int128 completion_price = NonNegative(prices.completion_per_1k_nanos);

  const Int128 cached = NonNegative(usage.cached_prompt);
  const Int128 creation = NonNegative(usage.cache_creation);
  const Int128 prompt = NonNegative(usage.prompt);
  const Int128 uncached = prompt > cached + creation ? prompt - cached - creation : 0;
  const Int128 completion = NonNegative(usage.completion);

  const Int128 thousandths = uncached * prompt_price + cached * cached_price +
                             creation * creation_price + completion * completion_price;
  const Int128 nanos = (thousandths + 500) / 1000;  // half up; never negative
  constexpr Int128 kMax = std::numeric_limits<int64_t>::max();
  return static_cast<int64_t>(nanos > kMax ? kMax : nanos);
}

}  // namespace aigw::providers
