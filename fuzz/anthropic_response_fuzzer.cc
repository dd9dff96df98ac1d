// AnthropicAdapter's ParseResponse and ParseModelList on an arbitrary body (see
// unary_parser_check.h for what is checked).

#include <cstddef>
#include <cstdint>

#include "fuzz/unary_parser_check.h"
#include "libs/providers/anthropic_adapter.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const aigw::providers::AnthropicAdapter adapter;
  aigw::fuzz::CheckUnaryParsers(
      adapter, absl::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
