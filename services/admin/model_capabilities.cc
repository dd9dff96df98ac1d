#include "services/admin/model_capabilities.h"

#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/strip.h"

namespace aigw::admin {
namespace {

struct Family {
  absl::string_view prefix;
  ModelCapabilities capabilities;
};

constexpr ModelCapabilities kBoth{true, true};
constexpr ModelCapabilities kToolsOnly{true, false};
constexpr ModelCapabilities kNeither{false, false};

// First match wins: longer, more specific prefixes first.
constexpr Family kFamilies[] = {
    // OpenAI
    {"gpt-4o-audio", kNeither},
    {"gpt-4o-realtime", kNeither},
    {"gpt-4o-transcribe", kNeither},
    {"gpt-4o-mini-audio", kNeither},
    {"gpt-4o-mini-realtime", kNeither},
    {"gpt-4o-mini-transcribe", kNeither},
    {"gpt-4o-mini-tts", kNeither},
    {"gpt-4o", kBoth},
    {"chatgpt-4o", kBoth},
    {"gpt-4.1", kBoth},
    {"gpt-4.5", kBoth},
    {"gpt-5", kBoth},
    {"gpt-4-turbo", kBoth},
    {"gpt-4-vision", kBoth},
    {"gpt-4", kToolsOnly},
    {"gpt-3.5-turbo-instruct", kNeither},
    {"gpt-3.5-turbo", kToolsOnly},
    {"o1-mini", kNeither},
    {"o1-preview", kNeither},
    {"o1", kBoth},
    {"o3-mini", kToolsOnly},
    {"o3", kBoth},
    {"o4-mini", kBoth},
    // Anthropic
    {"claude-3-5-haiku", kToolsOnly},
    {"claude-3", kBoth},
    {"claude-sonnet-4", kBoth},
    {"claude-opus-4", kBoth},
    {"claude-haiku-4", kBoth},
    // DeepSeek
    {"deepseek-chat", kToolsOnly},
    {"deepseek-coder", kToolsOnly},
    {"deepseek-reasoner", kNeither},
};

// The prefix ends the code or is followed by '-' (a snapshot date or a
// variant): "o1" is not "o10", "gpt-4" is "gpt-4-0613".
bool IsFamily(absl::string_view code, absl::string_view prefix) {
  if (!absl::StartsWith(code, prefix)) return false;
  return code.size() == prefix.size() || code[prefix.size()] == '-' ||
         code[prefix.size()] == '.' || code[prefix.size()] == ':';
}

}  // namespace

ModelCapabilities KnownCapabilities(absl::string_view model_code) {
  const std::string lower = absl::AsciiStrToLower(model_code);
  absl::string_view code = lower;
  absl::ConsumePrefix(&code, "openai/");
  absl::ConsumePrefix(&code, "anthropic/");
  absl::ConsumePrefix(&code, "deepseek/");
  for (const Family& f : kFamilies) {
    if (IsFamily(code, f.prefix)) return f.capabilities;
  }
  return kNeither;
}

}  // namespace aigw::admin
