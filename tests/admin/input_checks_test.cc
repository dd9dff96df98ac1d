#include "services/admin/input_checks.h"

#include <cmath>

#include "gtest/gtest.h"

namespace aigw::admin {
namespace {

TEST(InputChecksTest, ProviderCodes) {
  for (const char* ok : {"openai", "deepseek", "my-llm_2", "a", "0x"}) {
    EXPECT_TRUE(CheckProviderCode(ok).ok()) << ok;
  }
  for (const char* bad : {"", "OpenAI", "open ai", "-x", "_x", "a.b", "a/b"}) {
    EXPECT_EQ(CheckProviderCode(bad).code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_FALSE(CheckProviderCode(std::string(65, 'a')).ok());
}

TEST(InputChecksTest, BaseUrls) {
  for (const char* ok : {"https://api.openai.com/v1", "http://127.0.0.1:8080", "HTTPS://X.EXAMPLE",
                         "https://[::1]:9/v1/", "http://fake-upstream:8000/v1"}) {
    EXPECT_TRUE(CheckBaseUrl(ok).ok()) << ok << " " << CheckBaseUrl(ok);
  }
  for (const char* bad : {"", "api.openai.com", "ftp://x", "file:///etc/passwd", "http://",
                          "https:///v1", "http://a b", "http://x.example?q", "http://x.example#f",
                          "http://u:p@x.example", "http://x.example:0x1",
                          // Found by fuzz/host_allowlist: hosts libcurl takes.
                          "http://../v1", "http://..c/0", "https://a..b"}) {
    EXPECT_EQ(CheckBaseUrl(bad).code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

TEST(InputChecksTest, FormatsAndPolicies) {
  EXPECT_EQ(*NormalizeApiFormat(""), "openai");
  EXPECT_EQ(*NormalizeApiFormat("Anthropic"), "anthropic");
  EXPECT_FALSE(NormalizeApiFormat("deepseek").ok());
  EXPECT_EQ(*NormalizeKeyPolicy(""), "strict");
  EXPECT_EQ(*NormalizeKeyPolicy("LRU"), "lru");
  EXPECT_FALSE(NormalizeKeyPolicy("random").ok());
  EXPECT_TRUE(CheckSettableKeyStatus("normal").ok());
  EXPECT_TRUE(CheckSettableKeyStatus("disabled").ok());
  EXPECT_FALSE(CheckSettableKeyStatus("invalid").ok());
  EXPECT_FALSE(CheckSettableKeyStatus("rate_limited").ok());
}

TEST(InputChecksTest, PricesAreExactNanos) {
  EXPECT_EQ(*PriceToNanos("p", 0.0025), 2500000);
  EXPECT_EQ(*PriceToNanos("p", 0.000075), 75000);
  EXPECT_EQ(*PriceToNanos("p", 0.000000001), 1);
  EXPECT_EQ(*PriceToNanos("p", 0), 0);
  EXPECT_EQ(NanosToPrice(2500000), 0.0025);
  EXPECT_FALSE(PriceToNanos("p", -0.000001).ok());
  EXPECT_FALSE(PriceToNanos("p", NAN).ok());
  EXPECT_FALSE(PriceToNanos("p", INFINITY).ok());
  EXPECT_FALSE(PriceToNanos("p", 2e6).ok());
}

TEST(InputChecksTest, SecretsNeverAppearInMessages) {
  absl::Status st = CheckSecret("sk-has space-and-more");
  EXPECT_FALSE(st.ok());
  EXPECT_EQ(std::string(st.message()).find("sk-has"), std::string::npos);
}

}  // namespace
}  // namespace aigw::admin
