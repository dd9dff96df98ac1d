#ifndef AIGW_SERVICES_ADMIN_MODEL_CAPABILITIES_H_
#define AIGW_SERVICES_ADMIN_MODEL_CAPABILITIES_H_

#include "absl/strings/string_view.h"

namespace aigw::admin {

// What a model takes besides text, as its vendor documents it: the
// t_ai_models flags a synced model starts with (the gateway refuses tools
// and images to a model without them). Known families only, by the model
// code's prefix (case-insensitive, dated snapshots included); anything else
// gets neither until an admin sets them.
//  - OpenAI: gpt-4o, chatgpt-4o, gpt-4.1, gpt-4.5, gpt-5, gpt-4-turbo, o1,
//    o3, o4-mini both; gpt-4, gpt-3.5-turbo, o3-mini tools only; o1-mini and
//    o1-preview neither; embedding, audio, image and moderation models
//    neither.
//  - Anthropic: claude-3 (Opus, Sonnet, Haiku), claude-3-5-sonnet,
//    claude-3-7, claude-*-4 both; claude-3-5-haiku tools only (as the seed
//    catalogue has it).
//  - DeepSeek: deepseek-chat and deepseek-coder tools only;
//    deepseek-reasoner neither.
struct ModelCapabilities {
  bool function_call = false;
  bool vision = false;
};

ModelCapabilities KnownCapabilities(absl::string_view model_code);

}  // namespace aigw::admin

#endif  // AIGW_SERVICES_ADMIN_MODEL_CAPABILITIES_H_
