#ifndef AIGW_LIBS_PROVIDERS_PARSE_LIMITS_H_
#define AIGW_LIBS_PROVIDERS_PARSE_LIMITS_H_

#include <cstddef>

namespace aigw::providers {

// What the parsers accept from an upstream. Process-wide: a service sets it
// once at startup from its flags, before any call; every parse reads it.
struct ParseLimits {
  // JSON nested deeper than this is refused (RESOURCE_EXHAUSTED). rapidjson
  // descends one stack frame per level, so a body of a few MB of '[' would
  // otherwise overflow the thread's stack; real answers nest less than 10.
  int max_json_depth = 64;
  // One server-sent event (a line of it included): a longer one is refused
  // (RESOURCE_EXHAUSTED) instead of buffered.
  size_t max_sse_event_bytes = 8 << 20;
};

void SetParseLimits(const ParseLimits& limits);
ParseLimits CurrentParseLimits();

}  // namespace aigw::providers

#endif  // AIGW_LIBS_PROVIDERS_PARSE_LIMITS_H_
