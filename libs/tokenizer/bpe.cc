#include "libs/tokenizer/bpe.h"

#include <algorithm>
#include <cstring>
#include <functional>
#include <string>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace aigw::tokenizer {
namespace {

constexpr uint32_t kNoRank = BpeRanks::kNoRank;
// Far above any real vocabulary; bounds the rank -> bytes table.
constexpr uint32_t kMaxRank = 1u << 24;

struct Part {
  uint32_t start;
  uint32_t rank;  // of this part merged with the next one
};

// tiktoken's _byte_pair_merge, step for step: O(n) per merge.
template <typename Emit>
void ScanMerge(const BpeRanks& ranks, absl::string_view piece, Emit&& emit) {
  thread_local std::vector<Part> parts;
  const size_t n = piece.size();
  const auto* p = reinterpret_cast<const unsigned char*>(piece.data());
  parts.clear();
  parts.reserve(n + 1);
  uint32_t min_rank = kNoRank;
  size_t min_i = 0;
  for (size_t i = 0; i + 1 < n; ++i) {
    const uint32_t r = ranks.PairRank(p[i], p[i + 1]);
    if (r < min_rank) {
      min_rank = r;
      min_i = i;
    }
    parts.push_back({static_cast<uint32_t>(i), r});
  }
  parts.push_back({static_cast<uint32_t>(n - 1), kNoRank});
  parts.push_back({static_cast<uint32_t>(n), kNoRank});

  // The rank of parts i and i+1 merged with part i+2 (i.e. the pair that
  // starts at i once i and i+1 are one part).
  auto rank_after_merge = [&](size_t i) -> uint32_t {
    if (i + 3 >= parts.size()) return kNoRank;
    return ranks.Rank(
        piece.substr(parts[i].start, parts[i + 3].start - parts[i].start));
  };
  while (min_rank != kNoRank) {
    const size_t i = min_i;
    if (i > 0) parts[i - 1].rank = rank_after_merge(i - 1);
    parts[i].rank = rank_after_merge(i);
    parts.erase(parts.begin() + static_cast<std::ptrdiff_t>(i) + 1);
    min_rank = kNoRank;
    for (size_t j = 0; j + 1 < parts.size(); ++j) {
      if (parts[j].rank < min_rank) {
        min_rank = parts[j].rank;
        min_i = j;
      }
    }
  }
  for (size_t j = 0; j + 1 < parts.size(); ++j) {
    emit(parts[j].start, parts[j + 1].start);
  }
}

// The same merge order with a min-heap of (rank, start) and a linked list of
// parts: O(n log n) where the scan is quadratic, which matters for long
// pieces (base64 blobs, CJK sentences, runs of one symbol). Stale entries are
// skipped by checking them against the part's current rank; ties go to the
// lower start offset, exactly like the scan's leftmost-minimum rule.
template <typename Emit>
void HeapMerge(const BpeRanks& ranks, absl::string_view piece, Emit&& emit) {
  struct Scratch {
    std::vector<uint32_t> next, prev, rank;
    std::vector<uint64_t> heap;
  };
  thread_local Scratch s;
  const uint32_t n = static_cast<uint32_t>(piece.size());
  const auto* p = reinterpret_cast<const unsigned char*>(piece.data());
  s.next.resize(n + 1);
  s.prev.resize(n + 1);
  s.rank.assign(n + 1, kNoRank);
  s.heap.clear();
  // Node i is the part starting at byte i; node n is the end sentinel.
  // A removed node gets prev == n + 1.
  constexpr auto key = [](uint32_t rank, uint32_t start) {
    return (static_cast<uint64_t>(rank) << 32) | start;
  };
  for (uint32_t i = 0; i < n; ++i) {
    s.next[i] = i + 1;
    s.prev[i] = i == 0 ? 0 : i - 1;
    if (i + 1 < n) {
      s.rank[i] = ranks.PairRank(p[i], p[i + 1]);
      if (s.rank[i] != kNoRank) s.heap.push_back(key(s.rank[i], i));
    }
  }
  s.next[n] = n;
  s.prev[n] = n == 0 ? 0 : n - 1;
  std::make_heap(s.heap.begin(), s.heap.end(), std::greater<>());
  const uint32_t removed = n + 1;
  while (!s.heap.empty()) {
    std::pop_heap(s.heap.begin(), s.heap.end(), std::greater<>());
    const uint64_t top = s.heap.back();
    s.heap.pop_back();
    const uint32_t i = static_cast<uint32_t>(top);
    const uint32_t r = static_cast<uint32_t>(top >> 32);
    if (s.prev[i] == removed || s.rank[i] != r) continue;  // stale
    const uint32_t j = s.next[i];
    const uint32_t k = s.next[j];
    s.next[i] = k;
    s.prev[k] = i;
    s.prev[j] = removed;
    s.rank[j] = kNoRank;
    s.rank[i] = k < n ? ranks.Rank(piece.substr(i, s.next[k] - i)) : kNoRank;
    if (s.rank[i] != kNoRank) {
      s.heap.push_back(key(s.rank[i], i));
      std::push_heap(s.heap.begin(), s.heap.end(), std::greater<>());
    }
    if (i > 0) {
      const uint32_t h = s.prev[i];
      s.rank[h] = ranks.Rank(piece.substr(h, k - h));
      if (s.rank[h] != kNoRank) {
        s.heap.push_back(key(s.rank[h], h));
        std::push_heap(s.heap.begin(), s.heap.end(), std::greater<>());
      }
    }
  }
  for (uint32_t i = 0; i < n; i = s.next[i]) emit(i, s.next[i]);
  // The scratch is ~20 bytes per piece byte; don't let one huge piece pin
  // that much memory in every thread for good.
  if (n > (1u << 16)) s = Scratch();
}

// The heap merge measured faster than the scan at every piece length, down
// to 4 bytes (tokenizer_bench BM_Merge), so it is the one used; the scan
// stays as the line-by-line tiktoken reference the tests compare against.
template <typename Emit>
void Merge(const BpeRanks& ranks, absl::string_view piece, Emit&& emit) {
  HeapMerge(ranks, piece, emit);
}

// The "<base64> <rank>" lines of a tiktoken file, decoded, with what the
// tables built from them need to know of them all.
struct RankLines {
  std::vector<std::pair<std::string, uint32_t>> entries;
  size_t total_bytes = 0;
  size_t max_token_bytes = 0;
  // One past the highest rank.
  uint32_t limit = 0;
};

absl::StatusOr<RankLines> ReadRankLines(absl::string_view tiktoken_file) {
  RankLines out;
  out.entries.reserve(tiktoken_file.size() / 16);
  size_t line_no = 0;
  std::string bytes;
  while (!tiktoken_file.empty()) {
    ++line_no;
    size_t eol = tiktoken_file.find('\n');
    absl::string_view line = tiktoken_file.substr(0, eol);
    tiktoken_file.remove_prefix(eol == absl::string_view::npos
                                    ? tiktoken_file.size()
                                    : eol + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    const size_t space = line.find(' ');
    uint32_t rank = 0;
    if (space == absl::string_view::npos ||
        !absl::SimpleAtoi(line.substr(space + 1), &rank) ||
        !absl::Base64Unescape(line.substr(0, space), &bytes) || bytes.empty()) {
      return absl::DataLossError(
          absl::StrCat("line ", line_no, " is not \"<base64> <rank>\""));
    }
    if (rank >= kMaxRank) {
      return absl::DataLossError(
          absl::StrCat("line ", line_no, ": rank ", rank, " is too large"));
    }
    out.total_bytes += bytes.size();
    out.max_token_bytes = std::max(out.max_token_bytes, bytes.size());
    out.limit = std::max(out.limit, rank + 1);
    out.entries.emplace_back(std::move(bytes), rank);
  }
  if (out.entries.empty()) return absl::DataLossError("no ranks");
  return out;
}

}  // namespace

absl::StatusOr<std::unique_ptr<BpeRanks>> BpeRanks::Parse(
    absl::string_view tiktoken_file) {
  absl::StatusOr<RankLines> lines = ReadRankLines(tiktoken_file);
  if (!lines.ok()) return lines.status();
  const auto& [entries, total_bytes, max_token_bytes, limit] = *lines;
  std::unique_ptr<BpeRanks> r(new BpeRanks());
  r->arena_ = std::make_unique<char[]>(total_bytes);
  r->ranks_.reserve(entries.size());
  r->max_token_bytes_ = max_token_bytes;
  r->by_rank_.assign(limit, absl::string_view());
  r->byte_rank_.fill(kNoRank);
  r->pair_rank_.assign(1 << 16, kNoRank);
  size_t offset = 0;
  for (const auto& [token, rank] : entries) {
    char* dst = r->arena_.get() + offset;
    std::memcpy(dst, token.data(), token.size());
    offset += token.size();
    const absl::string_view view(dst, token.size());
    if (!r->ranks_.emplace(view, rank).second) {
      return absl::DataLossError(absl::StrCat(
          "token of rank ", rank, " appears twice (also rank ",
          r->ranks_.at(view), ")"));
    }
    if (!r->by_rank_[rank].empty()) {
      return absl::DataLossError(absl::StrCat("rank ", rank, " appears twice"));
    }
    r->by_rank_[rank] = view;
    const auto* u = reinterpret_cast<const unsigned char*>(dst);
    if (token.size() == 1) r->byte_rank_[u[0]] = rank;
    if (token.size() == 2) r->pair_rank_[(u[0] << 8) | u[1]] = rank;
  }
  for (int b = 0; b < 256; ++b) {
    if (r->byte_rank_[b] == kNoRank) {
      return absl::DataLossError(
          absl::StrCat("byte 0x", absl::Hex(b), " has no rank"));
    }
  }
  return r;
}

void AppendBytePairTokens(const BpeRanks& ranks, absl::string_view piece,
                          std::vector<uint32_t>* out) {
  const uint32_t whole = ranks.Rank(piece);
  if (whole != kNoRank) {
    out->push_back(whole);
    return;
  }
  Merge(ranks, piece, [&](uint32_t begin, uint32_t end) {
    out->push_back(ranks.Rank(piece.substr(begin, end - begin)));
  });
}

size_t CountBytePairTokens(const BpeRanks& ranks, absl::string_view piece) {
  if (ranks.Rank(piece) != kNoRank) return 1;
  size_t count = 0;
  Merge(ranks, piece, [&](uint32_t, uint32_t) { ++count; });
  return count;
}

namespace internal {

void MergeByScan(const BpeRanks& ranks, absl::string_view piece,
                 std::vector<uint32_t>* bounds) {
  bounds->clear();
  ScanMerge(ranks, piece, [&](uint32_t begin, uint32_t) { bounds->push_back(begin); });
  bounds->push_back(static_cast<uint32_t>(piece.size()));
}

void MergeByHeap(const BpeRanks& ranks, absl::string_view piece,
                 std::vector<uint32_t>* bounds) {
  bounds->clear();
  HeapMerge(ranks, piece, [&](uint32_t begin, uint32_t) { bounds->push_back(begin); });
  bounds->push_back(static_cast<uint32_t>(piece.size()));
}

}  // namespace internal
}  // namespace aigw::tokenizer
