#ifndef AIGW_LIBS_PROVIDERS_ERROR_BODY_H_
#define AIGW_LIBS_PROVIDERS_ERROR_BODY_H_

// Reading upstream error objects (internal to libs/providers).

#include <string>

#include "absl/strings/string_view.h"
#include "libs/providers/chat_types.h"
#include "libs/providers/json_util.h"

namespace aigw::providers {

// Fills error->type / message / code from a parsed error document:
//   {"error":{"message","type","param","code"}}            OpenAI, DeepSeek
//   {"type":"error","error":{"type","message"}}            Anthropic
//   {"error":"text"}, {"message":"text"}, {"detail":"text"} other
//                                                          OpenAI-compatibles
// Returns false when `root` holds none of these.
bool ReadErrorObject(const json::Value& root, UpstreamError* error);

// The start of a non-JSON body, trimmed and cut at a UTF-8 boundary, for use
// as an error message.
std::string BodySnippet(absl::string_view body);

}  // namespace aigw::providers

#endif  // AIGW_LIBS_PROVIDERS_ERROR_BODY_H_
