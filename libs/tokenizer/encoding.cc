#include "libs/tokenizer/encoding.h"

#include <openssl/sha.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "libs/common/utf8.h"

namespace aigw::tokenizer {
namespace {

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("cannot open ", path, ": ", std::strerror(errno)));
  }
  std::string contents;
  char buffer[1 << 16];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), f)) > 0) {
    contents.append(buffer, n);
  }
  const bool failed = std::ferror(f) != 0;
  std::fclose(f);
  if (failed) return absl::DataLossError(absl::StrCat("cannot read ", path));
  return contents;
}

std::string Sha256Hex(absl::string_view data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(),
         digest);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), sizeof(digest)));
}

}  // namespace

const EncodingSpec& O200kBaseSpec() {
  static const EncodingSpec* spec = new EncodingSpec{
      "o200k_base",
      "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*"
      "[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
      "|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+"
      "[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
      "|\\p{N}{1,3}"
      "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*"
      "|\\s*[\\r\\n]+"
      "|\\s+(?!\\S)"
      "|\\s+",
      {{"<|endoftext|>", 199999}, {"<|endofprompt|>", 200018}},
      199998,
      "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"};
  return *spec;
}

const EncodingSpec& Cl100kBaseSpec() {
  static const EncodingSpec* spec = new EncodingSpec{
      "cl100k_base",
      "(?i:'s|'t|'re|'ve|'m|'ll|'d)"
      "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+"
      "|\\p{N}{1,3}"
      "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*"
      "|\\s*[\\r\\n]+"
      "|\\s+(?!\\S)"
      "|\\s+",
      {{"<|endoftext|>", 100257},
       {"<|fim_prefix|>", 100258},
       {"<|fim_middle|>", 100259},
       {"<|fim_suffix|>", 100260},
       {"<|endofprompt|>", 100276}},
      100256,
      "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7"};
  return *spec;
}

absl::StatusOr<std::unique_ptr<Encoding>> Encoding::Load(
    const EncodingSpec& spec, const std::string& path) {
  absl::StatusOr<std::string> contents = ReadFile(path);
  if (!contents.ok()) return contents.status();
  absl::StatusOr<std::unique_ptr<Encoding>> encoding = Create(spec, *contents);
  if (!encoding.ok()) {
    return absl::Status(encoding.status().code(),
                        absl::StrCat(path, ": ", encoding.status().message()));
  }
  return encoding;
}

absl::StatusOr<std::unique_ptr<Encoding>> Encoding::Create(
    const EncodingSpec& spec, absl::string_view tiktoken_file) {
  if (!spec.expected_sha256.empty()) {
    const std::string sha = Sha256Hex(tiktoken_file);
    if (sha != spec.expected_sha256) {
      return absl::DataLossError(absl::StrCat(
          spec.name, " rank file has SHA-256 ", sha, ", expected ",
          spec.expected_sha256, " (a different or damaged file)"));
    }
  }
  absl::StatusOr<std::unique_ptr<BpeRanks>> ranks = BpeRanks::Parse(tiktoken_file);
  if (!ranks.ok()) return ranks.status();
  if (spec.expected_ranks != 0 && (*ranks)->size() != spec.expected_ranks) {
    return absl::DataLossError(absl::StrCat(spec.name, " has ", (*ranks)->size(),
                                            " ranks, expected ",
                                            spec.expected_ranks));
  }
  absl::StatusOr<std::unique_ptr<Pretokenizer>> pretokenizer =
      Pretokenizer::Create(spec.pattern);
  if (!pretokenizer.ok()) return pretokenizer.status();

  std::unique_ptr<Encoding> e(new Encoding());
  e->name_ = spec.name;
  e->n_vocab_ = (*ranks)->rank_limit();
  for (const auto& [text, id] : spec.special_tokens) {
    if (!(*ranks)->TokenBytes(id).empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "special token ", text, " reuses the id of an ordinary token"));
    }
    e->special_by_id_[id] = text;
    e->n_vocab_ = std::max(e->n_vocab_, id + 1);
  }
  e->ranks_ = std::move(*ranks);
  e->pretokenizer_ = std::move(*pretokenizer);
  return e;
}

template <typename OnPiece>
void Encoding::Split(absl::string_view text, OnPiece&& on_piece) const {
  std::string repaired;
  if (!IsValidUtf8(text)) {
    repaired = ToValidUtf8(text);
    text = repaired;
  }
  size_t done = 0;
  absl::Status status =
      pretokenizer_->ForEachPiece(text, [&](absl::string_view piece) {
        on_piece(piece);
        done = static_cast<size_t>(piece.data() + piece.size() - text.data());
      });
  // Not expected for tiktoken's patterns; if PCRE2 ever gives up, count the
  // rest as one piece rather than dropping it.
  if (!status.ok() && done < text.size()) on_piece(text.substr(done));
}

std::vector<uint32_t> Encoding::Encode(absl::string_view text) const {
  std::vector<uint32_t> tokens;
  tokens.reserve(text.size() / 3 + 1);
  Split(text, [&](absl::string_view piece) {
    AppendBytePairTokens(*ranks_, piece, &tokens);
  });
  return tokens;
}

size_t Encoding::CountTokens(absl::string_view text) const {
  size_t count = 0;
  Split(text, [&](absl::string_view piece) {
    count += CountBytePairTokens(*ranks_, piece);
  });
  return count;
}

absl::StatusOr<std::string> Encoding::Decode(
    absl::Span<const uint32_t> tokens) const {
  std::string out;
  for (uint32_t id : tokens) {
    absl::string_view bytes = ranks_->TokenBytes(id);
    if (!bytes.empty()) {
      out.append(bytes.data(), bytes.size());
      continue;
    }
    auto it = special_by_id_.find(id);
    if (it == special_by_id_.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("token id ", id, " is not in ", name_));
    }
    out.append(it->second);
  }
  return out;
}

}  // namespace aigw::tokenizer
