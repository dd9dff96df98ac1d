// SseDecoder on arbitrary bytes: no crash, no event over the size limit, and
// the same events however the bytes are split into reads.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "absl/strings/string_view.h"
#include "fuzz/split_pieces.h"
#include "libs/providers/sse_decoder.h"

namespace {

using aigw::providers::SseDecoder;
using aigw::providers::SseEvent;

struct Decoded {
  absl::Status status;
  std::vector<SseEvent> events;
  std::optional<int64_t> retry_ms;
  int64_t comments = 0;
};

Decoded Decode(const std::vector<absl::string_view>& pieces, size_t limit) {
  SseDecoder decoder(limit);
  Decoded out;
  for (absl::string_view piece : pieces) {
    out.status = decoder.Feed(piece, [&](SseEvent& event) {
      if (event.data.size() > limit) abort();  // the limit must hold for what is handed out
      out.events.push_back(event);
      return absl::OkStatus();
    });
    if (!out.status.ok()) break;
  }
  out.retry_ms = decoder.retry_ms();
  out.comments = decoder.comments();
  return out;
}

bool SameEvents(const std::vector<SseEvent>& a, const std::vector<SseEvent>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].type != b[i].type || a[i].data != b[i].data || a[i].id != b[i].id) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view body(reinterpret_cast<const char*>(data), size);
  // A limit the input can reach (so the RESOURCE_EXHAUSTED paths run), and
  // the default one.
  for (size_t limit : {size_t{64}, SseDecoder::kDefaultMaxEventBytes}) {
    const Decoded whole = Decode({body}, limit);
    const Decoded split = Decode(aigw::fuzz::SplitPieces(body), limit);
    if (whole.status.ok() && split.status.ok()) {
      if (!SameEvents(whole.events, split.events)) abort();
      if (whole.retry_ms != split.retry_ms || whole.comments != split.comments) abort();
    }
    // Under the default limit nothing in a fuzz input is too large, so the
    // split must not change the outcome either.
    if (limit == SseDecoder::kDefaultMaxEventBytes && whole.status.ok() != split.status.ok()) {
      abort();
    }
  }
  return 0;
}
