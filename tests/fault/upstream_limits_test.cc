#include "tests/fault/upstream_limits.h"

#include "gtest/gtest.h"

namespace aigw::fault {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1767225600);

TEST(UpstreamLimitsTest, ParsesOneEntryPerKey) {
  absl::StatusOr<std::vector<KeyLimits>> keys = ParseKeyLimits("300:0:0,0:15000:800");
  ASSERT_TRUE(keys.ok()) << keys.status();
  ASSERT_EQ(keys->size(), 2u);
  EXPECT_EQ((*keys)[0].rpm, 300);
  EXPECT_EQ((*keys)[0].api_key, "sk-fault-openai-1-0123456789abcdef");
  EXPECT_EQ((*keys)[1].tpm, 15000);
  EXPECT_EQ((*keys)[1].rpd, 800);
  EXPECT_FALSE(ParseKeyLimits("300:0").ok());
  EXPECT_FALSE(ParseKeyLimits("a:0:0").ok());
  EXPECT_FALSE(ParseKeyLimits("-1:0:0").ok());
  EXPECT_TRUE(ParseKeyLimits("")->empty());
}

TEST(UpstreamLimitsTest, TheBusiestMinuteAndTheDayAreCountedPerKey) {
  KeyLimits a{"key-a", 3, 100, 5};
  KeyLimits b{"key-b", 0, 0, 0};
  std::vector<UpstreamRequest> reqs = {
      {kT0, "key-a", 200},
      {kT0 + absl::Seconds(10), "key-a", 200},
      {kT0 + absl::Seconds(20), "key-b", 200},
      {kT0 + absl::Seconds(59), "key-a", 400},
      // kT0 has left the window [1 s, 61 s): 3 in it again.
      {kT0 + absl::Seconds(60), "key-a", 200},
      {kT0 + absl::Seconds(61), "key-a", 200},
  };
  std::vector<KeyUse> use = CountUse({a, b}, reqs, 50);
  ASSERT_EQ(use.size(), 2u);
  EXPECT_EQ(use[0].requests, 5);
  EXPECT_EQ(use[0].max_minute_requests, 4);  // 10 s, 59 s, 60 s, 61 s
  EXPECT_EQ(use[0].max_minute_tokens, 150);  // the 400 carries none
  EXPECT_DOUBLE_EQ(use[0].rpm_over, 1.0 / 3);
  EXPECT_DOUBLE_EQ(use[0].tpm_over, 0.5);
  EXPECT_DOUBLE_EQ(use[0].rpd_over, 0);
  EXPECT_EQ(use[1].requests, 1);
  EXPECT_DOUBLE_EQ(use[1].rpm_over, 0) << "no limit, never over";
}

}  // namespace
}  // namespace aigw::fault
