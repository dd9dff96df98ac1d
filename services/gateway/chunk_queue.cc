#include "services/gateway/chunk_queue.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "libs/common/byte_size.h"

namespace aigw::gateway {
namespace {

using aigw::v1::ChatCompletionChunk;

int64_t ContentBytes(const ChatCompletionChunk& c) {
  return static_cast<int64_t>(c.delta_content().size() + c.delta_reasoning_content().size());
}

// A chunk with nothing but its stream's id and deltas, which may be joined
// with its neighbour. By reflection, so that a field added to the chunk
// later is never lost to a join.
bool IsPlainDelta(const ChatCompletionChunk& c) {
  std::vector<const google::protobuf::FieldDescriptor*> fields;
  c.GetReflection()->ListFields(c, &fields);
  for (const google::protobuf::FieldDescriptor* f : fields) {
    switch (f->number()) {
      case ChatCompletionChunk::kIdFieldNumber:
      case ChatCompletionChunk::kDeltaContentFieldNumber:
      case ChatCompletionChunk::kDeltaReasoningContentFieldNumber:
        continue;
      default:
        return false;
    }
  }
  return true;
}

}  // namespace

absl::Status ChunkQueue::Push(ChatCompletionChunk chunk, bool last) {
  if (chunks_.empty()) {  // written at once: nothing waits
    chunks_.push_back(std::move(chunk));
    return absl::OkStatus();
  }
  const int64_t bytes = ContentBytes(chunk);
  if (!last && max_waiting_bytes_ > 0 && waiting_bytes_ + bytes > max_waiting_bytes_) {
    chunks_.resize(1);  // the front is being written; the stream ends after it
    waiting_bytes_ = 0;
    return absl::ResourceExhaustedError(absl::StrCat(
        "the client is not reading the stream: ", ByteSizeText(max_waiting_bytes_),
        " were waiting to be sent, the gateway's limit per call"));
  }
  waiting_bytes_ += bytes;
  ChatCompletionChunk& back = chunks_.back();
  // Reasoning after content would read as if it came before it: not joined.
  const bool keeps_order =
      back.delta_content().empty() || chunk.delta_reasoning_content().empty();
  if (chunks_.size() > 1 && keeps_order && back.id() == chunk.id() && IsPlainDelta(back) &&
      IsPlainDelta(chunk)) {
    back.mutable_delta_content()->append(chunk.delta_content());
    back.mutable_delta_reasoning_content()->append(chunk.delta_reasoning_content());
  } else {
    chunks_.push_back(std::move(chunk));
  }
  return absl::OkStatus();
}

void ChunkQueue::PopFront() {
  chunks_.pop_front();
  if (!chunks_.empty()) waiting_bytes_ -= ContentBytes(chunks_.front());
}

void ChunkQueue::Clear() {
  chunks_.clear();
  waiting_bytes_ = 0;
}

}  // namespace aigw::gateway
