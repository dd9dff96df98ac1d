#include "libs/providers/stream_accumulator.h"

namespace aigw::providers {

void StreamAccumulator::Add(const StreamEvent& event) {
  if (completion_.id.empty() && !event.id.empty()) completion_.id = event.id;
  if (completion_.model.empty() && !event.model.empty()) completion_.model = event.model;
  switch (event.kind) {
    case StreamEvent::Kind::kDelta:
      ++deltas_;
      completion_.content.append(event.delta_content);
      completion_.reasoning_content.append(event.delta_reasoning);
      break;
    case StreamEvent::Kind::kUsage:
      completion_.usage = event.usage;
      completion_.has_usage = true;
      break;
    case StreamEvent::Kind::kFinish:
      completion_.finish_reason = event.finish_reason;
      break;
    case StreamEvent::Kind::kError:
      if (!error_.has_value()) error_ = event.error;
      break;
    case StreamEvent::Kind::kDone:
      done_ = true;
      break;
  }
}

}  // namespace aigw::providers
