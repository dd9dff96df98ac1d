#ifndef AIGW_SERVICES_GATEWAY_GATEWAY_METRICS_H_
#define AIGW_SERVICES_GATEWAY_GATEWAY_METRICS_H_

#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace aigw::gateway {

// The gateway's Prometheus metrics (names are the dashboards' contract):
//   aigw_gateway_requests_total{provider,model,code}      client requests by final gRPC code
//   aigw_gateway_request_duration_seconds{provider,stream} whole client request
//   aigw_gateway_upstream_duration_seconds{provider}       one upstream attempt
//   aigw_gateway_upstream_attempts_total{provider,outcome}
//   aigw_gateway_ttft_seconds{provider}                    time to first streamed delta
//   aigw_gateway_tokens_total{provider,model,kind}         prompt|completion|cached_prompt|cache_creation|reasoning
//   aigw_gateway_cost_usd_total{provider,model}
//   aigw_gateway_retries_total{provider,reason}
//   aigw_gateway_fallbacks_total{from,to}
//   aigw_gateway_skipped_targets_total{provider,model,capability}  supports_function_call | supports_vision
//   aigw_gateway_inflight_requests
//   aigw_gateway_event_queue_depth, aigw_gateway_spool_events, aigw_gateway_spool_bytes,
//   aigw_gateway_events_delivered_total, aigw_gateway_events_rejected_total,
//   aigw_gateway_events_cleaned_total, aigw_gateway_spool_unreadable_bytes_total
//   aigw_gateway_key_leases_total{source}                 stock | keypool | allotment
//   aigw_gateway_allotment_refusals_total, aigw_gateway_allotment_refreshes_total{result},
//   aigw_gateway_keypool_unreachable_seconds_total
//   aigw_gateway_tool_calls_total{provider,model}          tool calls in successful answers
//   aigw_gateway_images_total{provider,model}              images sent in successful calls
// Label lookups are cached so the request path takes a shared lock, not
// prometheus-cpp's label hashing.
class GatewayMetrics {
 public:
  explicit GatewayMetrics(prometheus::Registry& registry);

  struct PerModel {
    prometheus::Counter* prompt_tokens;
    prometheus::Counter* completion_tokens;
    prometheus::Counter* cached_prompt_tokens;
    prometheus::Counter* cache_creation_tokens;
    prometheus::Counter* reasoning_tokens;
    prometheus::Counter* cost_usd;
    prometheus::Counter* tool_calls;
    prometheus::Counter* images;
  };
  PerModel& ForModel(const std::string& provider, const std::string& model);

  void RequestDone(const std::string& provider, const std::string& model, int grpc_code,
                   bool stream, double seconds);
  void UpstreamAttempt(const std::string& provider, const std::string& outcome, double seconds);
  void FirstToken(const std::string& provider, double seconds);
  void Retry(const std::string& provider, const std::string& reason);
  void Fallback(const std::string& from, const std::string& to);
  // A target passed over: its model lacks `capability` (the catalogue flag).
  void TargetSkipped(const std::string& provider, const std::string& model,
                     const std::string& capability);
  // A successful call's tool calls and images; nothing for a plain one.
  void ToolCallsAndImages(const std::string& provider, const std::string& model, int tool_calls,
                          int images);

  prometheus::Gauge& inflight() { return *inflight_; }
  prometheus::Gauge& queue_depth() { return *queue_depth_; }
  prometheus::Gauge& spool_events() { return *spool_events_; }
  prometheus::Counter& events_delivered() { return *events_delivered_; }
  prometheus::Counter& events_rejected() { return *events_rejected_; }
  prometheus::Gauge& spool_bytes() { return *spool_bytes_; }
  prometheus::Counter& events_cleaned() { return *events_cleaned_; }
  prometheus::Counter& spool_unreadable_bytes() { return *spool_unreadable_bytes_; }
  prometheus::Counter& leases_from_stock() { return *leases_from_stock_; }
  prometheus::Counter& leases_from_keypool() { return *leases_from_keypool_; }
  prometheus::Counter& leases_from_allotment() { return *leases_from_allotment_; }
  prometheus::Counter& allotment_refusals() { return *allotment_refusals_; }
  prometheus::Counter& allotment_refreshes(absl::string_view result) {
    return result == "ok" ? *allotment_refreshes_ok_ : *allotment_refreshes_failed_;
  }
  prometheus::Counter& seconds_without_keypool() { return *seconds_without_keypool_; }

 private:
  prometheus::Counter& CounterFor(prometheus::Family<prometheus::Counter>& family,
                                  const prometheus::Labels& labels);
  prometheus::Histogram& HistogramFor(prometheus::Family<prometheus::Histogram>& family,
                                      const prometheus::Labels& labels,
                                      const prometheus::Histogram::BucketBoundaries& buckets);

  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Histogram>& request_seconds_;
  prometheus::Family<prometheus::Histogram>& upstream_seconds_;
  prometheus::Family<prometheus::Counter>& attempts_;
  prometheus::Family<prometheus::Histogram>& ttft_;
  prometheus::Family<prometheus::Counter>& tokens_;
  prometheus::Family<prometheus::Counter>& cost_;
  prometheus::Family<prometheus::Counter>& retries_;
  prometheus::Family<prometheus::Counter>& fallbacks_;
  prometheus::Family<prometheus::Counter>& skipped_targets_;
  prometheus::Family<prometheus::Counter>& tool_calls_;
  prometheus::Family<prometheus::Counter>& images_;
  prometheus::Gauge* inflight_;
  prometheus::Gauge* queue_depth_;
  prometheus::Gauge* spool_events_;
  prometheus::Counter* events_delivered_;
  prometheus::Counter* events_rejected_;
  prometheus::Gauge* spool_bytes_;
  prometheus::Counter* events_cleaned_;
  prometheus::Counter* spool_unreadable_bytes_;
  prometheus::Counter* leases_from_stock_;
  prometheus::Counter* leases_from_keypool_;
  prometheus::Counter* leases_from_allotment_;
  prometheus::Counter* allotment_refusals_;
  prometheus::Counter* allotment_refreshes_ok_;
  prometheus::Counter* allotment_refreshes_failed_;
  prometheus::Counter* seconds_without_keypool_;

  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::unique_ptr<PerModel>> per_model_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, prometheus::Counter*> counters_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, prometheus::Histogram*> histograms_ ABSL_GUARDED_BY(mu_);
};

}  // namespace aigw::gateway

#endif  // AIGW_SERVICES_GATEWAY_GATEWAY_METRICS_H_
