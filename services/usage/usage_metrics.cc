#include "services/usage/usage_metrics.h"

namespace aigw::usage {
namespace {

prometheus::Family<prometheus::Counter>& Counters(prometheus::Registry& r, const char* name,
                                                  const char* help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(r);
}

}  // namespace

UsageMetrics::UsageMetrics(prometheus::Registry& r) {
  events_ingested =
      &Counters(r, "aigw_usage_events_ingested_total", "Call events newly written.").Add({});
  duplicates = &Counters(r, "aigw_usage_duplicates_total",
                         "Call events skipped because (request_id, attempt) was already recorded.")
                    .Add({});
  auto& batches = Counters(r, "aigw_usage_batches_total", "RecordCalls batches by result.");
  batches_ok = &batches.Add({{"result", "ok"}});
  batches_invalid = &batches.Add({{"result", "invalid"}});
  batches_error = &batches.Add({{"result", "error"}});
  batch_seconds =
      &prometheus::BuildHistogram()
           .Name("aigw_usage_batch_seconds")
           .Help("Time to validate, write and commit one RecordCalls batch.")
           .Register(r)
           .Add({}, prometheus::Histogram::BucketBoundaries{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                            0.1, 0.25, 0.5, 1, 2.5, 5});
  auto& db_errors =
      Counters(r, "aigw_usage_db_errors_total", "Database operations that failed, by operation.");
  db_errors_record = &db_errors.Add({{"op", "record"}});
  db_errors_query = &db_errors.Add({{"op", "query"}});
  db_errors_retention = &db_errors.Add({{"op", "retention"}});
  retention_deleted_rows = &Counters(r, "aigw_usage_retention_deleted_rows_total",
                                     "Call log rows removed by retention (batch deletes and "
                                     "dropped partitions).")
                                .Add({});
  retention_dropped_partitions = &Counters(r, "aigw_usage_retention_dropped_partitions_total",
                                           "Monthly log partitions dropped by retention (MySQL).")
                                      .Add({});
}

}  // namespace aigw::usage
