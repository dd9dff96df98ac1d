#ifndef AIGW_LIBS_PROVIDERS_JSON_UTIL_H_
#define AIGW_LIBS_PROVIDERS_JSON_UTIL_H_

// rapidjson helpers shared by the adapters (internal to libs/providers).
//
// Every read goes through these helpers because rapidjson asserts (and with
// NDEBUG has undefined behaviour) when a value is used as the wrong type;
// upstream bodies are untrusted, so each access checks the type first.

#include <algorithm>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "rapidjson/allocators.h"
#include "rapidjson/document.h"
#include "rapidjson/writer.h"

namespace aigw::providers::json {

// A rapidjson output stream that writes straight into a std::string, so a
// built body needs no copy out of a StringBuffer. It writes through a raw
// pointer into space made with resize(), since a push_back per character
// costs about as much as the rest of the writer; Finish() trims the string to
// what was written. rapidjson's Writer finds the PutReserve / PutUnsafe
// overloads below by argument-dependent lookup.
class StringSink {
 public:
  using Ch = char;
  explicit StringSink(std::string* out) : out_(out), len_(out->size()) {
    out_->resize(std::max(out_->capacity(), len_ + kMinRoom));
    data_ = out_->data();
  }
  StringSink(const StringSink&) = delete;
  StringSink& operator=(const StringSink&) = delete;

  void Reserve(size_t n) {
    if (n > out_->size() - len_) Grow(n);
  }
  void Put(char c) {
    Reserve(1);
    data_[len_++] = c;
  }
  void PutUnsafe(char c) { data_[len_++] = c; }
  void Flush() {}
  // Must be called once writing is done.
  void Finish() { out_->resize(len_); }

 private:
  static constexpr size_t kMinRoom = 256;
  void Grow(size_t n) {
    out_->resize(std::max(out_->size() * 2, len_ + n));
    data_ = out_->data();
  }

  std::string* out_;
  char* data_;
  size_t len_;
};

inline void PutReserve(StringSink& sink, size_t n) { sink.Reserve(n); }
inline void PutUnsafe(StringSink& sink, char c) { sink.PutUnsafe(c); }

using Writer = rapidjson::Writer<StringSink>;

inline void Key(Writer& w, absl::string_view key) {
  w.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
}
inline void String(Writer& w, absl::string_view value) {
  w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}
// Writes "key":value; skips a non-finite double, which JSON cannot carry.
void DoubleField(Writer& w, absl::string_view key, double value);

using Value = rapidjson::Value;

// A parsed document whose nodes come from an inline buffer first, so parsing
// a typical stream chunk or response does not touch malloc. Large enough for
// the DOM of an in-situ parsed chunk; bigger documents spill to the heap.
// Lives on the stack of the parsing function (about 12 KiB).
class ParsedJson {
 public:
  ParsedJson();
  ParsedJson(const ParsedJson&) = delete;
  ParsedJson& operator=(const ParsedJson&) = delete;

  // Parses a copy of `text` (which need not be NUL-terminated). Stops after
  // the first complete value, so trailing bytes are ignored. INTERNAL for
  // malformed JSON; RESOURCE_EXHAUSTED for JSON nested deeper than
  // ParseLimits::max_json_depth (never parsed: an upstream's brackets must
  // not run the parser's recursion off the stack).
  absl::Status Parse(absl::string_view text);
  // Parses `text` in place: strings in the DOM point into it, so it must
  // outlive every use of root() and is modified.
  absl::Status ParseInsitu(std::string* text);

  const Value& root() const { return doc_; }

 private:
  using Allocator = rapidjson::MemoryPoolAllocator<>;
  using Document = rapidjson::GenericDocument<rapidjson::UTF8<>, Allocator, Allocator>;
  static constexpr size_t kValueBytes = 8192;
  static constexpr size_t kStackBytes = 4096;

  template <unsigned kFlags, typename Stream>
  absl::Status ParseStream(Stream& stream, size_t length);

  alignas(16) char value_buffer_[kValueBytes];
  alignas(16) char stack_buffer_[kStackBytes];
  Allocator value_allocator_;
  Allocator stack_allocator_;
  Document doc_;
};

// The member `key` of `obj`, or nullptr when `obj` is not an object or has no
// such member.
const Value* Member(const Value& obj, absl::string_view key);
const Value* Member(const Value* obj, absl::string_view key);

// The string value of `v` (empty when `v` is null or not a string).
absl::string_view Str(const Value* v);
// A member's string value; empty when absent or not a string.
inline absl::string_view StrMember(const Value& obj, absl::string_view key) {
  return Str(Member(obj, key));
}
// An integer count: accepts JSON integers and integral doubles; anything else
// (absent, null, negative, fractional, out of range) gives `fallback`.
int64_t Count(const Value* v, int64_t fallback = 0);
bool HasCount(const Value* v);
// A string or a number rendered as text (OpenAI error codes come as both).
std::string ScalarText(const Value* v);

// Writes the JSON value held in `text` (a caller's schema or tool
// arguments) as a value of the body being built, re-serialised so that the
// body stays valid whatever `text` holds. False, with nothing written, when
// `text` is not JSON or does not hold an object.
bool WriteJsonObject(Writer& w, absl::string_view text);
// WriteJsonObject, or `{}` when `text` holds no object: a field the provider
// requires to be an object.
void WriteJsonObjectOrEmpty(Writer& w, absl::string_view text);
// `v` as compact JSON text (a tool call's input object, as arguments).
std::string ToJsonText(const Value& v);

}  // namespace aigw::providers::json

#endif  // AIGW_LIBS_PROVIDERS_JSON_UTIL_H_
