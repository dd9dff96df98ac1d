#ifndef AIGW_LIBS_PROVIDERS_STREAM_PARSER_H_
#define AIGW_LIBS_PROVIDERS_STREAM_PARSER_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "libs/providers/chat_types.h"
#include "libs/providers/parse_limits.h"
#include "libs/providers/sse_decoder.h"

namespace aigw::providers {

// One provider-neutral step of a streamed completion.
struct StreamEvent {
  enum class Kind {
    kDelta,   // delta_content and/or delta_reasoning (never both empty)
    kUsage,   // usage: the stream's token counts, normalised; the latest wins
    kFinish,  // finish_reason, in the OpenAI vocabulary
    kError,   // error: the upstream reported a failure inside the stream
    kDone,    // the upstream's end marker ([DONE] or message_stop)
    kToolCall,  // tool_call: a piece of a tool call
  };
  Kind kind = Kind::kDelta;
  std::string delta_content;
  std::string delta_reasoning;
  std::string finish_reason;
  TokenUsage usage;
  UpstreamError error;
  ToolCallDelta tool_call;
  // The upstream's completion id and model, on the first event emitted after
  // the stream revealed them (empty on every later event).
  std::string id;
  std::string model;
};

// Turns a provider's SSE response body, fed in arbitrary pieces, into
// StreamEvents. The events for a byte sequence do not depend on how it was
// split. Not thread-safe; one parser per response.
class StreamParser {
 public:
  virtual ~StreamParser() = default;

  // Appends the events completed by `bytes` to `out`. An error is INTERNAL
  // (malformed JSON in an event) or RESOURCE_EXHAUSTED (an event over
  // ParseLimits::max_sse_event_bytes, JSON nested too deep); the parser must
  // not be fed again after one.
  virtual absl::Status Feed(absl::string_view bytes, std::vector<StreamEvent>* out) = 0;

  // True once the end marker arrived. A body that ends before this was cut
  // short (the final usage may be missing).
  virtual bool done() const = 0;
};

// Shared plumbing of the SSE-based parsers: decoding, and attaching the
// id / model to the first event after they are seen.
class SseStreamParser : public StreamParser {
 public:
  absl::Status Feed(absl::string_view bytes, std::vector<StreamEvent>* out) final;
  bool done() const final { return done_; }

 protected:
  // Handles one SSE event. `event.data` may be parsed in place.
  virtual absl::Status OnEvent(SseEvent& event, std::vector<StreamEvent>* out) = 0;

  StreamEvent& Emit(StreamEvent::Kind kind, std::vector<StreamEvent>* out);
  // Records the id / model for the next Emit, the first time they are seen.
  void SeeIdentity(absl::string_view id, absl::string_view model);
  void set_done() { done_ = true; }

 private:
  SseDecoder decoder_{CurrentParseLimits().max_sse_event_bytes};
  std::string pending_id_;
  std::string pending_model_;
  bool id_seen_ = false;
  bool model_seen_ = false;
  bool done_ = false;
};

}  // namespace aigw::providers

#endif  // AIGW_LIBS_PROVIDERS_STREAM_PARSER_H_
