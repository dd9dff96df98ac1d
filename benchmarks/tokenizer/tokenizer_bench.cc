// Tokenizer throughput: tokens/s and bytes/s of CountTokens and Encode for
// English prose, Chinese prose and source code under o200k_base and
// cl100k_base, the chat counter on the cookbook conversation, the two BPE
// merge strategies by piece length, the pre-tokenizer alone, and the
// one-time cost of loading a rank file.
//
//   build-tok/benchmarks/tokenizer/tokenizer_bench [--benchmark_filter=...]

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "libs/tokenizer/bpe.h"
#include "libs/tokenizer/encoding.h"
#include "libs/tokenizer/pretokenizer.h"
#include "libs/tokenizer/registry.h"
#include "libs/tokenizer/token_counter.h"

namespace aigw::tokenizer {
namespace {

constexpr absl::string_view kEnglish =
    "When the gateway receives a chat completion request, it first decides "
    "which provider and model should serve it. The caller may name a "
    "provider explicitly, or leave the choice to the routing table, which "
    "weighs price, latency and the remaining quota of every key. If the "
    "first attempt fails with a rate limit or a server error, the request "
    "is retried on another key, and after that on the fallback targets the "
    "caller listed, in order.\n\n"
    "Token accounting matters for two reasons. Keys have per-minute token "
    "budgets, so the pool must estimate a request's size before it leases a "
    "key; and bills are computed from the usage each provider reports. Some "
    "providers omit usage from streamed responses, in which case we count "
    "the generated text ourselves. Counting has to be fast: it runs on "
    "every request, often on prompts of tens of thousands of tokens.\n\n"
    "Isn't it odd that the same sentence costs a different number of tokens "
    "at each vendor? We'll see why: they've all trained their own "
    "vocabularies, and they're rarely published. In 2024, a 1,000-word "
    "essay cost about 1,300 tokens with one tokenizer and 1,600 with "
    "another - roughly 23% more.\n";

constexpr absl::string_view kChinese =
    "当网关收到一个对话补全请求时，它首先决定由哪个服务商和模型来处理。调用方可以"
    "明确指定服务商，也可以交给路由表来选择；路由表会综合考虑价格、延迟以及每个密"
    "钥剩余的配额。如果第一次调用因为限流或服务器错误而失败，请求会换一个密钥重试，"
    "然后再按调用方给出的顺序依次尝试备用目标。\n\n"
    "统计令牌数量有两个用途。每个密钥都有每分钟的令牌预算，所以在租用密钥之前必须"
    "先估算请求的大小；而账单则根据服务商返回的用量来计算。有些服务商在流式响应里"
    "不返回用量，这时我们只能自己统计生成的文本。统计必须足够快，因为每个请求都要"
    "执行，而提示词往往有好几万个令牌。\n";

constexpr absl::string_view kCode =
    "absl::StatusOr<Lease> KeyPool::Lease(const LeaseRequest& request) {\n"
    "  absl::MutexLock lock(&mu_);\n"
    "  auto it = providers_.find(request.provider_code());\n"
    "  if (it == providers_.end()) {\n"
    "    return absl::NotFoundError(absl::StrCat(\"no provider \", "
    "request.provider_code()));\n"
    "  }\n"
    "  for (KeyState& key : it->second.keys) {\n"
    "    if (key.cooldown_until > clock_->Now()) continue;  // still cooling\n"
    "    if (key.tokens_this_minute + request.estimated_tokens() > key.tpm) "
    "continue;\n"
    "    key.tokens_this_minute += request.estimated_tokens();\n"
    "    return Lease{key.id, key.api_key, next_lease_id_++};\n"
    "  }\n"
    "  return absl::ResourceExhaustedError(\"all keys busy\");\n"
    "}\n\n";

// About 64 KiB of each kind: large enough that per-call overhead vanishes.
std::string Repeat(absl::string_view unit) {
  std::string text;
  while (text.size() < 64 * 1024) absl::StrAppend(&text, unit);
  return text;
}

const Encoding& Get(absl::string_view name) {
  absl::StatusOr<const Encoding*> e = GetEncoding(name);
  if (!e.ok()) {
    fprintf(stderr, "%s\n", std::string(e.status().message()).c_str());
    std::abort();
  }
  return **e;
}

void Report(benchmark::State& state, size_t tokens, size_t bytes) {
  state.counters["tokens/s"] = benchmark::Counter(
      static_cast<double>(tokens) * state.iterations(), benchmark::Counter::kIsRate);
  state.counters["tokens"] = static_cast<double>(tokens);
  state.SetBytesProcessed(static_cast<int64_t>(bytes) * state.iterations());
}

void BM_CountTokens(benchmark::State& state, absl::string_view encoding,
                    absl::string_view unit) {
  const Encoding& e = Get(encoding);
  const std::string text = Repeat(unit);
  size_t tokens = 0;
  for (auto _ : state) {
    tokens = e.CountTokens(text);
    benchmark::DoNotOptimize(tokens);
  }
  Report(state, tokens, text.size());
}

void BM_Encode(benchmark::State& state, absl::string_view encoding,
               absl::string_view unit) {
  const Encoding& e = Get(encoding);
  const std::string text = Repeat(unit);
  size_t tokens = 0;
  for (auto _ : state) {
    std::vector<uint32_t> ids = e.Encode(text);
    tokens = ids.size();
    benchmark::DoNotOptimize(ids.data());
  }
  Report(state, tokens, text.size());
}

BENCHMARK_CAPTURE(BM_CountTokens, o200k_english, kO200kBase, kEnglish);
BENCHMARK_CAPTURE(BM_CountTokens, o200k_chinese, kO200kBase, kChinese);
BENCHMARK_CAPTURE(BM_CountTokens, o200k_code, kO200kBase, kCode);
BENCHMARK_CAPTURE(BM_CountTokens, cl100k_english, kCl100kBase, kEnglish);
BENCHMARK_CAPTURE(BM_CountTokens, cl100k_chinese, kCl100kBase, kChinese);
BENCHMARK_CAPTURE(BM_CountTokens, cl100k_code, kCl100kBase, kCode);
BENCHMARK_CAPTURE(BM_Encode, o200k_english, kO200kBase, kEnglish);
BENCHMARK_CAPTURE(BM_Encode, o200k_chinese, kO200kBase, kChinese);
BENCHMARK_CAPTURE(BM_Encode, cl100k_english, kCl100kBase, kEnglish);
BENCHMARK_CAPTURE(BM_Encode, cl100k_chinese, kCl100kBase, kChinese);

void BM_CountChatTokens(benchmark::State& state) {
  const std::vector<ChatMessage> messages = {
      {"system", "You are a helpful assistant that answers in plain English.", ""},
      {"user", kEnglish, ""},
      {"assistant", kChinese, ""},
      {"user", "Summarize the two texts above in one sentence.", "alice"},
  };
  int64_t tokens = 0;
  size_t bytes = 0;
  for (const ChatMessage& m : messages) bytes += m.content.size();
  for (auto _ : state) {
    absl::StatusOr<TokenCount> c = CountChatTokens("gpt-4o", messages);
    tokens = c.ok() ? c->tokens : -1;
    benchmark::DoNotOptimize(tokens);
  }
  Report(state, static_cast<size_t>(tokens), bytes);
}
BENCHMARK(BM_CountChatTokens);

void BM_Pretokenize(benchmark::State& state, absl::string_view encoding,
                    absl::string_view unit) {
  const EncodingSpec& spec =
      encoding == kO200kBase ? O200kBaseSpec() : Cl100kBaseSpec();
  auto p = Pretokenizer::Create(spec.pattern);
  const std::string text = Repeat(unit);
  size_t pieces = 0;
  for (auto _ : state) {
    pieces = 0;
    (void)(*p)->ForEachPiece(text, [&](absl::string_view) { ++pieces; });
    benchmark::DoNotOptimize(pieces);
  }
  state.counters["pieces"] = static_cast<double>(pieces);
  state.SetBytesProcessed(static_cast<int64_t>(text.size()) * state.iterations());
}
BENCHMARK_CAPTURE(BM_Pretokenize, o200k_english, kO200kBase, kEnglish);
BENCHMARK_CAPTURE(BM_Pretokenize, o200k_chinese, kO200kBase, kChinese);
BENCHMARK_CAPTURE(BM_Pretokenize, cl100k_english, kCl100kBase, kEnglish);
BENCHMARK_CAPTURE(BM_Pretokenize, cl100k_chinese, kCl100kBase, kChinese);

// One piece merged both ways: a run of CJK characters (o200k's pattern makes
// a whole sentence one piece) and a run of Latin letters that is not a word
// (identifiers, base64), of range(0) bytes.
void BM_Merge(benchmark::State& state, bool heap, bool cjk) {
  const BpeRanks& ranks = Get(kO200kBase).ranks();
  std::string piece;
  const std::string unit = cjk ? "统计令牌数量有两个用途每个密钥都有每分钟的令牌预算"
                               : "xQzvKpLwRtYbNmJhGfDsAeUiOcVbXnMlKjHgFdSa";
  while (piece.size() < static_cast<size_t>(state.range(0))) piece += unit;
  piece.resize(static_cast<size_t>(state.range(0)) / (cjk ? 3 : 1) * (cjk ? 3 : 1));
  std::vector<uint32_t> bounds;
  for (auto _ : state) {
    if (heap) {
      internal::MergeByHeap(ranks, piece, &bounds);
    } else {
      internal::MergeByScan(ranks, piece, &bounds);
    }
    benchmark::DoNotOptimize(bounds.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(piece.size()) * state.iterations());
}
BENCHMARK_CAPTURE(BM_Merge, scan_cjk, false, true)->RangeMultiplier(2)->Range(6, 1536);
BENCHMARK_CAPTURE(BM_Merge, heap_cjk, true, true)->RangeMultiplier(2)->Range(6, 1536);
BENCHMARK_CAPTURE(BM_Merge, scan_latin, false, false)->RangeMultiplier(2)->Range(4, 1024);
BENCHMARK_CAPTURE(BM_Merge, heap_latin, true, false)->RangeMultiplier(2)->Range(4, 1024);

void BM_LoadO200k(benchmark::State& state) {
  const std::string path = absl::StrCat(DataDir(), "/o200k_base.tiktoken");
  for (auto _ : state) {
    auto e = Encoding::Load(O200kBaseSpec(), path);
    if (!e.ok()) state.SkipWithError(std::string(e.status().message()).c_str());
    benchmark::DoNotOptimize(e);
  }
}
BENCHMARK(BM_LoadO200k)->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace
}  // namespace aigw::tokenizer
