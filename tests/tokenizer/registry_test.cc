#include "libs/tokenizer/registry.h"

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/scoped_env.h"

namespace aigw::tokenizer {
namespace {

using ::aigw::testing::ScopedEnv;
using ::testing::HasSubstr;

// First in this file: the failed load must come before any load of
// cl100k_base in the process.
TEST(GetEncodingTest, AFailedLoadSaysHowToFixItAndIsRetried) {
  absl::SetFlag(&FLAGS_tokenizer_data_dir, "/nonexistent/tokenizer-data");
  absl::StatusOr<const Encoding*> failed = GetEncoding(kCl100kBase);
  absl::SetFlag(&FLAGS_tokenizer_data_dir, "");
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(failed.status().message(), HasSubstr("run scripts/fetch-tokenizer-data DIR"));
  absl::StatusOr<const Encoding*> loaded = GetEncoding(kCl100kBase);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ((*loaded)->name(), "cl100k_base");
}

TEST(GetEncodingTest, EachEncodingIsLoadedOnceAndShared) {
  absl::StatusOr<const Encoding*> first = GetEncoding(kO200kBase);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(GetEncoding(kO200kBase).value_or(nullptr), *first);
  EXPECT_EQ(EncodingForModel("gpt-4o").value_or(nullptr), *first);
  EXPECT_EQ(GetEncoding("r50k_base").status().code(), absl::StatusCode::kNotFound);
}

TEST(GetEncodingTest, ThreadsShareTheRegistry) {
  const std::string text = "Concurrent counting 并发计数 with emoji 😀 and numbers 12345.";
  const size_t want = (*GetEncoding(kO200kBase))->CountTokens(text);
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        absl::StatusOr<const Encoding*> e = EncodingForModel("gpt-4o-mini");
        if (!e.ok() || (*e)->CountTokens(text) != want) ++wrong;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST(DataDirTest, FlagThenEnvThenBuildDefault) {
  ScopedEnv unset("AIGW_TOKENIZER_DATA_DIR", std::nullopt);
  const std::string build_default = DataDir();
  EXPECT_FALSE(build_default.empty());
  {
    ScopedEnv env("AIGW_TOKENIZER_DATA_DIR", "/from/env");
    EXPECT_EQ(DataDir(), "/from/env");
    absl::SetFlag(&FLAGS_tokenizer_data_dir, "/from/flag");
    EXPECT_EQ(DataDir(), "/from/flag");
    absl::SetFlag(&FLAGS_tokenizer_data_dir, "");
  }
  EXPECT_EQ(DataDir(), build_default);
}

TEST(ModelMappingTest, FamiliesAndPrefixes) {
  using Name = absl::optional<absl::string_view>;
  const Name o200k(kO200kBase), cl100k(kCl100kBase);
  EXPECT_EQ(EncodingNameForModel("gpt-4o"), o200k);
  EXPECT_EQ(EncodingNameForModel("gpt-4o-mini-2024-07-18"), o200k);
  EXPECT_EQ(EncodingNameForModel("chatgpt-4o-latest"), o200k);
  EXPECT_EQ(EncodingNameForModel("gpt-4.1-nano"), o200k);
  EXPECT_EQ(EncodingNameForModel("o1"), o200k);
  EXPECT_EQ(EncodingNameForModel("o1-preview"), o200k);
  EXPECT_EQ(EncodingNameForModel("o3-mini"), o200k);
  EXPECT_EQ(EncodingNameForModel("o4-mini-2025-04-16"), o200k);
  EXPECT_EQ(EncodingNameForModel("gpt-5"), o200k);
  EXPECT_EQ(EncodingNameForModel("GPT-4o"), o200k);
  EXPECT_EQ(EncodingNameForModel("openai/gpt-4o"), o200k);
  EXPECT_EQ(EncodingNameForModel("ft:gpt-4o-mini-2024-07-18:org::abc123"), o200k);
  EXPECT_EQ(EncodingNameForModel("gpt-4"), cl100k);
  EXPECT_EQ(EncodingNameForModel("gpt-4-turbo-2024-04-09"), cl100k);
  EXPECT_EQ(EncodingNameForModel("gpt-4-32k"), cl100k);
  EXPECT_EQ(EncodingNameForModel("gpt-3.5-turbo-0125"), cl100k);
  EXPECT_EQ(EncodingNameForModel("gpt-35-turbo"), cl100k);
  EXPECT_EQ(EncodingNameForModel("text-embedding-3-small"), cl100k);
  EXPECT_EQ(EncodingNameForModel("ft:gpt-3.5-turbo-0613:org::x"), cl100k);
  EXPECT_EQ(EncodingNameForModel("o10"), absl::nullopt);
  EXPECT_EQ(EncodingNameForModel("gpt-40"), absl::nullopt);
  EXPECT_EQ(EncodingNameForModel("text-davinci-003"), absl::nullopt);
  EXPECT_EQ(EncodingNameForModel("claude-3-opus"), absl::nullopt);
  EXPECT_EQ(EncodingNameForModel(""), absl::nullopt);
  EXPECT_EQ(EncodingForModel("claude-3-opus").status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace aigw::tokenizer
