#ifndef AIGW_LIBS_PROVIDERS_STREAM_ACCUMULATOR_H_
#define AIGW_LIBS_PROVIDERS_STREAM_ACCUMULATOR_H_

#include <cstdint>
#include <optional>
#include <utility>

#include "libs/providers/chat_types.h"
#include "libs/providers/stream_parser.h"

namespace aigw::providers {

// Folds a stream's events into the Completion it amounts to: text and
// reasoning concatenated, tool calls assembled from their pieces, the first
// id / model, the last finish_reason and usage. Used for the call log of a streamed call and for callers that want
// one answer out of a stream.
class StreamAccumulator {
 public:
  void Add(const StreamEvent& event);

  const Completion& completion() const { return completion_; }
  Completion Take() { return std::move(completion_); }
  // The end marker arrived.
  bool done() const { return done_; }
  // The first in-stream error, if any.
  const std::optional<UpstreamError>& error() const { return error_; }
  // Delta events seen (time-to-first-token is taken at the first).
  int64_t deltas() const { return deltas_; }

 private:
  void AddToolCall(const ToolCallDelta& delta);

  Completion completion_;
  std::optional<UpstreamError> error_;
  bool done_ = false;
  int64_t deltas_ = 0;
};

}  // namespace aigw::providers

#endif  // AIGW_LIBS_PROVIDERS_STREAM_ACCUMULATOR_H_
