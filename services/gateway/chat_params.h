#ifndef AIGW_SERVICES_GATEWAY_CHAT_PARAMS_H_
#define AIGW_SERVICES_GATEWAY_CHAT_PARAMS_H_

#include <vector>

#include "aigw/v1/chat.pb.h"
#include "libs/providers/chat_types.h"
#include "libs/providers/stream_parser.h"
#include "services/gateway/catalogue.h"

namespace aigw::gateway {

// The provider-neutral chat call for a client's request to `model`: the
// messages as they came (parts, tool calls and tool turns included),
// max_tokens within the model's output limit (a fallback model may allow
// less than the first target), the model's limit for formats that require
// max_tokens, the sampling knobs (presence_penalty, frequency_penalty and
// seed too), the caller's end-user id, and tools, tool_choice,
// parallel_tool_calls and response_format as given: the adapters translate
// them (validation ran before). `stream`: the answer is streamed. A
// plain-text request copies nothing it did not copy before tools existed.
providers::ChatParams BuildChatParams(const aigw::v1::ChatCompletionRequest& request,
                                      const ModelEntry& model, bool stream);

// Image parts in the request's messages (call events and metrics count
// them).
int CountImages(const aigw::v1::ChatCompletionRequest& request);

// A streamed piece (text, reasoning or a tool call's delta) into `chunk`.
void SetDelta(const providers::StreamEvent& event, aigw::v1::ChatCompletionChunk* chunk);

// An answer's tool calls into the client's completion.
void SetToolCalls(const std::vector<providers::ToolCall>& calls, aigw::v1::ChatCompletion* out);

}  // namespace aigw::gateway

#endif  // AIGW_SERVICES_GATEWAY_CHAT_PARAMS_H_
