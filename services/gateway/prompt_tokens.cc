#include "services/gateway/prompt_tokens.h"

#include <vector>

namespace aigw::gateway {
namespace {

tokenizer::ImageDetail DetailOf(const std::string& detail) {
  return tokenizer::ParseImageDetail(detail).value_or(tokenizer::ImageDetail::kAuto);
}

// The tokenizer's views of the proto messages; the proto must outlive it.
class PromptView {
 public:
  PromptView(const ProtoMessages& messages, const ProtoTools& tools) {
    // Sized first: the messages hold spans into these vectors.
    size_t parts = 0, images = 0, calls = 0;
    for (const aigw::v1::ChatMessage& m : messages) {
      for (const aigw::v1::ContentPart& p : m.parts()) ++(p.has_image_url() ? images : parts);
      calls += m.tool_calls_size();
    }
    texts_.reserve(parts);
    images_.reserve(images);
    calls_.reserve(calls);
    messages_.reserve(messages.size());
    for (const aigw::v1::ChatMessage& m : messages) Add(m);
    tools_.reserve(tools.size());
    for (const aigw::v1::Tool& t : tools) {
      tools_.push_back(tokenizer::ToolDefinition{t.name(), t.description(), t.parameters_json()});
    }
  }

  const std::vector<tokenizer::ChatMessage>& messages() const { return messages_; }
  const std::vector<tokenizer::ToolDefinition>& tools() const { return tools_; }

 private:
  void Add(const aigw::v1::ChatMessage& m) {
    const size_t first_text = texts_.size(), first_image = images_.size(),
                 first_call = calls_.size();
    for (const aigw::v1::ContentPart& p : m.parts()) {
      if (p.has_image_url()) {
        images_.push_back(tokenizer::ImagePart{p.image_url().url(), DetailOf(p.image_url().detail())});
      } else {
        texts_.push_back(p.text());
      }
    }
    for (const aigw::v1::ToolCall& c : m.tool_calls()) {
      calls_.push_back(tokenizer::ToolCallText{c.name(), c.arguments_json()});
    }
    messages_.push_back(tokenizer::ChatMessage{
        m.role(), m.content(), m.name(),
        absl::MakeConstSpan(texts_).subspan(first_text),
        absl::MakeConstSpan(images_).subspan(first_image),
        absl::MakeConstSpan(calls_).subspan(first_call)});
  }

  std::vector<absl::string_view> texts_;
  std::vector<tokenizer::ImagePart> images_;
  std::vector<tokenizer::ToolCallText> calls_;
  std::vector<tokenizer::ChatMessage> messages_;
  std::vector<tokenizer::ToolDefinition> tools_;
};

constexpr int64_t kBytesPerToken = 4;

}  // namespace

tokenizer::ImageRule ImageRuleFor(const ProviderEntry& provider, const ModelEntry& model) {
  if (provider.api_format == "anthropic") return tokenizer::ImageRule::kAnthropic;
  return tokenizer::ImageRuleForModel(model.code, provider.code);
}

absl::StatusOr<tokenizer::TokenCount> CountPromptTokens(absl::string_view model,
                                                        absl::string_view provider_code,
                                                        const ProtoMessages& messages,
                                                        const ProtoTools& tools,
                                                        tokenizer::ImageRule image_rule) {
  const PromptView view(messages, tools);
  return tokenizer::CountPromptTokens(model, view.messages(), view.tools(), provider_code,
                                      image_rule);
}

int64_t EstimatePromptTokens(const aigw::v1::ChatCompletionRequest& request,
                             tokenizer::ImageRule image_rule) {
  int64_t bytes = 0, fixed = 0, images = 0;
  for (const aigw::v1::ChatMessage& m : request.messages()) {
    fixed += tokenizer::kTokensPerMessage;
    bytes += static_cast<int64_t>(m.content().size() + m.name().size());
    for (const aigw::v1::ContentPart& p : m.parts()) {
      if (p.has_image_url()) {
        images += tokenizer::CountImageUrlTokens(p.image_url().url(),
                                                 DetailOf(p.image_url().detail()), image_rule)
                      .tokens;
      } else {
        bytes += static_cast<int64_t>(p.text().size());
      }
    }
    for (const aigw::v1::ToolCall& c : m.tool_calls()) {
      fixed += tokenizer::kTokensPerToolCall;
      bytes += static_cast<int64_t>(c.name().size() + c.arguments_json().size());
    }
  }
  if (!request.tools().empty()) {
    // The larger of the two rules' func_init; the schema's JSON text is
    // longer than the cookbook's lines, which covers the per-property tokens.
    const tokenizer::ToolTokenRule rule = tokenizer::ToolRuleForEncoding("cl100k_base");
    fixed += rule.func_end;
    for (const aigw::v1::Tool& t : request.tools()) {
      fixed += rule.func_init;
      bytes += static_cast<int64_t>(t.name().size() + t.description().size() +
                                    t.parameters_json().size());
    }
  }
  bytes += static_cast<int64_t>(request.response_format().schema_json().size());
  return (bytes + kBytesPerToken - 1) / kBytesPerToken + fixed + tokenizer::kReplyPrimingTokens +
         images;
}

}  // namespace aigw::gateway
