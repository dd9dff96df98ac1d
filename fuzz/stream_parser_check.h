#ifndef AIGW_FUZZ_STREAM_PARSER_CHECK_H_
#define AIGW_FUZZ_STREAM_PARSER_CHECK_H_

// The body of the <adapter>_stream fuzzers: an adapter's StreamParser on an
// arbitrary SSE body, whole and split into reads.

#include <cstdlib>
#include <memory>
#include <vector>

#include "absl/strings/string_view.h"
#include "fuzz/split_pieces.h"
#include "libs/providers/adapter.h"

namespace aigw::fuzz {

struct Parsed {
  absl::Status status;
  std::vector<providers::StreamEvent> events;
  bool done = false;
};

inline Parsed ParseStream(const providers::ProviderAdapter& adapter,
                          const std::vector<absl::string_view>& pieces) {
  std::unique_ptr<providers::StreamParser> parser = adapter.NewStreamParser();
  Parsed out;
  for (absl::string_view piece : pieces) {
    out.status = parser->Feed(piece, &out.events);
    if (!out.status.ok()) break;  // never fed again after an error
  }
  out.done = parser->done();
  return out;
}

inline bool SameEvent(const providers::StreamEvent& a, const providers::StreamEvent& b) {
  return a.kind == b.kind && a.delta_content == b.delta_content &&
         a.delta_reasoning == b.delta_reasoning && a.finish_reason == b.finish_reason &&
         a.usage == b.usage && a.error.http_status == b.error.http_status &&
         a.error.type == b.error.type && a.error.message == b.error.message &&
         a.error.code == b.error.code && a.id == b.id && a.model == b.model;
}

// No crash; events are what StreamEvent promises (a delta carries text); the
// outcome (status, events, done) does not depend on how the body is split.
inline void CheckStreamParser(const providers::ProviderAdapter& adapter, absl::string_view body) {
  const Parsed whole = ParseStream(adapter, {body});
  const Parsed split = ParseStream(adapter, SplitPieces(body));
  for (const providers::StreamEvent& e : whole.events) {
    if (e.kind == providers::StreamEvent::Kind::kDelta && e.delta_content.empty() &&
        e.delta_reasoning.empty()) {
      abort();
    }
  }
  if (whole.status.code() != split.status.code()) abort();
  if (!whole.status.ok()) return;  // events before the error may differ by split
  if (whole.done != split.done || whole.events.size() != split.events.size()) abort();
  for (size_t i = 0; i < whole.events.size(); ++i) {
    if (!SameEvent(whole.events[i], split.events[i])) abort();
  }
}

}  // namespace aigw::fuzz

#endif  // AIGW_FUZZ_STREAM_PARSER_CHECK_H_
