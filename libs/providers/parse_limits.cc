#include "libs/providers/parse_limits.h"

#include <atomic>

namespace aigw::providers {
namespace {

std::atomic<int> max_json_depth{ParseLimits{}.max_json_depth};
std::atomic<size_t> max_sse_event_bytes{ParseLimits{}.max_sse_event_bytes};

}  // namespace

void SetParseLimits(const ParseLimits& limits) {
  max_json_depth.store(limits.max_json_depth, std::memory_order_relaxed);
  max_sse_event_bytes.store(limits.max_sse_event_bytes, std::memory_order_relaxed);
}

ParseLimits CurrentParseLimits() {
  return ParseLimits{max_json_depth.load(std::memory_order_relaxed),
                     max_sse_event_bytes.load(std::memory_order_relaxed)};
}

}  // namespace aigw::providers
