#ifndef AIGW_LIBS_PROVIDERS_OPENAI_ADAPTER_H_
#define AIGW_LIBS_PROVIDERS_OPENAI_ADAPTER_H_

#include <memory>
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
class OpenAiAdapter final : public ProviderAdapter {
 public:
  absl::string_view api_format() const override { return "openai"; }
  HttpRequest BuildRequest(const ChatParams& params, absl::string_view base_url,
                           absl::string_view api_key) const override;
  absl::StatusOr<Completion> ParseResponse(absl::string_view body) const override;
  std::unique_ptr<StreamParser> NewStreamParser() const override;
  HttpRequest BuildListModelsRequest(absl::string_view base_url,
                                     absl::string_view api_key) const override;
  absl::StatusOr<std::vector<ModelInfo>> ParseModelList(absl::string_view body) const override;
};

}  // namespace aigw::providers

#endif  // AIGW_LIBS_PROVIDERS_OPENAI_ADAPTER_H_
