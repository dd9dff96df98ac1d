#include "libs/providers/json_util.h"

#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "libs/providers/parse_limits.h"
#include "rapidjson/error/en.h"
#include "rapidjson/memorystream.h"
#include "rapidjson/encodedstream.h"
#include "rapidjson/reader.h"

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

namespace {

// Passes a reader's events on to `Out` (the document being built) and stops
// the parse at the first object or array nested deeper than `max_depth`,
// before the reader descends into it, and at the first number beyond the
// range of a double: rapidjson 1.1 refuses most of those itself, but checks
// only the exponent's digits once the mantissa has outgrown 64 bits, so
// "18446744073709551616e308" becomes infinity, which JSON cannot carry and
// no writer writes back.
template <typename Out>
class DepthLimit {
 public:
  using Ch = char;
  DepthLimit(Out& out, int max_depth) : out_(out), max_depth_(max_depth) {}

  bool too_deep() const { return too_deep_; }
  bool out_of_range() const { return out_of_range_; }

  bool StartObject() { return Enter() && out_.StartObject(); }
  bool EndObject(rapidjson::SizeType members) {
    --depth_;
    return out_.EndObject(members);
  }
  bool StartArray() { return Enter() && out_.StartArray(); }
  bool EndArray(rapidjson::SizeType elements) {
    --depth_;
    return out_.EndArray(elements);
  }
  bool Null() { return out_.Null(); }
  bool Bool(bool b) { return out_.Bool(b); }
  bool Int(int i) { return out_.Int(i); }
  bool Uint(unsigned u) { return out_.Uint(u); }
  bool Int64(int64_t i) { return out_.Int64(i); }
  bool Uint64(uint64_t u) { return out_.Uint64(u); }
  bool Double(double d) {
    if (!std::isfinite(d)) {
      out_of_range_ = true;
      return false;
    }
    return out_.Double(d);
  }
  bool RawNumber(const Ch* s, rapidjson::SizeType n, bool copy) {
    return out_.RawNumber(s, n, copy);
  }
  bool String(const Ch* s, rapidjson::SizeType n, bool copy) { return out_.String(s, n, copy); }
  bool Key(const Ch* s, rapidjson::SizeType n, bool copy) { return out_.Key(s, n, copy); }

 private:
  bool Enter() {
    if (++depth_ <= max_depth_) return true;
    too_deep_ = true;
    return false;
  }

  Out& out_;
  const int max_depth_;
  int depth_ = 0;
  bool too_deep_ = false;
  bool out_of_range_ = false;
};

}  // namespace

template <unsigned kFlags, typename Stream>
absl::Status ParsedJson::ParseStream(Stream& stream, size_t length) {
  // What Document::ParseStream does, with the depth check between the
  // reader and the document.
  rapidjson::GenericReader<rapidjson::UTF8<>, rapidjson::UTF8<>, Allocator> reader(
      &stack_allocator_);
  const int max_depth = CurrentParseLimits().max_json_depth;
  rapidjson::ParseResult result;
  bool too_deep = false;
  bool out_of_range = false;
  auto generate = [&](Document& doc) {
    DepthLimit<Document> limited(doc, max_depth);
    result = reader.Parse<kFlags | rapidjson::kParseStopWhenDoneFlag>(stream, limited);
    too_deep = limited.too_deep();
    out_of_range = limited.out_of_range();
    return !result.IsError();
  };
  doc_.Populate(generate);
  if (!result.IsError()) return absl::OkStatus();
  doc_.SetNull();
  if (too_deep) {
    return absl::ResourceExhaustedError(
        absl::StrCat("upstream JSON nested deeper than ", max_depth, " levels"));
  }
  return absl::InternalError(absl::StrCat("malformed upstream JSON: ",
                                          out_of_range ? "Number too big to be stored in double."
                                                       : rapidjson::GetParseError_En(result.Code()),
                                          " at offset ", result.Offset(), " of ", length));
}

absl::Status ParsedJson::Parse(absl::string_view text) {
  rapidjson::MemoryStream bytes(text.data(), text.size());
  rapidjson::EncodedInputStream<rapidjson::UTF8<>, rapidjson::MemoryStream> stream(bytes);
  return ParseStream<rapidjson::kParseDefaultFlags>(stream, text.size());
}

absl::Status ParsedJson::ParseInsitu(std::string* text) {
  // std::string keeps a NUL after its last byte, which is what in-situ
  // parsing needs as the end marker.
  rapidjson::GenericInsituStringStream<rapidjson::UTF8<>> stream(text->data());
  return ParseStream<rapidjson::kParseInsituFlag>(stream, text->size());
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

bool WriteJsonObject(Writer& w, absl::string_view text) {
  ParsedJson doc;
  if (!doc.Parse(text).ok() || !doc.root().IsObject()) return false;
  doc.root().Accept(w);
  return true;
}

void WriteJsonObjectOrEmpty(Writer& w, absl::string_view text) {
  if (WriteJsonObject(w, text)) return;
  w.StartObject();
  w.EndObject();
}

std::string ToJsonText(const Value& v) {
  std::string out;
  StringSink sink(&out);
  Writer w(sink);
  v.Accept(w);
  sink.Finish();
  return out;
}

}  // namespace aigw::providers::json
