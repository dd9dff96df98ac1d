#ifndef AIGW_LIBS_TOKENIZER_ENCODING_H_
#define AIGW_LIBS_TOKENIZER_ENCODING_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "libs/tokenizer/bpe.h"
#include "libs/tokenizer/pretokenizer.h"

namespace aigw::tokenizer {

// What defines a tiktoken encoding apart from its rank file.
struct EncodingSpec {
  std::string name;
  // tiktoken's pat_str, verbatim (Rust regex syntax).
  std::string pattern;
  std::vector<std::pair<std::string, uint32_t>> special_tokens;
  // Checks on the rank file; 0 / empty skip the check.
  size_t expected_ranks = 0;
  std::string expected_sha256;  // lowercase hex of the whole file
};

// The built-in specs, as in tiktoken_ext/openai_public.py.
const EncodingSpec& O200kBaseSpec();
const EncodingSpec& Cl100kBaseSpec();

// A tiktoken byte-pair encoding: regex pre-tokenization, then BPE of each
// piece. Immutable and thread-safe once loaded.
//
// Encode matches tiktoken's encode_ordinary: text that looks like a special
// token ("<|endoftext|>") is encoded as ordinary text, never as the special
// token, which is what counting user-supplied text needs.
class Encoding {
 public:
  // Reads `path` (OpenAI's .tiktoken format).
  static absl::StatusOr<std::unique_ptr<Encoding>> Load(const EncodingSpec& spec,
                                                        const std::string& path);
  // From the rank file's contents.
  static absl::StatusOr<std::unique_ptr<Encoding>> Create(
      const EncodingSpec& spec, absl::string_view tiktoken_file);

  Encoding(const Encoding&) = delete;
  Encoding& operator=(const Encoding&) = delete;

  const std::string& name() const { return name_; }
  // One past the highest token id, special tokens included.
  uint32_t n_vocab() const { return n_vocab_; }

  // Bytes that are not UTF-8 are first replaced by U+FFFD (see ToValidUtf8).
  std::vector<uint32_t> Encode(absl::string_view text) const;
  // Encode(text).size() without building the vector.
  size_t CountTokens(absl::string_view text) const;

  // The bytes of `tokens` concatenated; not necessarily UTF-8 when a
  // multi-byte character is split across the given tokens. Fails on an
  // unknown token id.
  absl::StatusOr<std::string> Decode(absl::Span<const uint32_t> tokens) const;

  const BpeRanks& ranks() const { return *ranks_; }

 private:
  Encoding() = default;

  template <typename OnPiece>
  void Split(absl::string_view text, OnPiece&& on_piece) const;

  std::string name_;
  uint32_t n_vocab_ = 0;
  std::unique_ptr<BpeRanks> ranks_;
  std::unique_ptr<Pretokenizer> pretokenizer_;
  absl::flat_hash_map<uint32_t, std::string> special_by_id_;
};

}  // namespace aigw::tokenizer

#endif  // AIGW_LIBS_TOKENIZER_ENCODING_H_
