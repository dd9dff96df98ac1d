#include "libs/providers/json_util.h"

#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "rapidjson/error/en.h"

namespace aigw::providers::json {

void DoubleField(Writer& w, absl::string_view key, double value) {
  if (!std::isfinite(value)) return;
  Key(w, key);
  w.Double(value);
}

ParsedJson::ParsedJson()
    : value_allocator_(value_buffer_, sizeof(value_buffer_)),
      stack_allocator_(stack_buffer_, sizeof(stack_buffer_)),
      doc_(&value_allocator_, kStackBytes / 2, &stack_allocator_) {}

absl::Status ParsedJson::Parse(absl::string_view text) {
  doc_.Parse<rapidjson::kParseStopWhenDoneFlag>(text.data(), text.size());
  return Check(text.size());
}

absl::Status ParsedJson::ParseInsitu(std::string* text) {
  // std::string keeps a NUL after its last byte, which is what in-situ
  // parsing needs as the end marker.
  doc_.ParseInsitu<rapidjson::kParseStopWhenDoneFlag>(text->data());
  return Check(text->size());
}

absl::Status ParsedJson::Check(size_t length) {
  if (!doc_.HasParseError()) return absl::OkStatus();
  return absl::InternalError(absl::StrCat(
      "malformed upstream JSON: ", rapidjson::GetParseError_En(doc_.GetParseError()),
      " at offset ", doc_.GetErrorOffset(), " of ", length));
}

const Value* Member(const Value& obj, absl::string_view key) {
  if (!obj.IsObject()) return nullptr;
  auto it = obj.FindMember(
      rapidjson::StringRef(key.data(), static_cast<rapidjson::SizeType>(key.size())));
  return it == obj.MemberEnd() ? nullptr : &it->value;
}

const Value* Member(const Value* obj, absl::string_view key) {
  return obj == nullptr ? nullptr : Member(*obj, key);
}

absl::string_view Str(const Value* v) {
  if (v == nullptr || !v->IsString()) return {};
  return absl::string_view(v->GetString(), v->GetStringLength());
}

bool HasCount(const Value* v) {
  if (v == nullptr) return false;
  if (v->IsInt64()) return v->GetInt64() >= 0;
  if (v->IsDouble()) {
    double d = v->GetDouble();
    return d >= 0 && d < 9.2e18 && std::floor(d) == d;
  }
  return false;
}

int64_t Count(const Value* v, int64_t fallback) {
  if (!HasCount(v)) return fallback;
  return v->IsInt64() ? v->GetInt64() : static_cast<int64_t>(v->GetDouble());
}

std::string ScalarText(const Value* v) {
  if (v == nullptr) return {};
  if (v->IsString()) return std::string(v->GetString(), v->GetStringLength());
  if (v->IsInt64()) return absl::StrCat(v->GetInt64());
  if (v->IsUint64()) return absl::StrCat(v->GetUint64());
  if (v->IsDouble()) return absl::StrCat(v->GetDouble());
  return {};
}

}  // namespace aigw::providers::json
