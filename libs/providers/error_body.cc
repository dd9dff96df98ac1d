#include "libs/providers/error_body.h"

#include "absl/strings/ascii.h"

namespace aigw::providers {
namespace {

constexpr size_t kMaxSnippet = 512;

void Assign(std::string* out, absl::string_view value) { out->assign(value.data(), value.size()); }

}  // namespace

bool ReadErrorObject(const json::Value& root, UpstreamError* error) {
  if (!root.IsObject()) return false;
  if (const json::Value* inner = json::Member(root, "error"); inner != nullptr) {
    if (inner->IsObject()) {
      Assign(&error->type, json::StrMember(*inner, "type"));
      Assign(&error->message, json::StrMember(*inner, "message"));
      error->code = json::ScalarText(json::Member(*inner, "code"));
      return true;
    }
    if (inner->IsString()) {
      Assign(&error->message, json::Str(inner));
      return true;
    }
  }
  absl::string_view message = json::StrMember(root, "message");
  if (message.empty()) message = json::StrMember(root, "detail");
  if (message.empty()) return false;
  Assign(&error->message, message);
  if (absl::string_view type = json::StrMember(root, "type"); type != "error") {
    Assign(&error->type, type);
  }
  error->code = json::ScalarText(json::Member(root, "code"));
  return true;
}

std::string BodySnippet(absl::string_view body) {
  body = absl::StripAsciiWhitespace(body);
  if (body.size() <= kMaxSnippet) return std::string(body);
  size_t cut = kMaxSnippet;
  // Back up over UTF-8 continuation bytes so no character is split.
  while (cut > 0 && (static_cast<unsigned char>(body[cut]) & 0xC0) == 0x80) --cut;
  return std::string(body.substr(0, cut));
}

}  // namespace aigw::providers
