#include "libs/tokenizer/pretokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <utility>

#include "absl/strings/str_cat.h"

namespace aigw::tokenizer {
namespace {

// Unicode White_Space (PropList.txt), the meaning of `\s` in Rust's regex.
constexpr absl::string_view kWhiteSpace =
    "\\t\\n\\x{0B}\\f\\r\\x{20}\\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}"
    "\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}";

std::string PcreError(int code) {
  PCRE2_UCHAR buffer[256];
  if (pcre2_get_error_message(code, buffer, sizeof(buffer)) < 0) {
    return absl::StrCat("PCRE2 error ", code);
  }
  return reinterpret_cast<const char*>(buffer);
}

// Per-thread matching state: the ovector and a JIT stack that may grow well
// beyond PCRE2's 32 KiB default, so that long runs of one character class
// never hit the stack limit.
class ThreadMatchState {
 public:
  ThreadMatchState()
      : data_(pcre2_match_data_create(1, nullptr)),
        context_(pcre2_match_context_create(nullptr)),
        jit_stack_(pcre2_jit_stack_create(64 * 1024, 64 * 1024 * 1024,
                                          nullptr)) {
    pcre2_jit_stack_assign(context_, nullptr, jit_stack_);
    // The interpreter is only a fallback; give it room as well.
    pcre2_set_heap_limit(context_, 1024 * 1024);  // KiB
  }
  ~ThreadMatchState() {
    pcre2_jit_stack_free(jit_stack_);
    pcre2_match_context_free(context_);
    pcre2_match_data_free(data_);
  }
  ThreadMatchState(const ThreadMatchState&) = delete;
  ThreadMatchState& operator=(const ThreadMatchState&) = delete;

  pcre2_match_data* data() { return data_; }
  pcre2_match_context* context() { return context_; }

 private:
  pcre2_match_data* data_;
  pcre2_match_context* context_;
  pcre2_jit_stack* jit_stack_;
};

ThreadMatchState& MatchState() {
  thread_local ThreadMatchState state;
  return state;
}

}  // namespace

absl::StatusOr<std::string> TranslateTiktokenPattern(absl::string_view pattern) {
  std::string out;
  out.reserve(pattern.size() * 2);
  bool in_class = false;
  for (size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '\\') {
      if (i + 1 >= pattern.size()) {
        return absl::InvalidArgumentError("pattern ends with a backslash");
      }
      const char e = pattern[++i];
      if (e == 's') {
        if (in_class) {
          absl::StrAppend(&out, kWhiteSpace);
        } else {
          absl::StrAppend(&out, "[", kWhiteSpace, "]");
        }
      } else if (e == 'S') {
        if (in_class) {
          return absl::UnimplementedError("\\S inside a character class");
        }
        absl::StrAppend(&out, "[^", kWhiteSpace, "]");
      } else {
        out.push_back('\\');
        out.push_back(e);
      }
      continue;
    }
    if (in_class) {
      if (c == '[') {
        return absl::UnimplementedError("nested character class");
      }
      if (c == ']') in_class = false;
      out.push_back(c);
      continue;
    }
    if (c == '[') {
      in_class = true;
      out.push_back(c);
      // A ']' right after '[' or '[^' is a literal in both dialects.
      if (i + 1 < pattern.size() && pattern[i + 1] == '^') out.push_back(pattern[++i]);
      if (i + 1 < pattern.size() && pattern[i + 1] == ']') out.push_back(pattern[++i]);
      continue;
    }
    if (c == '$') {
      out.append("\\z");
      continue;
    }
    out.push_back(c);
  }
  if (in_class) return absl::InvalidArgumentError("unterminated class");
  return out;
}

absl::StatusOr<std::unique_ptr<Pretokenizer>> Pretokenizer::Create(
    absl::string_view tiktoken_pattern) {
  absl::StatusOr<std::string> pattern =
      TranslateTiktokenPattern(tiktoken_pattern);
  if (!pattern.ok()) return pattern.status();
  int error = 0;
  PCRE2_SIZE offset = 0;
  pcre2_code* code = pcre2_compile(
      reinterpret_cast<PCRE2_SPTR>(pattern->data()), pattern->size(),
      PCRE2_UTF | PCRE2_UCP, &error, &offset, nullptr);
  if (code == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot compile tokenizer pattern at offset ", offset,
                     ": ", PcreError(error)));
  }
  const bool jit = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;
  return std::unique_ptr<Pretokenizer>(new Pretokenizer(code, jit));
}

Pretokenizer::~Pretokenizer() { pcre2_code_free(static_cast<pcre2_code*>(code_)); }

absl::Status Pretokenizer::ForEachPiece(
    absl::string_view text,
    absl::FunctionRef<void(absl::string_view)> fn) const {
  auto* code = static_cast<pcre2_code*>(code_);
  ThreadMatchState& state = MatchState();
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  const size_t length = text.size();
  PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(state.data());
  size_t start = 0;
  while (start < length) {
    // The caller validated the UTF-8 once; PCRE2 would otherwise re-check
    // the whole remaining subject on every call.
    int rc = jit_ ? pcre2_jit_match(code, subject, length, start, 0,
                                    state.data(), state.context())
                  : PCRE2_ERROR_JIT_STACKLIMIT;
    if (rc == PCRE2_ERROR_JIT_STACKLIMIT) {
      rc = pcre2_match(code, subject, length, start, PCRE2_NO_UTF_CHECK,
                       state.data(), state.context());
    }
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) {
      return absl::ResourceExhaustedError(
          absl::StrCat("tokenizer regex failed at byte ", start, ": ",
                       PcreError(rc)));
    }
    const size_t begin = ovector[0];
    const size_t end = ovector[1];
    if (end == begin) {
      // No tiktoken alternative matches the empty string; step over one
      // character anyway so that an odd pattern cannot loop forever.
      size_t next = begin + 1;
      while (next < length && (subject[next] & 0xC0) == 0x80) ++next;
      start = next;
      continue;
    }
    fn(text.substr(begin, end - begin));
    start = end;
  }
  return absl::OkStatus();
}

}  // namespace aigw::tokenizer
