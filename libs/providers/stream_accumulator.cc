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
    case StreamEvent::Kind::kToolCall:
      AddToolCall(event.tool_call);
      break;
  }
}

void StreamAccumulator::AddToolCall(const ToolCallDelta& delta) {
  std::vector<ToolCall>& calls = completion_.tool_calls;
  // The parsers number calls densely from 0: an index is either a call seen
  // before or the next one.
  if (delta.index < 0 || static_cast<size_t>(delta.index) > calls.size()) return;
  if (static_cast<size_t>(delta.index) == calls.size()) calls.emplace_back();
  ToolCall& call = calls[delta.index];
  if (call.id.empty()) call.id = delta.id;
  if (call.name.empty()) call.name = delta.name;
  call.arguments_json.append(delta.arguments_delta);
}

}  // namespace aigw::providers
