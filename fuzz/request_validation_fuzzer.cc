// ValidateChatRequest on a ChatCompletionRequest decoded from arbitrary bytes
// (protobuf binary, as gRPC decodes a caller's message), against a fixed
// catalogue, streaming and not, under the default limits and small ones.
//
// An accepted request must resolve to what it asked for (one target per
// provider / fallback, each an active model of an active provider, the model
// named or the provider's default), be within the limits checked, and carry
// only what the call log can store as sent; its tools have valid unique
// names, its images sit in user turns and within the limit, every tool turn
// answers a call, penalties lie in [-2, 2], and the first model supports
// the tools and images it carries.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cmath>
#include <memory>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "aigw/v1/chat.pb.h"
#include "google/protobuf/stubs/logging.h"
#include "libs/common/utf8.h"
#include "libs/db/api_log_columns.h"
#include "services/gateway/catalogue.h"
#include "services/gateway/request_validation.h"

namespace {

using aigw::gateway::Catalogue;
using aigw::gateway::ModelEntry;
using aigw::gateway::ProviderEntry;
using aigw::gateway::ResolvedTarget;
using aigw::gateway::ValidationLimits;

std::shared_ptr<const Catalogue> FixedCatalogue() {
  ProviderEntry openai{.id = 1, .code = "openai", .api_format = "openai"};
  openai.models = {ModelEntry{.id = 1, .code = "gpt-4o", .max_output_tokens = 16384, .is_default = true},
                   ModelEntry{.id = 2, .code = "gpt-4o-mini", .max_output_tokens = 16384},
                   ModelEntry{.id = 3, .code = "old", .is_active = false}};
  ProviderEntry anthropic{.id = 2, .code = "anthropic", .api_format = "anthropic"};
  anthropic.models = {ModelEntry{.id = 4, .code = "claude-sonnet-4-5", .max_output_tokens = 64000}};
  ProviderEntry off{.id = 3, .code = "legacy", .is_active = false};
  off.models = {ModelEntry{.id = 5, .code = "m"}};
  ProviderEntry batch_only{.id = 4, .code = "batchonly"};
  batch_only.models = {ModelEntry{.id = 6, .code = "b", .supports_streaming = false}};
  ProviderEntry empty{.id = 5, .code = "empty"};
  ProviderEntry deepseek{.id = 6, .code = "deepseek", .api_format = "openai"};
  deepseek.models = {
      ModelEntry{.id = 7, .code = "deepseek-chat", .supports_vision = false, .is_default = true},
      ModelEntry{.id = 8,
                 .code = "deepseek-reasoner",
                 .supports_function_call = false,
                 .supports_vision = false}};
  return Catalogue::FromProviders({openai, anthropic, off, batch_only, empty, deepseek});
}

bool IsToolName(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') return false;
  }
  return true;
}

// Tools, images, tool turns and knobs of an accepted request.
void CheckAcceptedContent(const aigw::v1::ChatCompletionRequest& r, const ValidationLimits& limits,
                          const ModelEntry& first) {
  if (r.tools_size() > limits.max_tools) abort();
  absl::flat_hash_set<std::string> names;
  for (const aigw::v1::Tool& t : r.tools()) {
    if (!IsToolName(t.name()) || !names.insert(t.name()).second) abort();
    // Reserved by the Anthropic structured-output emulation.
    if (t.name() == "aigw_structured_output") abort();
  }
  if (r.tool_choice().mode() == "tool" && !names.contains(r.tool_choice().name())) abort();
  int images = 0;
  bool tool_turns = false;
  absl::flat_hash_set<std::string> call_ids;
  for (const aigw::v1::ChatMessage& m : r.messages()) {
    for (const aigw::v1::ContentPart& p : m.parts()) {
      if (!p.has_image_url()) continue;
      if (m.role() != "user") abort();
      ++images;
    }
    for (const aigw::v1::ToolCall& c : m.tool_calls()) {
      if (m.role() != "assistant" || !IsToolName(c.name())) abort();
      call_ids.insert(c.id());
      tool_turns = true;
    }
    if (m.role() == "tool") {
      if (!call_ids.contains(m.tool_call_id())) abort();
      tool_turns = true;
    }
  }
  if (images > limits.max_images) abort();
  if ((images > 0 && !first.supports_vision) ||
      ((tool_turns || !r.tools().empty()) && !first.supports_function_call)) {
    abort();
  }
  if (r.has_presence_penalty() && !(std::fabs(r.presence_penalty()) <= 2.0)) abort();
  if (r.has_frequency_penalty() && !(std::fabs(r.frequency_penalty()) <= 2.0)) abort();
}

void CheckAccepted(const aigw::v1::ChatCompletionRequest& r, const Catalogue& catalogue,
                   const ValidationLimits& limits, bool streaming,
                   const std::vector<ResolvedTarget>& targets) {
  if (r.messages_size() == 0 || r.messages_size() > limits.max_messages) abort();
  if (r.stop_size() > limits.max_stop_sequences || r.fallbacks_size() > limits.max_fallbacks) {
    abort();
  }
  // What is accepted is what the call log stores as sent: a request_id of
  // letters, digits and kRequestIdPunctuation; caller fields that fit their
  // columns and hold no control character.
  if (static_cast<int>(r.request_id().size()) > limits.max_request_id_length) abort();
  for (char c : r.request_id()) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) &&
        !absl::StrContains(aigw::gateway::kRequestIdPunctuation, c)) {
      abort();
    }
  }
  namespace columns = aigw::db::api_log;
  for (const auto& [value, max_chars] :
       {std::pair{&r.caller().user_id(), columns::kMaxUserIdChars},
        std::pair{&r.caller().ip_address(), columns::kMaxIpChars},
        std::pair{&r.caller().user_agent(), columns::kMaxUserAgentChars}}) {
    if (!aigw::IsCleanUtf8(*value, max_chars)) abort();
    for (char c : *value) {
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) abort();
    }
  }
  if (targets.size() != static_cast<size_t>(1 + r.fallbacks_size())) abort();
  for (size_t i = 0; i < targets.size(); ++i) {
    const std::string& code = i == 0 ? r.provider_code() : r.fallbacks(i - 1).provider_code();
    const std::string& model = i == 0 ? r.model() : r.fallbacks(i - 1).model();
    const ResolvedTarget& t = targets[i];
    if (t.provider == nullptr || t.model == nullptr) abort();
    if (t.provider != catalogue.FindProvider(code) || !t.provider->is_active) abort();
    if (t.model < t.provider->models.data() ||
        t.model >= t.provider->models.data() + t.provider->models.size() || !t.model->is_active) {
      abort();
    }
    if (!model.empty() && t.model->code != model) abort();
  }
  if (streaming && !targets[0].model->supports_streaming) abort();
  if (r.has_max_tokens() && (r.max_tokens() <= 0 || (targets[0].model->max_output_tokens > 0 &&
                                                     r.max_tokens() > targets[0].model->max_output_tokens))) {
    abort();
  }
  CheckAcceptedContent(r, limits, *targets[0].model);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::shared_ptr<const Catalogue> catalogue = [] {
    google::protobuf::SetLogHandler(nullptr);  // every refused input would be logged
    return FixedCatalogue();
  }();
  aigw::v1::ChatCompletionRequest request;
  if (!request.ParseFromArray(data, static_cast<int>(size))) return -1;  // gRPC refuses it
  ValidationLimits small;
  small.max_request_bytes = 64;
  small.max_messages = 3;
  small.max_stop_sequences = 1;
  small.max_fallbacks = 1;
  small.max_request_id_length = 8;
  small.max_tools = 1;
  small.max_images = 1;
  small.max_image_bytes = 64;
  for (const ValidationLimits& limits : {ValidationLimits{}, small}) {
    for (bool streaming : {false, true}) {
      absl::StatusOr<std::vector<ResolvedTarget>> targets =
          aigw::gateway::ValidateChatRequest(request, *catalogue, limits, streaming);
      if (targets.ok()) {
        CheckAccepted(request, *catalogue, limits, streaming, *targets);
      } else if (targets.status().code() != absl::StatusCode::kInvalidArgument &&
                 targets.status().code() != absl::StatusCode::kNotFound) {
        abort();
      }
    }
  }
  return 0;
}
