// OpenAiAdapter's stream parser on an arbitrary SSE body (see
// stream_parser_check.h for what is checked).

#include <cstddef>
#include <cstdint>

#include "fuzz/stream_parser_check.h"
#include "libs/providers/openai_adapter.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const aigw::providers::OpenAiAdapter adapter;
  aigw::fuzz::CheckStreamParser(
      adapter, absl::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
