#include "services/keypool/keypool_metrics.h"

#include <map>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "libs/common/clock.h"
#include "prometheus/registry.h"
#include "services/keypool/key_pool.h"
#include "tests/testing/metric_value.h"

namespace aigw::keypool {
namespace {

using ::aigw::testing::MetricValue;

const absl::Time kT0 = absl::FromUnixSeconds(1767225600);

TEST(KeyPoolMetricsTest, LeasesKeyStatesAndUtilisationAreExported) {
  prometheus::Registry registry;
  KeyPoolMetrics metrics(registry);
  ManualClock clock(kT0);
  KeyPool pool(&clock, KeyPoolOptions{}, &metrics);
  PoolSnapshot snap;
  ProviderRow p;
  p.id = 1;
  p.code = "openai";
  snap.providers.push_back(p);
  KeyRow k;
  k.id = 5;
  k.provider_id = 1;
  k.key_name = "main";
  k.secret = "sk-0123456789abcdef";
  k.rate_limit_rpm = 4;
  k.rate_limit_tpm = 1000;
  k.rate_limit_rpd = 10;
  snap.keys.push_back(k);
  KeyRow k2 = k;
  k2.id = 6;
  k2.key_name = "spare";
  k2.status = "invalid";
  snap.keys.push_back(k2);
  pool.Apply(snap);

  absl::StatusOr<LeaseGrant> g;
  for (int i = 0; i < 4; ++i) {
    g = pool.Lease("openai", 100, {});
    ASSERT_TRUE(g.ok());
  }
  EXPECT_FALSE(pool.Lease("openai", 100, {}).ok());
  EXPECT_FALSE(pool.Lease("nope", 1, {}).ok());
  UsageReport r;
  r.lease_id = g->lease_id;
  r.outcome = aigw::v1::RATE_LIMITED;
  ASSERT_TRUE(pool.Report(r).ok());

  EXPECT_EQ(MetricValue(registry, "aigw_keypool_leases_total",
                        {{"provider", "openai"}, {"result", "ok"}}),
            4);
  EXPECT_EQ(MetricValue(registry, "aigw_keypool_leases_total",
                        {{"provider", "openai"}, {"result", "exhausted"}}),
            1);
  EXPECT_EQ(MetricValue(registry, "aigw_keypool_leases_total",
                        {{"provider", "unknown"}, {"result", "not_found"}}),
            1);
  EXPECT_EQ(MetricValue(registry, "aigw_keypool_reports_total",
                        {{"provider", "openai"}, {"outcome", "RATE_LIMITED"}}),
            1);
  EXPECT_EQ(MetricValue(registry, "aigw_keypool_lease_duration_seconds", {}), 4);
  EXPECT_EQ(MetricValue(registry, "aigw_keypool_keys_loaded", {}), 2);

  absl::StatusOr<std::vector<KeyStateView>> states = pool.ListKeyStates("");
  ASSERT_TRUE(states.ok());
  metrics.UpdateKeys(*states);
  const std::map<std::string, std::string> key5 = {{"provider", "openai"}, {"key_id", "5"}};
  auto with = [](std::map<std::string, std::string> m, const std::string& k, const std::string& v) {
    m[k] = v;
    return m;
  };
  EXPECT_EQ(MetricValue(registry, "aigw_keypool_key_state", with(key5, "state", "rate_limited")),
            1);
  EXPECT_EQ(MetricValue(registry, "aigw_keypool_key_state", with(key5, "state", "normal")), 0);
  EXPECT_EQ(
      MetricValue(registry, "aigw_keypool_key_state", {{"key_id", "6"}, {"state", "invalid"}}), 1);
  EXPECT_DOUBLE_EQ(
      MetricValue(registry, "aigw_keypool_key_utilization", with(key5, "limit", "rpm")), 1.0);
  // The 429 released that lease's 100 tokens: 300 of 1000.
  EXPECT_DOUBLE_EQ(
      MetricValue(registry, "aigw_keypool_key_utilization", with(key5, "limit", "tpm")), 0.3);
  EXPECT_DOUBLE_EQ(
      MetricValue(registry, "aigw_keypool_key_utilization", with(key5, "limit", "rpd")), 0.4);

  // A key that leaves the pool leaves the metrics.
  snap.keys.pop_back();
  pool.Apply(snap);
  metrics.UpdateKeys(*pool.ListKeyStates(""));
  EXPECT_EQ(
      MetricValue(registry, "aigw_keypool_key_state", {{"key_id", "6"}, {"state", "invalid"}}), -1);
  EXPECT_EQ(MetricValue(registry, "aigw_keypool_key_state", with(key5, "state", "rate_limited")),
            1);
}

}  // namespace
}  // namespace aigw::keypool
