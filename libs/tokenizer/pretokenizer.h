#ifndef AIGW_LIBS_TOKENIZER_PRETOKENIZER_H_
#define AIGW_LIBS_TOKENIZER_PRETOKENIZER_H_

#include <memory>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace aigw::tokenizer {

// Splits text into the pieces that BPE then encodes one by one, with the
// splitting regex of a tiktoken encoding.
//
// tiktoken's patterns are written for Rust's fancy-regex (a backtracking
// engine, like PCRE) and use Unicode properties, possessive-free lookahead
// and inline case-insensitive groups. PCRE2 runs them unchanged except for
// the places where the two dialects mean different things; see
// TranslateTiktokenPattern.
class Pretokenizer {
 public:
  // `tiktoken_pattern` is an encoding's pat_str exactly as tiktoken has it.
  static absl::StatusOr<std::unique_ptr<Pretokenizer>> Create(
      absl::string_view tiktoken_pattern);

  ~Pretokenizer();
  Pretokenizer(const Pretokenizer&) = delete;
  Pretokenizer& operator=(const Pretokenizer&) = delete;

  // Calls `fn` for every match in `text` in order, like Rust's find_iter:
  // text that no alternative matches is skipped (tiktoken's patterns leave
  // none). `text` must be valid UTF-8. Fails only when PCRE2 runs out of its
  // matching resources, which these patterns do not do on any input size we
  // tested (see pretokenizer_test).
  absl::Status ForEachPiece(absl::string_view text,
                            absl::FunctionRef<void(absl::string_view)> fn) const;

  // Whether PCRE2's JIT compiled the pattern (the interpreter is the
  // fallback; it gives the same matches, only slower).
  bool jit() const { return jit_; }

 private:
  explicit Pretokenizer(void* code, bool jit) : code_(code), jit_(jit) {}

  void* code_;  // pcre2_code_8*
  bool jit_;
};

// The PCRE2 pattern equivalent to a tiktoken (Rust regex) pattern:
//  - `\s` / `\S` become explicit classes of Unicode White_Space, which is
//    what Rust means by `\s`; PCRE2's `\s` differs (it lacks U+0085);
//  - `$` becomes `\z`: without multi-line mode Rust's `$` is the end of the
//    text, PCRE2's also matches before a final newline.
// Everything else (\p{..}, (?i:..), (?!..), {m,n}) means the same in both.
absl::StatusOr<std::string> TranslateTiktokenPattern(absl::string_view pattern);

}  // namespace aigw::tokenizer

#endif  // AIGW_LIBS_TOKENIZER_PRETOKENIZER_H_
