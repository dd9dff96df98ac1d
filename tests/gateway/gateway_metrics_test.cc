// GatewayMetrics: every series the dashboards read, under its contract name
// and labels, and the label cache that keeps the request path off
// prometheus-cpp's hashing (one series per label set, from any thread).

#include "services/gateway/gateway_metrics.h"

#include <map>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "prometheus/registry.h"

namespace aigw::gateway {
namespace {

using Labels = std::map<std::string, std::string>;

class GatewayMetricsTest : public ::testing::Test {
 protected:
  // The series `name`{labels} as collected now; null when there is none.
  const prometheus::ClientMetric* Find(const std::string& name, const Labels& labels) {
    collected_ = registry_.Collect();
    for (const prometheus::MetricFamily& family : collected_) {
      if (family.name != name) continue;
      for (const prometheus::ClientMetric& metric : family.metric) {
        Labels have;
        for (const auto& label : metric.label) have[label.name] = label.value;
        if (have == labels) return &metric;
      }
    }
    return nullptr;
  }
  double Counter(const std::string& name, const Labels& labels) {
    const prometheus::ClientMetric* m = Find(name, labels);
    EXPECT_NE(m, nullptr) << name;
    return m == nullptr ? -1 : m->counter.value;
  }
  uint64_t Observations(const std::string& name, const Labels& labels) {
    const prometheus::ClientMetric* m = Find(name, labels);
    EXPECT_NE(m, nullptr) << name;
    return m == nullptr ? 0 : m->histogram.sample_count;
  }
  // Observations at or below `le`.
  uint64_t Bucket(const std::string& name, const Labels& labels, double le) {
    const prometheus::ClientMetric* m = Find(name, labels);
    if (m == nullptr) return 0;
    for (const auto& b : m->histogram.bucket) {
      if (b.upper_bound == le) return b.cumulative_count;
    }
    ADD_FAILURE() << "no bucket le=" << le;
    return 0;
  }
  size_t Series(const std::string& name) {
    collected_ = registry_.Collect();
    for (const prometheus::MetricFamily& family : collected_) {
      if (family.name == name) return family.metric.size();
    }
    return 0;
  }

  prometheus::Registry registry_;
  GatewayMetrics metrics_{registry_};
  std::vector<prometheus::MetricFamily> collected_;
};

TEST_F(GatewayMetricsTest, EverySeriesIsRegisteredUnderItsContractName) {
  for (const char* name :
       {"aigw_gateway_inflight_requests", "aigw_gateway_event_queue_depth",
        "aigw_gateway_spool_events", "aigw_gateway_spool_bytes",
        "aigw_gateway_events_delivered_total", "aigw_gateway_events_rejected_total",
        "aigw_gateway_events_cleaned_total", "aigw_gateway_spool_unreadable_bytes_total",
        "aigw_gateway_allotment_refusals_total", "aigw_gateway_keypool_unreachable_seconds_total"}) {
    EXPECT_EQ(Series(name), 1u) << name;
  }
  EXPECT_EQ(Series("aigw_gateway_key_leases_total"), 3u);
  EXPECT_EQ(Series("aigw_gateway_allotment_refreshes_total"), 2u);
  metrics_.leases_from_stock().Increment(3);
  metrics_.leases_from_keypool().Increment();
  metrics_.leases_from_allotment().Increment(2);
  metrics_.allotment_refreshes("failed").Increment();
  EXPECT_EQ(Counter("aigw_gateway_key_leases_total", {{"source", "stock"}}), 3);
  EXPECT_EQ(Counter("aigw_gateway_key_leases_total", {{"source", "keypool"}}), 1);
  EXPECT_EQ(Counter("aigw_gateway_key_leases_total", {{"source", "allotment"}}), 2);
  EXPECT_EQ(Counter("aigw_gateway_allotment_refreshes_total", {{"result", "failed"}}), 1);
  EXPECT_EQ(Counter("aigw_gateway_allotment_refreshes_total", {{"result", "ok"}}), 0);
  metrics_.inflight().Increment();
  EXPECT_EQ(Find("aigw_gateway_inflight_requests", {})->gauge.value, 1);
  // Labelled families have no series until the first request.
  EXPECT_EQ(Series("aigw_gateway_requests_total"), 0u);
}

TEST_F(GatewayMetricsTest, ARequestIsCountedByItsFinalCodeAndTimedByStreamOrNot) {
  metrics_.RequestDone("openai", "gpt-4o", /*RESOURCE_EXHAUSTED*/ 8, /*stream=*/true, 0.3);
  metrics_.RequestDone("openai", "gpt-4o", 0, /*stream=*/false, 2);
  metrics_.RequestDone("openai", "gpt-4o", 0, /*stream=*/false, 0.001);
  // A code outside gRPC's is UNKNOWN, not a new label value.
  metrics_.RequestDone("openai", "gpt-4o", 17, false, 1);
  metrics_.RequestDone("openai", "gpt-4o", -1, false, 1);
  const std::string requests = "aigw_gateway_requests_total";
  EXPECT_EQ(Counter(requests, {{"provider", "openai"}, {"model", "gpt-4o"}, {"code", "OK"}}), 2);
  EXPECT_EQ(Counter(requests, {{"provider", "openai"}, {"model", "gpt-4o"},
                               {"code", "RESOURCE_EXHAUSTED"}}),
            1);
  EXPECT_EQ(Counter(requests, {{"provider", "openai"}, {"model", "gpt-4o"}, {"code", "UNKNOWN"}}),
            2);
  EXPECT_EQ(Series(requests), 3u);
  const std::string seconds = "aigw_gateway_request_duration_seconds";
  EXPECT_EQ(Observations(seconds, {{"provider", "openai"}, {"stream", "true"}}), 1u);
  EXPECT_EQ(Observations(seconds, {{"provider", "openai"}, {"stream", "false"}}), 4u);
  EXPECT_EQ(Bucket(seconds, {{"provider", "openai"}, {"stream", "false"}}, 0.001), 1u);
  EXPECT_EQ(Bucket(seconds, {{"provider", "openai"}, {"stream", "false"}}, 1), 3u);
  EXPECT_EQ(Bucket(seconds, {{"provider", "openai"}, {"stream", "true"}}, 0.25), 0u);
  EXPECT_EQ(Bucket(seconds, {{"provider", "openai"}, {"stream", "true"}}, 0.5), 1u);
}

TEST_F(GatewayMetricsTest, AttemptsRetriesFallbacksAndFirstTokens) {
  metrics_.UpstreamAttempt("deepseek", "success", 0.8);
  metrics_.UpstreamAttempt("deepseek", "rate_limited", 0.1);
  metrics_.UpstreamAttempt("deepseek", "success", 1.2);
  metrics_.Retry("deepseek", "HTTP_503");
  metrics_.Fallback("openai", "deepseek");
  metrics_.TargetSkipped("deepseek", "deepseek-reasoner", "supports_function_call");
  metrics_.FirstToken("deepseek", 0.4);
  EXPECT_EQ(Counter("aigw_gateway_upstream_attempts_total",
                    {{"provider", "deepseek"}, {"outcome", "success"}}),
            2);
  EXPECT_EQ(Counter("aigw_gateway_upstream_attempts_total",
                    {{"provider", "deepseek"}, {"outcome", "rate_limited"}}),
            1);
  EXPECT_EQ(Observations("aigw_gateway_upstream_duration_seconds", {{"provider", "deepseek"}}),
            3u);
  EXPECT_EQ(
      Counter("aigw_gateway_retries_total", {{"provider", "deepseek"}, {"reason", "HTTP_503"}}), 1);
  EXPECT_EQ(Counter("aigw_gateway_fallbacks_total", {{"from", "openai"}, {"to", "deepseek"}}), 1);
  EXPECT_EQ(Counter("aigw_gateway_skipped_targets_total", {{"provider", "deepseek"},
                                                           {"model", "deepseek-reasoner"},
                                                           {"capability", "supports_function_call"}}),
            1);
  EXPECT_EQ(Observations("aigw_gateway_ttft_seconds", {{"provider", "deepseek"}}), 1u);
}

TEST_F(GatewayMetricsTest, TokensAndCostPerModelAreOneSetOfSeriesEach) {
  GatewayMetrics::PerModel& a = metrics_.ForModel("openai", "gpt-4o");
  EXPECT_EQ(&metrics_.ForModel("openai", "gpt-4o"), &a);
  GatewayMetrics::PerModel& b = metrics_.ForModel("openai", "gpt-4o-mini");
  EXPECT_NE(&b, &a);
  a.prompt_tokens->Increment(100);
  a.completion_tokens->Increment(20);
  a.cached_prompt_tokens->Increment(64);
  a.cache_creation_tokens->Increment(5);
  a.reasoning_tokens->Increment(7);
  a.cost_usd->Increment(0.25);
  b.prompt_tokens->Increment(1);
  const std::string tokens = "aigw_gateway_tokens_total";
  const Labels gpt4o = {{"provider", "openai"}, {"model", "gpt-4o"}};
  auto kind = [&](const char* k) {
    Labels l = gpt4o;
    l["kind"] = k;
    return Counter(tokens, l);
  };
  EXPECT_EQ(kind("prompt"), 100);
  EXPECT_EQ(kind("completion"), 20);
  EXPECT_EQ(kind("cached_prompt"), 64);
  EXPECT_EQ(kind("cache_creation"), 5);
  EXPECT_EQ(kind("reasoning"), 7);
  EXPECT_EQ(Counter("aigw_gateway_cost_usd_total", gpt4o), 0.25);
  EXPECT_EQ(Counter(tokens, {{"provider", "openai"}, {"model", "gpt-4o-mini"}, {"kind", "prompt"}}),
            1);
  EXPECT_EQ(Series(tokens), 10u);
}

TEST_F(GatewayMetricsTest, ToolCallsAndImagesPerModel) {
  metrics_.ToolCallsAndImages("openai", "gpt-4o", 0, 0);  // a plain call: nothing
  EXPECT_EQ(Series("aigw_gateway_tool_calls_total"), 0u);
  metrics_.ToolCallsAndImages("openai", "gpt-4o", 2, 0);
  metrics_.ToolCallsAndImages("openai", "gpt-4o", 1, 3);
  metrics_.ToolCallsAndImages("anthropic", "claude-x", 0, 1);
  const Labels gpt4o = {{"provider", "openai"}, {"model", "gpt-4o"}};
  EXPECT_EQ(Counter("aigw_gateway_tool_calls_total", gpt4o), 3);
  EXPECT_EQ(Counter("aigw_gateway_images_total", gpt4o), 3);
  EXPECT_EQ(Counter("aigw_gateway_images_total", {{"provider", "anthropic"}, {"model", "claude-x"}}),
            1);
  EXPECT_EQ(Counter("aigw_gateway_tool_calls_total",
                    {{"provider", "anthropic"}, {"model", "claude-x"}}),
            0);
}

TEST_F(GatewayMetricsTest, ManyThreadsCountIntoTheSameSeries) {
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([this, t] {
      for (int i = 0; i < 500; ++i) {
        metrics_.RequestDone("openai", t % 2 == 0 ? "gpt-4o" : "gpt-4o-mini", 0, false, 0.01);
        metrics_.ForModel("openai", "gpt-4o").prompt_tokens->Increment();
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(Counter("aigw_gateway_requests_total",
                    {{"provider", "openai"}, {"model", "gpt-4o"}, {"code", "OK"}}),
            2000);
  EXPECT_EQ(Counter("aigw_gateway_requests_total",
                    {{"provider", "openai"}, {"model", "gpt-4o-mini"}, {"code", "OK"}}),
            2000);
  EXPECT_EQ(Series("aigw_gateway_requests_total"), 2u);
  EXPECT_EQ(Counter("aigw_gateway_tokens_total",
                    {{"provider", "openai"}, {"model", "gpt-4o"}, {"kind", "prompt"}}),
            4000);
}

}  // namespace
}  // namespace aigw::gateway
