// The tokenizer on caller text (CountTokens, the counting of prompts and of
// streamed completions without usage): libs/tokenizer's pre-tokenizer (PCRE2
// running tiktoken's patterns), BPE and per-model counting, on arbitrary
// bytes.
//
// Input: the text. For o200k_base and cl100k_base: the pre-tokenizer's
// pieces follow each other and cover the (UTF-8 repaired) text and it never
// gives up; Encode gives ids below n_vocab that Decode turns back into that
// text; CountTokens equals the length of Encode. The counts of every method
// (exact, the Anthropic and DeepSeek estimates) are not negative, a chat
// that holds the text twice counts at least twice the text; a streamed
// completion counted from its deltas counts as the whole text.
//
// Needs the rank files (scripts/fetch-tokenizer-data, run by the build into
// build-fuzz/tokenizer-data).

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "fuzz/split_pieces.h"
#include "libs/common/utf8.h"
#include "libs/tokenizer/encoding.h"
#include "libs/tokenizer/pretokenizer.h"
#include "libs/tokenizer/registry.h"
#include "libs/tokenizer/token_counter.h"

namespace {

using aigw::tokenizer::Encoding;
using aigw::tokenizer::Pretokenizer;

struct Loaded {
  const Encoding* encoding;
  std::unique_ptr<Pretokenizer> pretokenizer;
};

Loaded Load(absl::string_view name, const aigw::tokenizer::EncodingSpec& spec) {
  absl::StatusOr<const Encoding*> encoding = aigw::tokenizer::GetEncoding(name);
  absl::StatusOr<std::unique_ptr<Pretokenizer>> pretokenizer = Pretokenizer::Create(spec.pattern);
  if (!encoding.ok() || !pretokenizer.ok()) {
    fprintf(stderr, "tokenizer_fuzzer: cannot load %s: %s %s\n", std::string(name).c_str(),
            encoding.status().ToString().c_str(), pretokenizer.status().ToString().c_str());
    abort();
  }
  return {*encoding, *std::move(pretokenizer)};
}

void CheckEncoding(const Loaded& loaded, absl::string_view text, const std::string& valid) {
  size_t end = 0;
  absl::Status split = loaded.pretokenizer->ForEachPiece(valid, [&](absl::string_view piece) {
    if (piece.data() != valid.data() + end || piece.empty()) abort();  // a gap or an empty piece
    end += piece.size();
  });
  if (!split.ok() || end != valid.size()) {
    fprintf(stderr, "pre-tokenizer of %s stopped at %zu of %zu bytes: %s\n",
            loaded.encoding->name().c_str(), end, valid.size(), split.ToString().c_str());
    abort();
  }

  const std::vector<uint32_t> tokens = loaded.encoding->Encode(text);
  for (uint32_t id : tokens) {
    if (id >= loaded.encoding->n_vocab()) abort();
  }
  absl::StatusOr<std::string> decoded = loaded.encoding->Decode(tokens);
  if (!decoded.ok() || *decoded != valid) {
    fprintf(stderr, "%s: Decode(Encode(text)) is not the text\n", loaded.encoding->name().c_str());
    abort();
  }
  if (loaded.encoding->CountTokens(text) != tokens.size()) abort();
}

void CheckCounting(absl::string_view text) {
  using aigw::tokenizer::ChatMessage;
  using aigw::tokenizer::TokenCount;
  // One model per counting method but the generic one (o200k_base as is,
  // which CheckEncoding covers).
  for (absl::string_view model : {"gpt-4o", "claude-3-5-sonnet", "deepseek-chat"}) {
    absl::StatusOr<TokenCount> alone = aigw::tokenizer::CountTextTokens(model, text);
    if (!alone.ok() || alone->tokens < 0) abort();
    const ChatMessage chat[] = {{"user", text, {}}, {"assistant", "ok", text}};
    absl::StatusOr<TokenCount> counted_chat = aigw::tokenizer::CountChatTokens(model, chat);
    if (!counted_chat.ok() || counted_chat->tokens < 2 * alone->tokens) abort();
    aigw::tokenizer::CompletionTokenCounter streamed(model);
    for (absl::string_view delta : aigw::fuzz::SplitPieces(text)) streamed.Append(delta);
    absl::StatusOr<TokenCount> counted = streamed.Count();
    if (!counted.ok() || counted->tokens != alone->tokens) abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const Loaded* const o200k =
      new Loaded(Load(aigw::tokenizer::kO200kBase, aigw::tokenizer::O200kBaseSpec()));
  static const Loaded* const cl100k =
      new Loaded(Load(aigw::tokenizer::kCl100kBase, aigw::tokenizer::Cl100kBaseSpec()));
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  const std::string valid = aigw::ToValidUtf8(text);
  CheckEncoding(*o200k, text, valid);
  CheckEncoding(*cl100k, text, valid);
  CheckCounting(text);
  return 0;
}
