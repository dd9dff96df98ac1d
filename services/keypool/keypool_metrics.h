#ifndef AIGW_SERVICES_KEYPOOL_KEYPOOL_METRICS_H_
#define AIGW_SERVICES_KEYPOOL_KEYPOOL_METRICS_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "services/keypool/key_entry.h"

namespace aigw::keypool {

// The keypool's Prometheus series:
//   aigw_keypool_leases_total{provider,result}  result: ok | over_limit |
//       exhausted | not_found | invalid_argument
//   aigw_keypool_reports_total{provider,outcome}
//   aigw_keypool_lease_duration_seconds           time inside keypool per lease
//   aigw_keypool_key_state{provider,key_id,key_name,state}  1 for the key's
//       current state (normal | rate_limited | cooling | invalid | disabled)
//   aigw_keypool_key_utilization{provider,key_id,key_name,limit}  0..1 of
//       rpm | tpm | rpd used (0 when unlimited)
//   aigw_keypool_leases_outstanding, aigw_keypool_leases_expired_total,
//   aigw_keypool_keys_loaded, aigw_keypool_db_errors_total{op}
//   aigw_keypool_allotments_total{result}  granted | extended | settled |
//       failed (an AllotKeys that could not be stored)
//   aigw_keypool_allotments                 allotments holding something back
// Thread-safe.
class KeyPoolMetrics {
 public:
  explicit KeyPoolMetrics(prometheus::Registry& registry);

  prometheus::Counter& Leases(absl::string_view provider, absl::string_view result);
  prometheus::Counter& Reports(absl::string_view provider, absl::string_view outcome);
  void ObserveLeaseSeconds(double seconds) { lease_duration_.Observe(seconds); }
  void SetOutstandingLeases(int64_t n) { outstanding_.Set(static_cast<double>(n)); }
  void AddExpiredLeases(int64_t n) { expired_.Increment(static_cast<double>(n)); }
  void SetKeysLoaded(int64_t n) { keys_loaded_.Set(static_cast<double>(n)); }
  void CountDbError(absl::string_view op);
  void CountAllotments(absl::string_view result, int64_t n);
  void SetAllotments(int64_t n) { allotments_.Set(static_cast<double>(n)); }

  // Makes the per-key gauges show `states`; series of keys no longer present
  // are removed.
  void UpdateKeys(const std::vector<KeyStateView>& states);

  static constexpr std::array<absl::string_view, 5> kStates = {
      "normal", "rate_limited", "cooling", "invalid", "disabled"};

 private:
  struct KeySeries {
    std::string provider;
    std::string key_name;
    std::array<prometheus::Gauge*, 5> state{};
    std::array<prometheus::Gauge*, 3> utilization{};
  };
  void RemoveSeries(const KeySeries& s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  prometheus::Family<prometheus::Counter>& leases_;
  prometheus::Family<prometheus::Counter>& reports_;
  prometheus::Family<prometheus::Gauge>& key_state_;
  prometheus::Family<prometheus::Gauge>& key_utilization_;
  prometheus::Family<prometheus::Counter>& db_errors_;
  prometheus::Histogram& lease_duration_;
  prometheus::Gauge& outstanding_;
  prometheus::Counter& expired_;
  prometheus::Gauge& keys_loaded_;
  prometheus::Family<prometheus::Counter>& allotments_total_;
  prometheus::Gauge& allotments_;

  absl::Mutex mu_;
  absl::flat_hash_map<int64_t, KeySeries> keys_ ABSL_GUARDED_BY(mu_);
};

}  // namespace aigw::keypool

#endif  // AIGW_SERVICES_KEYPOOL_KEYPOOL_METRICS_H_
