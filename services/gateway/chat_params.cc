#include "services/gateway/chat_params.h"

#include <algorithm>
#include <cstdint>

namespace aigw::gateway {
namespace {

providers::ChatMessage MessageOf(const aigw::v1::ChatMessage& m) {
  providers::ChatMessage out;
  out.role = m.role();
  out.content = m.content();
  out.name = m.name();
  if (!m.parts().empty()) {
    out.parts.reserve(m.parts_size());
    for (const aigw::v1::ContentPart& p : m.parts()) {
      providers::ContentPart& part = out.parts.emplace_back();
      if (p.has_image_url()) {
        part.kind = providers::ContentPart::Kind::kImageUrl;
        part.url = p.image_url().url();
        part.detail = p.image_url().detail();
      } else {
        part.text = p.text();
      }
    }
  }
  if (!m.tool_calls().empty()) {
    out.tool_calls.reserve(m.tool_calls_size());
    for (const aigw::v1::ToolCall& c : m.tool_calls()) {
      out.tool_calls.push_back(providers::ToolCall{c.id(), c.name(), c.arguments_json()});
    }
  }
  out.tool_call_id = m.tool_call_id();
  return out;
}

// Tools, tool choice and structured output: only requests that use them pay
// for the copies.
void CopyToolsAndFormat(const aigw::v1::ChatCompletionRequest& request, providers::ChatParams* p) {
  p->tools.reserve(request.tools_size());
  for (const aigw::v1::Tool& t : request.tools()) {
    p->tools.push_back(
        providers::ToolDefinition{t.name(), t.description(), t.parameters_json(), t.strict()});
  }
  if (request.has_tool_choice()) {
    p->tool_choice = providers::ToolChoice{request.tool_choice().mode(),
                                           request.tool_choice().name()};
  }
  if (request.has_parallel_tool_calls()) p->parallel_tool_calls = request.parallel_tool_calls();
  if (request.has_response_format()) {
    const aigw::v1::ResponseFormat& f = request.response_format();
    p->response_format =
        providers::ResponseFormat{f.type(), f.name(), f.schema_json(), f.strict()};
  }
}

}  // namespace

providers::ChatParams BuildChatParams(const aigw::v1::ChatCompletionRequest& request,
                                      const ModelEntry& model, bool stream) {
  providers::ChatParams p;
  p.model = model.code;
  p.messages.reserve(request.messages_size());
  for (const aigw::v1::ChatMessage& m : request.messages()) p.messages.push_back(MessageOf(m));
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
  if (request.has_presence_penalty()) p.presence_penalty = request.presence_penalty();
  if (request.has_frequency_penalty()) p.frequency_penalty = request.frequency_penalty();
  if (request.has_seed()) p.seed = request.seed();
  if (!request.tools().empty() || request.has_tool_choice() ||
      request.has_parallel_tool_calls() || request.has_response_format()) {
    CopyToolsAndFormat(request, &p);
  }
  return p;
}

int CountImages(const aigw::v1::ChatCompletionRequest& request) {
  int images = 0;
  for (const aigw::v1::ChatMessage& m : request.messages()) {
    for (const aigw::v1::ContentPart& p : m.parts()) images += p.has_image_url() ? 1 : 0;
  }
  return images;
}

void SetDelta(const providers::StreamEvent& event, aigw::v1::ChatCompletionChunk* chunk) {
  if (event.kind == providers::StreamEvent::Kind::kToolCall) {
    aigw::v1::ToolCallDelta* d = chunk->add_tool_call_deltas();
    d->set_index(event.tool_call.index);
    d->set_id(event.tool_call.id);
    d->set_name(event.tool_call.name);
    d->set_arguments_delta(event.tool_call.arguments_delta);
    return;
  }
  chunk->set_delta_content(event.delta_content);
  chunk->set_delta_reasoning_content(event.delta_reasoning);
}

void SetToolCalls(const std::vector<providers::ToolCall>& calls, aigw::v1::ChatCompletion* out) {
  for (const providers::ToolCall& call : calls) {
    aigw::v1::ToolCall* c = out->add_tool_calls();
    c->set_id(call.id);
    c->set_name(call.name);
    c->set_arguments_json(call.arguments_json);
  }
}

}  // namespace aigw::gateway
