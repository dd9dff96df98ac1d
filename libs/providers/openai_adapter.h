#ifndef AIGW_LIBS_PROVIDERS_OPENAI_ADAPTER_H_
#define AIGW_LIBS_PROVIDERS_OPENAI_ADAPTER_H_

#include <memory>
#include <string>
#include <vector>

#include "libs/providers/adapter.h"

namespace aigw::providers {

// OpenAI chat completions, POST {base}/chat/completions. Also serves DeepSeek
// (base "https://api.deepseek.com", no /v1; reasoning_content in messages
// and deltas; prompt_cache_hit_tokens / prompt_cache_miss_tokens; usage on
// the finish chunk; ": keep-alive" comments) and any custom
// OpenAI-compatible provider.
//
// Requests always ask for stream_options.include_usage when streaming, so
// the stream ends with a usage chunk (empty choices) before "data: [DONE]".
// Only choice index 0 is read (the gateway never asks for n > 1).
//
// Tools, images and structured output, as OpenAI's Chat Completions takes
// them: tools as {"type":"function","function":{name, description,
// parameters, strict}}; tool_choice auto | none | required |
// {"type":"function","function":{"name"}}; parallel_tool_calls (tool_choice
// and parallel_tool_calls only with tools, which OpenAI requires); assistant
// tool_calls (content null when the turn only calls tools); tool turns with
// tool_call_id; parts as content arrays of text and image_url {url, detail};
// response_format json_object or json_schema {name, schema, strict}. Tool
// calls come back from message.tool_calls and, streamed, from
// delta.tool_calls (renumbered densely from index 0).
//
// DeepSeek (a model named deepseek*) takes json_object only: a json_schema
// request is sent as json_object with DeepSeekSchemaInstruction as a first
// system message; it takes no seed (not sent).
class OpenAiAdapter final : public ProviderAdapter {
 public:
  absl::string_view api_format() const override { return "openai"; }
  HttpRequest BuildRequest(const ChatParams& params, absl::string_view base_url,
                           absl::string_view api_key) const override;
  absl::StatusOr<Completion> ParseResponse(absl::string_view body) const override;
  std::unique_ptr<StreamParser> NewStreamParser() const override;
  HttpRequest BuildListModelsRequest(absl::string_view base_url,
                                     absl::string_view api_key) const override;
};

// The system message that stands in for a JSON Schema on DeepSeek: it names
// the schema and says to answer with one JSON object (DeepSeek's JSON mode
// wants "json" in the prompt).
std::string DeepSeekSchemaInstruction(const ResponseFormat& format);

}  // namespace aigw::providers

#endif  // AIGW_LIBS_PROVIDERS_OPENAI_ADAPTER_H_
