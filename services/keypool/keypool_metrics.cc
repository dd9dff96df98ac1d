#include "services/keypool/keypool_metrics.h"

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"

namespace aigw::keypool {
namespace {

double Ratio(int64_t used, int64_t limit) {
  if (limit <= 0) return 0;
  const double r = static_cast<double>(used) / static_cast<double>(limit);
  return r < 0 ? 0 : (r > 1 ? 1 : r);
}

}  // namespace

KeyPoolMetrics::KeyPoolMetrics(prometheus::Registry& registry)
    : leases_(prometheus::BuildCounter()
                  .Name("aigw_keypool_leases_total")
                  .Help("LeaseKey answers by provider and result (ok, over_limit, exhausted, "
                        "not_found, invalid_argument).")
                  .Register(registry)),
      reports_(prometheus::BuildCounter()
                   .Name("aigw_keypool_reports_total")
                   .Help("ReportUsage outcomes applied, by provider and outcome.")
                   .Register(registry)),
      key_state_(prometheus::BuildGauge()
                     .Name("aigw_keypool_key_state")
                     .Help("1 for the state each key is in now (normal, rate_limited, cooling, "
                           "invalid, disabled), 0 for the others.")
                     .Register(registry)),
      key_utilization_(prometheus::BuildGauge()
                           .Name("aigw_keypool_key_utilization")
                           .Help("Share of each key's RPM, TPM (sliding 60 s) and RPD (today) "
                                 "limit in use, 0..1; 0 when unlimited.")
                           .Register(registry)),
      db_errors_(prometheus::BuildCounter()
                     .Name("aigw_keypool_db_errors_total")
                     .Help("Failed database operations of the keypool (load, write).")
                     .Register(registry)),
      lease_duration_(prometheus::BuildHistogram()
                          .Name("aigw_keypool_lease_duration_seconds")
                          .Help("Time spent inside keypool selecting and leasing a key.")
                          .Register(registry)
                          .Add({}, prometheus::Histogram::BucketBoundaries{
                                       1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4,
                                       1e-3, 1e-2})),
      outstanding_(prometheus::BuildGauge()
                       .Name("aigw_keypool_leases_outstanding")
                       .Help("Leases handed out and not yet reported or expired.")
                       .Register(registry)
                       .Add({})),
      expired_(prometheus::BuildCounter()
                   .Name("aigw_keypool_leases_expired_total")
                   .Help("Leases never reported within the lease timeout.")
                   .Register(registry)
                   .Add({})),
      keys_loaded_(prometheus::BuildGauge()
                       .Name("aigw_keypool_keys_loaded")
                       .Help("Keys in the pool after the last load.")
                       .Register(registry)
                       .Add({})),
      allotments_total_(prometheus::BuildCounter()
                            .Name("aigw_keypool_allotments_total")
                            .Help("Gateways' allotments by result: granted, extended, settled "
                                  "(used, counted into the key), failed (not stored).")
                            .Register(registry)),
      allotments_(prometheus::BuildGauge()
                      .Name("aigw_keypool_allotments")
                      .Help("Allotments holding back a share of some key's limits now.")
                      .Register(registry)
                      .Add({})) {
  for (const char* r : {"granted", "extended", "settled", "failed"}) {
    allotments_total_.Add({{"result", r}});
  }
  // Exported at 0 from the start, so alerts and dashboards see the series
  // before the first error.
  db_errors_.Add({{"op", "load"}});
  db_errors_.Add({{"op", "write"}});
}

prometheus::Counter& KeyPoolMetrics::Leases(absl::string_view provider,
                                            absl::string_view result) {
  return leases_.Add({{"provider", std::string(provider)}, {"result", std::string(result)}});
}

prometheus::Counter& KeyPoolMetrics::Reports(absl::string_view provider,
                                             absl::string_view outcome) {
  return reports_.Add({{"provider", std::string(provider)}, {"outcome", std::string(outcome)}});
}

void KeyPoolMetrics::CountDbError(absl::string_view op) {
  db_errors_.Add({{"op", std::string(op)}}).Increment();
}

void KeyPoolMetrics::CountAllotments(absl::string_view result, int64_t n) {
  if (n > 0) allotments_total_.Add({{"result", std::string(result)}}).Increment(static_cast<double>(n));
}

void KeyPoolMetrics::RemoveSeries(const KeySeries& s) {
  for (prometheus::Gauge* g : s.state) key_state_.Remove(g);
  for (prometheus::Gauge* g : s.utilization) key_utilization_.Remove(g);
}

void KeyPoolMetrics::UpdateKeys(const std::vector<KeyStateView>& states) {
  static constexpr std::array<absl::string_view, 3> kLimits = {"rpm", "tpm", "rpd"};
  absl::MutexLock l(&mu_);
  absl::flat_hash_set<int64_t> present;
  for (const KeyStateView& v : states) {
    present.insert(v.key_id);
    auto it = keys_.find(v.key_id);
    if (it != keys_.end() &&
        (it->second.provider != v.provider_code || it->second.key_name != v.key_name)) {
      RemoveSeries(it->second);
      keys_.erase(it);
      it = keys_.end();
    }
    if (it == keys_.end()) {
      KeySeries s;
      s.provider = v.provider_code;
      s.key_name = v.key_name;
      const std::string id = absl::StrCat(v.key_id);
      for (size_t i = 0; i < kStates.size(); ++i) {
        s.state[i] = &key_state_.Add({{"provider", s.provider},
                                      {"key_id", id},
                                      {"key_name", s.key_name},
                                      {"state", std::string(kStates[i])}});
      }
      for (size_t i = 0; i < kLimits.size(); ++i) {
        s.utilization[i] = &key_utilization_.Add({{"provider", s.provider},
                                                  {"key_id", id},
                                                  {"key_name", s.key_name},
                                                  {"limit", std::string(kLimits[i])}});
      }
      it = keys_.emplace(v.key_id, std::move(s)).first;
    }
    for (size_t i = 0; i < kStates.size(); ++i) {
      it->second.state[i]->Set(kStates[i] == v.status ? 1 : 0);
    }
    it->second.utilization[0]->Set(Ratio(v.requests_current_minute, v.rate_limit_rpm));
    it->second.utilization[1]->Set(Ratio(v.tokens_current_minute, v.rate_limit_tpm));
    it->second.utilization[2]->Set(Ratio(v.requests_today, v.rate_limit_rpd));
  }
  for (auto it = keys_.begin(); it != keys_.end();) {
    if (present.contains(it->first)) {
      ++it;
      continue;
    }
    RemoveSeries(it->second);
    keys_.erase(it++);
  }
}

}  // namespace aigw::keypool
