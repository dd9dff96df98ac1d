#ifndef AIGW_LIBS_TOKENIZER_BPE_H_
#define AIGW_LIBS_TOKENIZER_BPE_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace aigw::tokenizer {

// The mergeable ranks of a byte-level BPE encoding: every token is a byte
// string, and a lower rank means an earlier (preferred) merge.
class BpeRanks {
 public:
  static constexpr uint32_t kNoRank = UINT32_MAX;

  // Parses OpenAI's .tiktoken format: one "<base64 bytes> <rank>" per line.
  // Every single byte must have a rank, or some text would be unencodable.
  static absl::StatusOr<std::unique_ptr<BpeRanks>> Parse(
      absl::string_view tiktoken_file);

  BpeRanks(const BpeRanks&) = delete;
  BpeRanks& operator=(const BpeRanks&) = delete;

  // The rank of `bytes`, or kNoRank.
  uint32_t Rank(absl::string_view bytes) const {
    if (bytes.size() == 2) {
      return pair_rank_[(static_cast<unsigned char>(bytes[0]) << 8) |
                        static_cast<unsigned char>(bytes[1])];
    }
    if (bytes.size() == 1) return byte_rank_[static_cast<unsigned char>(bytes[0])];
    if (bytes.size() > max_token_bytes_) return kNoRank;
    auto it = ranks_.find(bytes);
    return it == ranks_.end() ? kNoRank : it->second;
  }
  uint32_t ByteRank(unsigned char b) const { return byte_rank_[b]; }
  uint32_t PairRank(unsigned char a, unsigned char b) const {
    return pair_rank_[(a << 8) | b];
  }

  // The bytes of token `rank`; empty when no token has that rank.
  absl::string_view TokenBytes(uint32_t rank) const {
    return rank < by_rank_.size() ? by_rank_[rank] : absl::string_view();
  }

  size_t size() const { return ranks_.size(); }
  // One past the highest rank.
  uint32_t rank_limit() const { return static_cast<uint32_t>(by_rank_.size()); }

 private:
  BpeRanks() = default;

  std::unique_ptr<char[]> arena_;  // all token bytes; the views point here
  size_t max_token_bytes_ = 0;
  absl::flat_hash_map<absl::string_view, uint32_t> ranks_;
  std::vector<absl::string_view> by_rank_;
  std::array<uint32_t, 256> byte_rank_;
  // Ranks of all two-byte strings: the first round of every merge looks up
  // each adjacent byte pair, and an array beats hashing there.
  std::vector<uint32_t> pair_rank_;
};

// tiktoken's byte-pair merge: starting from single bytes, repeatedly merge
// the adjacent pair whose concatenation has the lowest rank (the leftmost
// one on ties) until no adjacent pair is a token. `piece` is one
// pre-tokenizer match (non-empty); when it is a token itself that token is
// the result, as in tiktoken. Appends the tokens to `out`.
void AppendBytePairTokens(const BpeRanks& ranks, absl::string_view piece,
                          std::vector<uint32_t>* out);
// The number of tokens AppendBytePairTokens would append.
size_t CountBytePairTokens(const BpeRanks& ranks, absl::string_view piece);

namespace internal {

// The two merge strategies, for tests and benchmarks: tiktoken's quadratic
// scan, kept as the reference, and the heap-based merge that the functions
// above use. Both must give identical results (bpe_test checks this). Fill
// `bounds` with the start offset of each final part, then piece.size().
void MergeByScan(const BpeRanks& ranks, absl::string_view piece,
                 std::vector<uint32_t>* bounds);
void MergeByHeap(const BpeRanks& ranks, absl::string_view piece,
                 std::vector<uint32_t>* bounds);

}  // namespace internal
}  // namespace aigw::tokenizer

#endif  // AIGW_LIBS_TOKENIZER_BPE_H_
