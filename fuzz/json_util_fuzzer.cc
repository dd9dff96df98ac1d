// The JSON helpers every adapter reads upstream bodies and writes request
// bodies with (libs/providers/json_util, error_body), on arbitrary bytes.
//
// Input: the first byte picks the nesting limit (1..64, the default 64 when
// its value is 0); the rest is the JSON text.
//
// Parse and ParseInsitu agree (same status code, same document; Parse skips
// a byte order mark first); a refusal is
// INTERNAL (malformed) or RESOURCE_EXHAUSTED (too deep), and an accepted
// document is nested no deeper than the limit. An accepted document written
// out through StringSink parses again to the same document (doubles within
// a few units in the last place: rapidjson's default parse, which the
// adapters use, is not full-precision).
// Count is never negative (or the fallback), and agrees with HasCount;
// ReadErrorObject and ScalarText read any value; BodySnippet is at most 512
// bytes and cuts no UTF-8 character of valid text.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "libs/common/utf8.h"
#include "libs/providers/adapter.h"
#include "libs/providers/error_body.h"
#include "libs/providers/json_util.h"
#include "libs/providers/parse_limits.h"

namespace {

namespace json = aigw::providers::json;

int Depth(const json::Value& v) {
  int deepest = 0;
  if (v.IsObject()) {
    for (auto it = v.MemberBegin(); it != v.MemberEnd(); ++it) {
      deepest = std::max(deepest, Depth(it->value));
    }
    return deepest + 1;
  }
  if (v.IsArray()) {
    for (const json::Value& e : v.GetArray()) deepest = std::max(deepest, Depth(e));
    return deepest + 1;
  }
  return 0;
}

void CheckValues(const json::Value& v) {
  const int64_t count = json::Count(&v, -1);
  if (json::HasCount(&v) ? count < 0 : count != -1) abort();
  json::ScalarText(&v);
  aigw::providers::UpstreamError error;
  aigw::providers::ReadErrorObject(v, &error);
  if (v.IsObject()) {
    for (auto it = v.MemberBegin(); it != v.MemberEnd(); ++it) {
      if (json::Member(v, absl::string_view(it->name.GetString(), it->name.GetStringLength())) ==
          nullptr) {
        abort();  // a member that is there is found
      }
      CheckValues(it->value);
    }
  } else if (v.IsArray()) {
    for (const json::Value& e : v.GetArray()) CheckValues(e);
  }
}

bool Same(const json::Value& a, const json::Value& b) {
  if (a.GetType() != b.GetType()) return false;
  if (a.IsString()) {
    return absl::string_view(a.GetString(), a.GetStringLength()) ==
           absl::string_view(b.GetString(), b.GetStringLength());
  }
  if (a.IsNumber()) {
    if (a.IsInt64() != b.IsInt64() || a.IsUint64() != b.IsUint64()) return false;
    if (a.IsInt64()) return a.GetInt64() == b.GetInt64();
    if (a.IsUint64()) return a.GetUint64() == b.GetUint64();
    const double x = a.GetDouble(), y = b.GetDouble();
    return x == y || std::fabs(x - y) <= 1e-14 * std::max(std::fabs(x), std::fabs(y));
  }
  if (a.IsArray()) {
    if (a.Size() != b.Size()) return false;
    for (rapidjson::SizeType i = 0; i < a.Size(); ++i) {
      if (!Same(a[i], b[i])) return false;
    }
    return true;
  }
  if (a.IsObject()) {
    if (a.MemberCount() != b.MemberCount()) return false;
    for (auto i = a.MemberBegin(), j = b.MemberBegin(); i != a.MemberEnd(); ++i, ++j) {
      if (!Same(i->name, j->name) || !Same(i->value, j->value)) return false;
    }
    return true;
  }
  return a == b;  // null, true, false
}

std::string Write(const json::Value& v) {
  std::string out = "prefix ";  // StringSink appends to what is there
  json::StringSink sink(&out);
  json::Writer writer(sink);
  if (!v.Accept(writer)) abort();  // a parsed document is always writable
  sink.Finish();
  if (out.compare(0, 7, "prefix ") != 0) abort();
  return out.substr(7);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return -1;
  aigw::providers::ParseLimits limits;
  if (const int depth = data[0] & 0x3F; depth != 0) limits.max_json_depth = depth;
  aigw::providers::SetParseLimits(limits);
  const absl::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);

  json::ParsedJson copied;
  const absl::Status st = copied.Parse(text);
  // Parse skips a UTF-8 byte order mark as rapidjson's EncodedInputStream
  // over a MemoryStream does (each of its three bytes when it is next, so
  // also a lone 0xBF); ParseInsitu, for SSE data whose stream already lost
  // its BOM, does not.
  absl::string_view unmarked = text;
  absl::ConsumePrefix(&unmarked, "\xEF");
  absl::ConsumePrefix(&unmarked, "\xBB");
  absl::ConsumePrefix(&unmarked, "\xBF");
  std::string insitu_text(unmarked);
  json::ParsedJson insitu;
  const absl::Status st_insitu = insitu.ParseInsitu(&insitu_text);
  if (st.code() != st_insitu.code()) {
    fprintf(stderr, "Parse: %s, ParseInsitu: %s\n", st.ToString().c_str(),
            st_insitu.ToString().c_str());
    abort();
  }

  const std::string snippet = aigw::providers::BodySnippet(text);
  if (snippet.size() > 512 || (aigw::IsValidUtf8(text) && !aigw::IsValidUtf8(snippet))) abort();

  if (!st.ok()) {
    if (st.code() != absl::StatusCode::kInternal &&
        st.code() != absl::StatusCode::kResourceExhausted) {
      abort();
    }
    return 0;
  }
  if (Depth(copied.root()) > limits.max_json_depth) abort();
  CheckValues(copied.root());
  const std::string written = Write(copied.root());
  if (Write(insitu.root()) != written) abort();

  json::ParsedJson reread;
  if (!reread.Parse(written).ok() || !Same(reread.root(), copied.root())) {
    fprintf(stderr, "written %s does not read back the same\n", written.c_str());
    abort();
  }
  return 0;
}
