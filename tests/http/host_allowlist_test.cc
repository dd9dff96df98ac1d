// The provider host allow-list: what it accepts, and that the host it judges
// is the one libcurl would connect to.

#include "libs/http/host_allowlist.h"

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace aigw::http {
namespace {

HostAllowlist List(absl::string_view text) {
  absl::StatusOr<HostAllowlist> list = HostAllowlist::Parse(text);
  EXPECT_TRUE(list.ok()) << list.status();
  return list.value_or(HostAllowlist());
}

TEST(HostAllowlistTest, EmptyAllowsEverything) {
  const HostAllowlist none = List("");
  EXPECT_TRUE(none.empty());
  EXPECT_TRUE(none.Check("https://evil.example/v1").ok());
  EXPECT_TRUE(List("  ").empty());
}

TEST(HostAllowlistTest, OnlyListedHostsPass) {
  const HostAllowlist list = List("api.openai.com, API.Anthropic.com ,api.deepseek.com");
  EXPECT_FALSE(list.empty());
  for (const char* url : {"https://api.openai.com/v1", "https://api.openai.com:443/v1/chat/completions",
                          "http://api.anthropic.com", "https://API.DEEPSEEK.COM./v1",
                          "https://user@api.openai.com/v1"}) {
    EXPECT_TRUE(list.Check(url).ok()) << url;
  }
  for (const char* url : {"https://evil.example/v1", "https://api.openai.com.evil.example/v1",
                          "https://eu.api.openai.com/v1", "https://openai.com/v1",
                          "http://127.0.0.1:8089/v1"}) {
    absl::Status st = list.Check(url);
    EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition) << url;
    EXPECT_TRUE(absl::StrContains(st.message(), "--provider_host_allowlist")) << st;
  }
  EXPECT_EQ(list.ToString(), "api.openai.com,api.anthropic.com,api.deepseek.com");
}

TEST(HostAllowlistTest, TheHostIsTheOneLibcurlConnectsTo) {
  const HostAllowlist list = List("api.openai.com");
  // Userinfo that looks like the allowed host: the real host is after '@'.
  absl::Status st = list.Check("https://api.openai.com@evil.example/v1");
  EXPECT_FALSE(st.ok());
  EXPECT_TRUE(absl::StrContains(st.message(), "host evil.example ")) << st;
  EXPECT_FALSE(list.Check("https://api.openai.com:x@evil.example/v1").ok());
  EXPECT_FALSE(list.Check("https://evil.example/api.openai.com").ok());
  EXPECT_FALSE(list.Check("https://evil.example?api.openai.com").ok());
  EXPECT_FALSE(list.Check("https://evil.example#@api.openai.com").ok());
  EXPECT_FALSE(list.Check("not a url").ok());
  EXPECT_FALSE(list.Check("").ok());
  EXPECT_EQ(*UrlHost("https://api.openai.com@evil.example:8443/v1"), "evil.example");
  EXPECT_EQ(*UrlHost("http://[::1]:8080/"), "::1");
  EXPECT_EQ(*UrlHost("HTTPS://Api.OpenAI.com./v1"), "api.openai.com");
  // libcurl reads this as host "v1", so that is the host judged.
  EXPECT_EQ(*UrlHost("https:///v1"), "v1");
  EXPECT_FALSE(UrlHost("mailto:x").ok());
}

TEST(HostAllowlistTest, WildcardsCoverSubdomainsOnly) {
  const HostAllowlist list = List("*.openai.azure.com");
  EXPECT_TRUE(list.Check("https://myco.openai.azure.com/openai").ok());
  EXPECT_TRUE(list.Check("https://a.b.openai.azure.com/").ok());
  EXPECT_FALSE(list.Check("https://openai.azure.com/").ok());
  EXPECT_FALSE(list.Check("https://evilopenai.azure.com/").ok());
  EXPECT_EQ(list.ToString(), "*.openai.azure.com");
}

TEST(HostAllowlistTest, AddressesMatchExactly) {
  const HostAllowlist list = List("10.0.0.7,::1,[fe80::1]");
  EXPECT_TRUE(list.Check("http://10.0.0.7:8080/v1").ok());
  EXPECT_TRUE(list.Check("http://[::1]:8080/v1").ok());
  EXPECT_TRUE(list.Check("http://[fe80::1]/").ok());
  EXPECT_FALSE(list.Check("http://10.0.0.70/").ok());
  EXPECT_FALSE(list.Check("http://127.0.0.1/").ok());
}

TEST(HostAllowlistTest, EntriesMustBeHostsAlone) {
  for (const char* bad : {"https://api.openai.com", "api.openai.com/v1", "api.openai.com:443",
                          "localhost:8080", "a.com,,b.com", "a.com,", "*.", "api.*.com",
                          "user@api.openai.com", "*.*.com", "api%2eopenai.com"}) {
    absl::StatusOr<HostAllowlist> list = HostAllowlist::Parse(bad);
    EXPECT_EQ(list.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

}  // namespace
}  // namespace aigw::http
