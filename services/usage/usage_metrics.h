#ifndef AIGW_SERVICES_USAGE_USAGE_METRICS_H_
#define AIGW_SERVICES_USAGE_USAGE_METRICS_H_

#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace aigw::usage {

// The usage service's own metrics (the per-RPC ones come from the shared
// gRPC interceptor):
//   aigw_usage_events_ingested_total          events newly written
//   aigw_usage_duplicates_total               events skipped as already recorded
//   aigw_usage_batches_total{result}          ok | invalid | error
//   aigw_usage_batch_seconds                  one RecordCalls batch, end to end
//   aigw_usage_db_errors_total{op}            record | query | retention
//   aigw_usage_retention_deleted_rows_total   log rows removed by retention
//   aigw_usage_retention_dropped_partitions_total
class UsageMetrics {
 public:
  explicit UsageMetrics(prometheus::Registry& registry);

  prometheus::Counter* events_ingested;
  prometheus::Counter* duplicates;
  prometheus::Counter* batches_ok;
  prometheus::Counter* batches_invalid;
  prometheus::Counter* batches_error;
  prometheus::Histogram* batch_seconds;
  prometheus::Counter* db_errors_record;
  prometheus::Counter* db_errors_query;
  prometheus::Counter* db_errors_retention;
  prometheus::Counter* retention_deleted_rows;
  prometheus::Counter* retention_dropped_partitions;
};

}  // namespace aigw::usage

#endif  // AIGW_SERVICES_USAGE_USAGE_METRICS_H_
