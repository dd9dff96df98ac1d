#ifndef AIGW_FUZZ_UNARY_PARSER_CHECK_H_
#define AIGW_FUZZ_UNARY_PARSER_CHECK_H_

// The body of the <adapter>_response fuzzers: an adapter's parsers of whole
// (non-streamed) bodies on arbitrary bytes.

#include <cstdlib>

#include "absl/strings/string_view.h"
#include "libs/providers/adapter.h"

namespace aigw::fuzz {

// No crash; a parsed completion's counts are never negative (they are
// charged); a parsed model list has no entry without an id.
inline void CheckUnaryParsers(const providers::ProviderAdapter& adapter, absl::string_view body) {
  absl::StatusOr<providers::Completion> completion = adapter.ParseResponse(body);
  if (completion.ok()) {
    const providers::TokenUsage& u = completion->usage;
    if (u.prompt < 0 || u.completion < 0 || u.total < 0 || u.cached_prompt < 0 ||
        u.cache_creation < 0 || u.reasoning < 0) {
      abort();
    }
  }
  absl::StatusOr<std::vector<providers::ModelInfo>> models = adapter.ParseModelList(body);
  if (models.ok()) {
    for (const providers::ModelInfo& m : *models) {
      if (m.id.empty()) abort();
    }
  }
}

}  // namespace aigw::fuzz

#endif  // AIGW_FUZZ_UNARY_PARSER_CHECK_H_
