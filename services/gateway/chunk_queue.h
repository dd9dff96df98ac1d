#ifndef AIGW_SERVICES_GATEWAY_CHUNK_QUEUE_H_
#define AIGW_SERVICES_GATEWAY_CHUNK_QUEUE_H_

#include <cstdint>
#include <deque>

#include "absl/status/status.h"
#include "aigw/v1/chat.pb.h"

namespace aigw::gateway {

// The chunks of one stream on their way to its client: the front is being
// written, the rest wait behind it. What waits is bounded in bytes of
// content, so a client that does not read costs a bounded amount of memory;
// and a burst that arrives during one write waits as one chunk (consecutive
// plain deltas are joined, order and content kept), so its cost is its
// content, not a chunk object per token, and a fast upstream is not
// mistaken for a slow client. Not thread-safe.
class ChunkQueue {
 public:
  // `max_waiting_bytes`: content bytes allowed behind the front; 0: no limit.
  explicit ChunkQueue(int64_t max_waiting_bytes) : max_waiting_bytes_(max_waiting_bytes) {}

  // Adds `chunk` at the back. RESOURCE_EXHAUSTED when its content would put
  // more than the limit behind the front: the chunk is dropped, and so is
  // every waiting one (the stream is over). The `last` chunk (usage and
  // cost) is always taken.
  absl::Status Push(aigw::v1::ChatCompletionChunk chunk, bool last);

  bool empty() const { return chunks_.empty(); }
  size_t size() const { return chunks_.size(); }
  aigw::v1::ChatCompletionChunk& front() { return chunks_.front(); }
  // The front was written: the next one (if any) becomes the front.
  void PopFront();
  void Clear();
  // Content bytes behind the front.
  int64_t waiting_bytes() const { return waiting_bytes_; }

 private:
  const int64_t max_waiting_bytes_;
  std::deque<aigw::v1::ChatCompletionChunk> chunks_;
  int64_t waiting_bytes_ = 0;
};

}  // namespace aigw::gateway

#endif  // AIGW_SERVICES_GATEWAY_CHUNK_QUEUE_H_
