// The C++ tokenizer against OpenAI's tiktoken, token id by token id.
//
// golden.json comes from make_golden.js (the Rust tiktoken core compiled to
// WASM, npm tiktoken@1.0.22): the hand-written corpus.json, the corpus joined
// into one long text, and 600 generated strings that mix every character
// class the split patterns distinguish.
// The cookbook anchors below are published tiktoken outputs that tie both
// implementations to Python tiktoken.
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/common/utf8.h"
#include "libs/tokenizer/encoding.h"
#include "libs/tokenizer/registry.h"
#include "rapidjson/document.h"

namespace aigw::tokenizer {
namespace {

using ::testing::ElementsAreArray;

struct GoldenCase {
  std::string name;
  std::string text;
  std::vector<uint32_t> o200k;
  std::vector<uint32_t> cl100k;
};

struct Golden {
  std::string o200k_pattern;
  std::string cl100k_pattern;
  std::vector<std::pair<std::string, std::string>> models;
  std::vector<GoldenCase> cases;
};

std::vector<uint32_t> Ids(const rapidjson::Value& array) {
  std::vector<uint32_t> ids;
  for (const auto& v : array.GetArray()) ids.push_back(v.GetUint());
  return ids;
}

const Golden& LoadGolden() {
  static const Golden* golden = [] {
    std::ifstream in(AIGW_TOKENIZER_TEST_DIR "/golden.json", std::ios::binary);
    std::stringstream buffer;
    buffer << in.rdbuf();
    rapidjson::Document doc;
    doc.Parse(buffer.str().c_str(), buffer.str().size());
    auto* g = new Golden();
    if (doc.HasParseError() || !doc.IsObject()) return g;
    g->o200k_pattern = doc["patterns"]["o200k_base"].GetString();
    g->cl100k_pattern = doc["patterns"]["cl100k_base"].GetString();
    for (const auto& m : doc["models"].GetObject()) {
      g->models.emplace_back(m.name.GetString(), m.value.GetString());
    }
    for (const auto& c : doc["cases"].GetArray()) {
      g->cases.push_back(GoldenCase{
          c["name"].GetString(),
          std::string(c["text"].GetString(), c["text"].GetStringLength()),
          Ids(c["o200k_base"]), Ids(c["cl100k_base"])});
    }
    return g;
  }();
  return *golden;
}

const Encoding& O200k() {
  static const Encoding* e = [] {
    absl::StatusOr<const Encoding*> r = GetEncoding(kO200kBase);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : nullptr;
  }();
  return *e;
}

const Encoding& Cl100k() {
  static const Encoding* e = [] {
    absl::StatusOr<const Encoding*> r = GetEncoding(kCl100kBase);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : nullptr;
  }();
  return *e;
}

TEST(GoldenTest, GoldenFileLoaded) {
  const Golden& g = LoadGolden();
  EXPECT_GE(g.cases.size(), 600u);
  EXPECT_FALSE(g.models.empty());
}

TEST(GoldenTest, PatternsAreTiktokens) {
  const Golden& g = LoadGolden();
  EXPECT_EQ(O200kBaseSpec().pattern, g.o200k_pattern);
  EXPECT_EQ(Cl100kBaseSpec().pattern, g.cl100k_pattern);
}

void CheckCases(const Encoding& encoding, bool o200k) {
  int mismatches = 0;
  for (const GoldenCase& c : LoadGolden().cases) {
    const std::vector<uint32_t>& want = o200k ? c.o200k : c.cl100k;
    const std::vector<uint32_t> got = encoding.Encode(c.text);
    if (got != want) {
      ++mismatches;
      ADD_FAILURE() << encoding.name() << " case " << c.name << " text \""
                    << c.text << "\"\n got " << ::testing::PrintToString(got)
                    << "\nwant " << ::testing::PrintToString(want);
      continue;
    }
    EXPECT_EQ(encoding.CountTokens(c.text), want.size()) << c.name;
    absl::StatusOr<std::string> decoded = encoding.Decode(got);
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_EQ(*decoded, c.text) << c.name;
  }
  EXPECT_EQ(mismatches, 0);
}

TEST(GoldenTest, O200kBaseMatchesTiktoken) { CheckCases(O200k(), true); }
TEST(GoldenTest, Cl100kBaseMatchesTiktoken) { CheckCases(Cl100k(), false); }

TEST(RoundTripTest, ArbitraryBytesDecodeToTheirRepairedText) {
  std::mt19937 rng(11);
  for (const Encoding* e : {&O200k(), &Cl100k()}) {
    for (int i = 0; i < 500; ++i) {
      std::string text(rng() % 2000, '\0');
      // Mostly ASCII and UTF-8 lead/continuation bytes, so that both valid
      // and broken sequences are common.
      for (char& c : text) {
        const uint32_t r = rng();
        c = static_cast<char>(r % 3 == 0 ? 0x80 | (r >> 8) % 0x40
                              : r % 3 == 1 ? 0x20 + (r >> 8) % 0x60
                                           : (r >> 8) % 256);
      }
      const std::vector<uint32_t> ids = e->Encode(text);
      EXPECT_EQ(e->CountTokens(text), ids.size());
      absl::StatusOr<std::string> back = e->Decode(ids);
      ASSERT_TRUE(back.ok()) << back.status();
      ASSERT_EQ(*back, ToValidUtf8(text)) << e->name() << " #" << i;
    }
  }
}

// From openai-cookbook examples/How_to_count_tokens_with_tiktoken.ipynb.
TEST(CookbookTest, PublishedEncodings) {
  EXPECT_THAT(O200k().Encode("tiktoken is great!"),
              ElementsAreArray({83, 8251, 2488, 382, 2212, 0}));
  EXPECT_THAT(Cl100k().Encode("tiktoken is great!"),
              ElementsAreArray({83, 1609, 5963, 374, 2294, 0}));
  EXPECT_THAT(Cl100k().Encode("antidisestablishmentarianism"),
              ElementsAreArray({519, 85342, 34500, 479, 8997, 2191}));
  EXPECT_THAT(O200k().Encode("antidisestablishmentarianism"),
              ElementsAreArray({493, 129901, 376, 160388, 21203, 2367}));
  EXPECT_THAT(Cl100k().Encode("2 + 2 = 4"),
              ElementsAreArray({17, 489, 220, 17, 284, 220, 19}));
  EXPECT_THAT(O200k().Encode("2 + 2 = 4"),
              ElementsAreArray({17, 659, 220, 17, 314, 220, 19}));
  EXPECT_THAT(Cl100k().Encode("お誕生日おめでとう"),
              ElementsAreArray({33334, 45918, 243, 21990, 9080, 33334, 62004,
                                16556, 78699}));
  EXPECT_THAT(O200k().Encode("お誕生日おめでとう"),
              ElementsAreArray({8930, 9697, 243, 128225, 8930, 17693, 4344,
                                48669}));
}

TEST(ModelMappingTest, AgreesWithTiktokensModelTable) {
  int checked = 0;
  for (const auto& [model, encoding] : LoadGolden().models) {
    absl::optional<absl::string_view> got = EncodingNameForModel(model);
    if (encoding == "o200k_base" || encoding == "o200k_harmony") {
      // o200k_harmony (gpt-oss) has o200k_base's ranks and pattern; only its
      // special tokens differ, which ordinary text never produces.
      EXPECT_EQ(got, absl::optional<absl::string_view>(kO200kBase)) << model;
      ++checked;
    } else if (encoding == "cl100k_base") {
      EXPECT_EQ(got, absl::optional<absl::string_view>(kCl100kBase)) << model;
      ++checked;
    } else {
      EXPECT_EQ(got, absl::nullopt) << model << " uses " << encoding;
    }
  }
  EXPECT_GT(checked, 40);
}

}  // namespace
}  // namespace aigw::tokenizer
