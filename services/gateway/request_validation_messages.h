#ifndef AIGW_SERVICES_GATEWAY_REQUEST_VALIDATION_MESSAGES_H_
#define AIGW_SERVICES_GATEWAY_REQUEST_VALIDATION_MESSAGES_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "aigw/v1/chat.pb.h"
#include "services/gateway/request_validation.h"

namespace aigw::gateway {

// The checks of a request's messages (part of ValidateChatRequest, and all
// of CountTokens' checks of them). Each error is INVALID_ARGUMENT naming the
// message, part or call ("messages[2].parts[1].image_url.url") and what to
// fix:
//  - role system | user | assistant | tool;
//  - content, or parts (text and image_url parts, none empty), not both; an
//    assistant turn with tool calls and a tool turn may have neither;
//  - images only in user turns, at most limits.max_images in the request;
//    each an https URL (at most limits.max_image_url_bytes, no whitespace or
//    control characters) or a base64 data: URL of a PNG, JPEG, GIF or WebP
//    image of at most limits.max_image_bytes whose header reads as the media
//    type it declares; detail auto | low | high;
//  - tool calls only on assistant turns: an id (1..128 printable ASCII
//    characters, no spaces, unique in the turn), a tool name and arguments
//    that are empty or a JSON object;
//  - a tool turn names in tool_call_id a call of the latest assistant turn
//    with tool calls that no tool turn answered yet; every call is answered
//    before the next user or assistant turn and before the conversation
//    ends (OpenAI and Anthropic both refuse it otherwise); tool_call_id only
//    on tool turns.
struct MessagesSummary {
  // Content, names, text parts, tool calls' names and arguments: toward
  // limits.max_request_bytes.
  int64_t text_bytes = 0;
  int images = 0;
  // Tool calls or tool turns: the model must support function calling.
  bool has_tool_turns = false;
};

inline constexpr int kMaxToolCallIdLength = 128;

absl::StatusOr<MessagesSummary> CheckMessages(
    const google::protobuf::RepeatedPtrField<aigw::v1::ChatMessage>& messages,
    const ValidationLimits& limits);

}  // namespace aigw::gateway

#endif  // AIGW_SERVICES_GATEWAY_REQUEST_VALIDATION_MESSAGES_H_
