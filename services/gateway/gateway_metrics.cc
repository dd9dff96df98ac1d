#include "services/gateway/gateway_metrics.h"

#include "absl/strings/str_cat.h"

namespace aigw::gateway {
namespace {

constexpr const char* kCodeNames[17] = {
    "OK",        "CANCELLED",      "UNKNOWN",           "INVALID_ARGUMENT",   "DEADLINE_EXCEEDED",
    "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
    "ABORTED",   "OUT_OF_RANGE",   "UNIMPLEMENTED",     "INTERNAL",           "UNAVAILABLE",
    "DATA_LOSS", "UNAUTHENTICATED"};

const prometheus::Histogram::BucketBoundaries& LatencyBuckets() {
  static const auto* const kBuckets = new prometheus::Histogram::BucketBoundaries{
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
      1,      2.5,   5,      10,    20,   30,    60,   120};
  return *kBuckets;
}

// A cache key for a label set (labels are ordered by name in the map).
std::string Key(const void* family, const prometheus::Labels& labels) {
  std::string key = absl::StrCat(reinterpret_cast<uintptr_t>(family));
  for (const auto& [k, v] : labels) absl::StrAppend(&key, "\x1f", k, "=", v);
  return key;
}

}  // namespace

GatewayMetrics::GatewayMetrics(prometheus::Registry& registry)
    : requests_(prometheus::BuildCounter()
                    .Name("aigw_gateway_requests_total")
                    .Help("Client chat requests by provider, model and final gRPC code.")
                    .Register(registry)),
      request_seconds_(prometheus::BuildHistogram()
                           .Name("aigw_gateway_request_duration_seconds")
                           .Help("Whole client request, retries and fallbacks included.")
                           .Register(registry)),
      upstream_seconds_(prometheus::BuildHistogram()
                            .Name("aigw_gateway_upstream_duration_seconds")
                            .Help("One upstream HTTP attempt.")
                            .Register(registry)),
      attempts_(prometheus::BuildCounter()
                    .Name("aigw_gateway_upstream_attempts_total")
                    .Help("Upstream attempts by provider and outcome.")
                    .Register(registry)),
      ttft_(prometheus::BuildHistogram()
                .Name("aigw_gateway_ttft_seconds")
                .Help("Time from the client's request to the first streamed delta.")
                .Register(registry)),
      tokens_(prometheus::BuildCounter()
                  .Name("aigw_gateway_tokens_total")
                  .Help("Tokens by provider, model and kind.")
                  .Register(registry)),
      cost_(prometheus::BuildCounter()
                .Name("aigw_gateway_cost_usd_total")
                .Help("Cost of successful completions in USD.")
                .Register(registry)),
      retries_(prometheus::BuildCounter()
                   .Name("aigw_gateway_retries_total")
                   .Help("Upstream retries by provider and reason.")
                   .Register(registry)),
      fallbacks_(prometheus::BuildCounter()
                     .Name("aigw_gateway_fallbacks_total")
                     .Help("Moves from an exhausted target to the next fallback.")
                     .Register(registry)),
      skipped_targets_(prometheus::BuildCounter()
                           .Name("aigw_gateway_skipped_targets_total")
                           .Help("Fallback targets passed over because their model lacks a "
                                 "capability the request needs, by provider, model and the "
                                 "missing catalogue flag.")
                           .Register(registry)),
      tool_calls_(prometheus::BuildCounter()
                      .Name("aigw_gateway_tool_calls_total")
                      .Help("Tool calls in successful answers, by provider and model.")
                      .Register(registry)),
      images_(prometheus::BuildCounter()
                  .Name("aigw_gateway_images_total")
                  .Help("Images sent in successful calls, by provider and model.")
                  .Register(registry)) {
  inflight_ = &prometheus::BuildGauge()
                   .Name("aigw_gateway_inflight_requests")
                   .Help("Client requests in progress.")
                   .Register(registry)
                   .Add({});
  queue_depth_ = &prometheus::BuildGauge()
                      .Name("aigw_gateway_event_queue_depth")
                      .Help("Call events queued in memory for the usage service.")
                      .Register(registry)
                      .Add({});
  spool_events_ = &prometheus::BuildGauge()
                       .Name("aigw_gateway_spool_events")
                       .Help("Call events in the on-disk spool waiting for the usage service.")
                       .Register(registry)
                       .Add({});
  events_delivered_ = &prometheus::BuildCounter()
                           .Name("aigw_gateway_events_delivered_total")
                           .Help("Call events acknowledged by the usage service.")
                           .Register(registry)
                           .Add({});
  events_rejected_ = &prometheus::BuildCounter()
                          .Name("aigw_gateway_events_rejected_total")
                          .Help("Call events the usage service refused (invalid, too large, "
                                "undecodable), kept aside in "
                                "<spool_dir>/call-events.spool.rejected.")
                          .Register(registry)
                          .Add({});
  spool_bytes_ = &prometheus::BuildGauge()
                      .Name("aigw_gateway_spool_bytes")
                      .Help("Bytes of the on-disk spool still to replay.")
                      .Register(registry)
                      .Add({});
  events_cleaned_ = &prometheus::BuildCounter()
                         .Name("aigw_gateway_events_cleaned_total")
                         .Help("Call events whose text was made valid UTF-8 or cut to its "
                               "column before it was queued or replayed.")
                         .Register(registry)
                         .Add({});
  spool_unreadable_bytes_ =
      &prometheus::BuildCounter()
           .Name("aigw_gateway_spool_unreadable_bytes_total")
           .Help("Spool bytes that were no readable record (corrupted, cut short), kept aside "
                 "in <spool_dir>/call-events.spool.unreadable.")
           .Register(registry)
           .Add({});
  auto& leases = prometheus::BuildCounter()
                     .Name("aigw_gateway_key_leases_total")
                     .Help("Keys leased for upstream attempts, by source: stock (a lease kept "
                           "ready, no round trip), keypool (a round trip the call waited for) "
                           "or allotment (no keypool answered; the gateway's own share).")
                     .Register(registry);
  leases_from_stock_ = &leases.Add({{"source", "stock"}});
  leases_from_keypool_ = &leases.Add({{"source", "keypool"}});
  leases_from_allotment_ = &leases.Add({{"source", "allotment"}});
  allotment_refusals_ = &prometheus::BuildCounter()
                             .Name("aigw_gateway_allotment_refusals_total")
                             .Help("Leases refused because no keypool answered and the gateway's "
                                   "allotment of the provider was used up or expired.")
                             .Register(registry)
                             .Add({});
  auto& refreshes = prometheus::BuildCounter()
                        .Name("aigw_gateway_allotment_refreshes_total")
                        .Help("AllotKeys calls by result (ok, failed).")
                        .Register(registry);
  allotment_refreshes_ok_ = &refreshes.Add({{"result", "ok"}});
  allotment_refreshes_failed_ = &refreshes.Add({{"result", "failed"}});
  seconds_without_keypool_ = &prometheus::BuildCounter()
                                  .Name("aigw_gateway_keypool_unreachable_seconds_total")
                                  .Help("Time during which no keypool answered this gateway's "
                                        "leases.")
                                  .Register(registry)
                                  .Add({});
}

prometheus::Counter& GatewayMetrics::CounterFor(prometheus::Family<prometheus::Counter>& family,
                                                const prometheus::Labels& labels) {
  const std::string key = Key(&family, labels);
  absl::MutexLock lock(&mu_);
  auto it = counters_.find(key);
  if (it != counters_.end()) return *it->second;
  prometheus::Counter* c = &family.Add(labels);
  counters_.emplace(key, c);
  return *c;
}

prometheus::Histogram& GatewayMetrics::HistogramFor(
    prometheus::Family<prometheus::Histogram>& family, const prometheus::Labels& labels,
    const prometheus::Histogram::BucketBoundaries& buckets) {
  const std::string key = Key(&family, labels);
  absl::MutexLock lock(&mu_);
  auto it = histograms_.find(key);
  if (it != histograms_.end()) return *it->second;
  prometheus::Histogram* h = &family.Add(labels, buckets);
  histograms_.emplace(key, h);
  return *h;
}

GatewayMetrics::PerModel& GatewayMetrics::ForModel(const std::string& provider,
                                                   const std::string& model) {
  const std::string key = absl::StrCat(provider, "\x1f", model);
  {
    absl::MutexLock lock(&mu_);
    auto it = per_model_.find(key);
    if (it != per_model_.end()) return *it->second;
  }
  auto pm = std::make_unique<PerModel>();
  auto tokens = [&](const char* kind) {
    return &tokens_.Add({{"provider", provider}, {"model", model}, {"kind", kind}});
  };
  pm->prompt_tokens = tokens("prompt");
  pm->completion_tokens = tokens("completion");
  pm->cached_prompt_tokens = tokens("cached_prompt");
  pm->cache_creation_tokens = tokens("cache_creation");
  pm->reasoning_tokens = tokens("reasoning");
  pm->cost_usd = &cost_.Add({{"provider", provider}, {"model", model}});
  pm->tool_calls = &tool_calls_.Add({{"provider", provider}, {"model", model}});
  pm->images = &images_.Add({{"provider", provider}, {"model", model}});
  absl::MutexLock lock(&mu_);
  auto [it, inserted] = per_model_.emplace(key, std::move(pm));
  return *it->second;
}

void GatewayMetrics::RequestDone(const std::string& provider, const std::string& model,
                                 int grpc_code, bool stream, double seconds) {
  const char* code = grpc_code >= 0 && grpc_code <= 16 ? kCodeNames[grpc_code] : "UNKNOWN";
  CounterFor(requests_, {{"provider", provider}, {"model", model}, {"code", code}}).Increment();
  HistogramFor(request_seconds_, {{"provider", provider}, {"stream", stream ? "true" : "false"}},
               LatencyBuckets())
      .Observe(seconds);
}

void GatewayMetrics::UpstreamAttempt(const std::string& provider, const std::string& outcome,
                                     double seconds) {
  CounterFor(attempts_, {{"provider", provider}, {"outcome", outcome}}).Increment();
  HistogramFor(upstream_seconds_, {{"provider", provider}}, LatencyBuckets()).Observe(seconds);
}

void GatewayMetrics::FirstToken(const std::string& provider, double seconds) {
  HistogramFor(ttft_, {{"provider", provider}}, LatencyBuckets()).Observe(seconds);
}

void GatewayMetrics::Retry(const std::string& provider, const std::string& reason) {
  CounterFor(retries_, {{"provider", provider}, {"reason", reason}}).Increment();
}

void GatewayMetrics::Fallback(const std::string& from, const std::string& to) {
  CounterFor(fallbacks_, {{"from", from}, {"to", to}}).Increment();
}

void GatewayMetrics::TargetSkipped(const std::string& provider, const std::string& model,
                                   const std::string& capability) {
  CounterFor(skipped_targets_,
             {{"provider", provider}, {"model", model}, {"capability", capability}})
      .Increment();
}

void GatewayMetrics::ToolCallsAndImages(const std::string& provider, const std::string& model,
                                        int tool_calls, int images) {
  if (tool_calls == 0 && images == 0) return;
  PerModel& pm = ForModel(provider, model);
  if (tool_calls > 0) pm.tool_calls->Increment(tool_calls);
  if (images > 0) pm.images->Increment(images);
}

}  // namespace aigw::gateway
