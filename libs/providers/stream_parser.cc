#include "libs/providers/stream_parser.h"

#include <utility>

namespace aigw::providers {

absl::Status SseStreamParser::Feed(absl::string_view bytes, std::vector<StreamEvent>* out) {
  return decoder_.Feed(bytes, [this, out](SseEvent& event) { return OnEvent(event, out); });
}

StreamEvent& SseStreamParser::Emit(StreamEvent::Kind kind, std::vector<StreamEvent>* out) {
  StreamEvent& event = out->emplace_back();
  event.kind = kind;
  if (!pending_id_.empty()) event.id = std::move(pending_id_);
  if (!pending_model_.empty()) event.model = std::move(pending_model_);
  pending_id_.clear();
  pending_model_.clear();
  return event;
}

void SseStreamParser::SeeIdentity(absl::string_view id, absl::string_view model) {
  if (!id_seen_ && !id.empty()) {
    id_seen_ = true;
    pending_id_.assign(id.data(), id.size());
  }
  if (!model_seen_ && !model.empty()) {
    model_seen_ = true;
    pending_model_.assign(model.data(), model.size());
  }
}

}  // namespace aigw::providers
