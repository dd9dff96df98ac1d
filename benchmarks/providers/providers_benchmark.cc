// Cost of the wire-format layer on the completion path: building the
// upstream request, parsing the response, parsing a stream, pricing.
//
//   build-prov/benchmarks/providers/providers_benchmark

#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "libs/providers/adapter.h"
#include "libs/providers/cost.h"
#include "libs/providers/sse_decoder.h"
#include "tests/providers/fixtures.h"

namespace aigw::providers {
namespace {

// A typical lyrics-generation call: a system prompt, a short history and a
// request, about 1.3 KB of text.
ChatParams TypicalParams(bool stream) {
  ChatParams p;
  p.model = "gpt-4o";
  p.max_tokens = 1024;
  p.temperature = 0.8;
  p.stream = stream;
  p.user = "user-1234";
  p.messages = {
      {"system",
       "You are a songwriting assistant for a music-creation platform. Write original lyrics "
       "with a clear verse / chorus structure, vivid imagery and consistent rhyme. Keep lines "
       "singable: 6 to 10 syllables. Never reuse copyrighted lyrics.",
       ""},
      {"user", "Write a verse about a rainy night in Paris, melancholic but hopeful.", ""},
      {"assistant",
       "Streetlights drown in the Seine tonight,\nUmbrellas bloom in the fading light,\n"
       "Your letter folded in my coat,\nA promise in a paper boat.",
       ""},
      {"user",
       "Great. Now a chorus that lifts the mood, with the hook \"we'll dance when the rain "
       "stops\" and an internal rhyme in the second line. Also suggest a chord progression in "
       "C major for it, and mark the syllable stresses.",
       ""}};
  return p;
}

void BM_BuildRequest(benchmark::State& state, const char* format, bool stream) {
  const ProviderAdapter& adapter = AdapterFor(format);
  const ChatParams params = TypicalParams(stream);
  size_t bytes = 0;
  for (auto _ : state) {
    HttpRequest r = adapter.BuildRequest(params, "https://api.example.com/v1", "sk-0123456789abcdef");
    bytes += r.body.size();
    benchmark::DoNotOptimize(r);
  }
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
}
BENCHMARK_CAPTURE(BM_BuildRequest, openai, "openai", false);
BENCHMARK_CAPTURE(BM_BuildRequest, openai_stream, "openai", true);
BENCHMARK_CAPTURE(BM_BuildRequest, anthropic, "anthropic", false);

void BM_ParseResponse(benchmark::State& state, const char* format, const char* body) {
  const ProviderAdapter& adapter = AdapterFor(format);
  const std::string text = body;
  for (auto _ : state) {
    absl::StatusOr<Completion> c = adapter.ParseResponse(text);
    if (!c.ok()) state.SkipWithError("parse failed");
    benchmark::DoNotOptimize(c);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}
BENCHMARK_CAPTURE(BM_ParseResponse, openai, "openai", fixtures::kOpenAiResponse);
BENCHMARK_CAPTURE(BM_ParseResponse, deepseek_reasoner, "openai", fixtures::kDeepSeekReasonerResponse);
BENCHMARK_CAPTURE(BM_ParseResponse, anthropic, "anthropic", fixtures::kAnthropicResponse);

// The whole non-streaming wire work of one call.
void BM_BuildAndParse(benchmark::State& state, const char* format, const char* body) {
  const ProviderAdapter& adapter = AdapterFor(format);
  const ChatParams params = TypicalParams(false);
  const std::string text = body;
  const ModelPrices prices{2'500'000, 10'000'000, 1'250'000, 0};
  for (auto _ : state) {
    HttpRequest r = adapter.BuildRequest(params, "https://api.example.com/v1", "sk-0123456789abcdef");
    benchmark::DoNotOptimize(r);
    absl::StatusOr<Completion> c = adapter.ParseResponse(text);
    int64_t cost = CostNanos(c->usage, prices);
    benchmark::DoNotOptimize(cost);
  }
}
BENCHMARK_CAPTURE(BM_BuildAndParse, openai, "openai", fixtures::kOpenAiResponse);
BENCHMARK_CAPTURE(BM_BuildAndParse, anthropic, "anthropic", fixtures::kAnthropicResponse);

// A whole captured stream fed in 64-byte pieces (a realistic socket read
// size for small SSE frames); items = stream events produced.
void BM_ParseStream(benchmark::State& state, const char* format, const char* body) {
  const ProviderAdapter& adapter = AdapterFor(format);
  const absl::string_view text = body;
  const size_t piece = static_cast<size_t>(state.range(0));
  std::vector<StreamEvent> events;
  int64_t produced = 0;
  for (auto _ : state) {
    std::unique_ptr<StreamParser> parser = adapter.NewStreamParser();
    events.clear();
    for (size_t pos = 0; pos < text.size(); pos += piece) {
      if (!parser->Feed(text.substr(pos, piece), &events).ok()) state.SkipWithError("feed failed");
    }
    produced += static_cast<int64_t>(events.size());
  }
  state.SetItemsProcessed(produced);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}
BENCHMARK_CAPTURE(BM_ParseStream, openai, "openai", fixtures::kOpenAiStream)->Arg(64)->Arg(4096);
BENCHMARK_CAPTURE(BM_ParseStream, deepseek, "openai", fixtures::kDeepSeekStream)->Arg(64)->Arg(4096);
BENCHMARK_CAPTURE(BM_ParseStream, anthropic, "anthropic", fixtures::kAnthropicStream)
    ->Arg(64)
    ->Arg(4096);

void BM_SseDecodeOnly(benchmark::State& state) {
  const absl::string_view text = fixtures::kAnthropicStream;
  int64_t events = 0;
  for (auto _ : state) {
    SseDecoder decoder;
    absl::Status s = decoder.Feed(text, [&events](SseEvent& e) {
      benchmark::DoNotOptimize(e.data.data());
      ++events;
      return absl::OkStatus();
    });
    benchmark::DoNotOptimize(s);
  }
  state.SetItemsProcessed(events);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_SseDecodeOnly);

void BM_CostNanos(benchmark::State& state) {
  TokenUsage u{.prompt = 3050, .completion = 503, .total = 3553, .cached_prompt = 2000,
               .cache_creation = 1000};
  const ModelPrices prices{3'000'000, 15'000'000, 300'000, 3'750'000};
  for (auto _ : state) {
    benchmark::DoNotOptimize(u);
    benchmark::DoNotOptimize(CostNanos(u, prices));
  }
}
BENCHMARK(BM_CostNanos);

}  // namespace
}  // namespace aigw::providers

BENCHMARK_MAIN();
