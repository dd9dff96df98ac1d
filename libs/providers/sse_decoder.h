#ifndef AIGW_LIBS_PROVIDERS_SSE_DECODER_H_
#define AIGW_LIBS_PROVIDERS_SSE_DECODER_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace aigw::providers {

// One dispatched Server-Sent Event.
struct SseEvent {
  std::string type;  // the `event:` field; "message" when none was given
  std::string data;  // `data:` lines joined with '\n'
  std::string id;    // the last event ID seen so far in the stream
};

// Incremental decoder for the text/event-stream format as the WHATWG HTML
// standard specifies it (section "Interpreting an event stream"): bytes may
// arrive split anywhere, lines end in "\r\n", "\n" or "\r", a leading UTF-8
// BOM is dropped, ':' lines are comments, a blank line dispatches the event
// being built, and an event still unterminated when the stream ends is never
// dispatched (so a truncated upstream stream cannot yield a half event).
//
// Not thread-safe; one decoder per response.
class SseDecoder {
 public:
  // Limits the bytes buffered for one line or one event's data, so that a
  // misbehaving upstream cannot make the gateway buffer without bound.
  static constexpr size_t kDefaultMaxEventBytes = 8 << 20;

  explicit SseDecoder(size_t max_event_bytes = kDefaultMaxEventBytes)
      : max_event_bytes_(max_event_bytes) {}

  // Feeds the next bytes and calls `on_event` for each event they complete.
  // The event is the decoder's own buffer, handed out mutable so that the
  // callee may parse its data in place (rapidjson in-situ); it is reset after
  // the callback returns. A non-OK status from the callback stops decoding
  // and is returned; the decoder must not be fed again after any error.
  // Exceeding the size limit gives RESOURCE_EXHAUSTED.
  absl::Status Feed(absl::string_view bytes,
                    absl::FunctionRef<absl::Status(SseEvent&)> on_event);

  // Convenience form that appends copies of the completed events to `out`.
  absl::Status Feed(absl::string_view bytes, std::vector<SseEvent>* out);

  // The latest `retry:` value, in milliseconds, if the stream sent one.
  std::optional<int64_t> retry_ms() const { return retry_ms_; }
  // Comment lines seen (e.g. DeepSeek's ": keep-alive"); for diagnostics.
  int64_t comments() const { return comments_; }

 private:
  absl::Status ProcessLine(absl::string_view line,
                           absl::FunctionRef<absl::Status(SseEvent&)> on_event);

  const size_t max_event_bytes_;
  std::string line_;       // a line split across Feed calls
  SseEvent event_;         // the event being built
  std::string last_id_;    // persists across events, per the standard
  bool has_data_ = false;  // the data buffer is non-empty (may be just "\n")
  bool skip_lf_ = false;   // the previous chunk ended in '\r'
  int bom_bytes_ = 0;      // BOM bytes matched so far; -1 once past the start
  int64_t comments_ = 0;
  std::optional<int64_t> retry_ms_;
};

}  // namespace aigw::providers

#endif  // AIGW_LIBS_PROVIDERS_SSE_DECODER_H_
