#include "services/gateway/chat_params.h"

#include <algorithm>
#include <cstdint>

namespace aigw::gateway {

providers::ChatParams BuildChatParams(const aigw::v1::ChatCompletionRequest& request,
                                      const ModelEntry& model, bool stream) {
  providers::ChatParams p;
  p.model = model.code;
  p.messages.reserve(request.messages_size());
  for (const auto& m : request.messages()) {
    p.messages.push_back(providers::ChatMessage{m.role(), m.content(), m.name()});
  }
  if (request.has_max_tokens()) {
    int64_t max_tokens = request.max_tokens();
    if (model.max_output_tokens > 0) {
      max_tokens = std::min<int64_t>(max_tokens, model.max_output_tokens);
    }
    p.max_tokens = max_tokens;
  }
  p.model_max_output_tokens = model.max_output_tokens;
  if (request.has_temperature()) p.temperature = request.temperature();
  if (request.has_top_p()) p.top_p = request.top_p();
  p.stop.assign(request.stop().begin(), request.stop().end());
  p.stream = stream;
  p.user = request.caller().user_id();
  return p;
}

}  // namespace aigw::gateway
