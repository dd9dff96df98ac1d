// The usage service's metrics under the names its README lists.

#include "services/usage/usage_metrics.h"

#include <string>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "prometheus/text_serializer.h"

namespace aigw::usage {
namespace {

std::string Exposition(prometheus::Registry& registry) {
  return prometheus::TextSerializer().Serialize(registry.Collect());
}

TEST(UsageMetricsTest, EachCounterIsExportedUnderItsNameAndLabels) {
  prometheus::Registry registry;
  UsageMetrics m(registry);
  m.events_ingested->Increment(3);
  m.duplicates->Increment(2);
  m.batches_ok->Increment();
  m.batches_invalid->Increment(4);
  m.batches_error->Increment(5);
  m.db_errors_record->Increment(6);
  m.db_errors_query->Increment(7);
  m.db_errors_retention->Increment(8);
  m.retention_deleted_rows->Increment(9);
  m.retention_dropped_partitions->Increment(10);
  m.batch_seconds->Observe(0.003);
  const std::string text = Exposition(registry);
  for (const char* line :
       {"aigw_usage_events_ingested_total 3", "aigw_usage_duplicates_total 2",
        "aigw_usage_batches_total{result=\"ok\"} 1",
        "aigw_usage_batches_total{result=\"invalid\"} 4",
        "aigw_usage_batches_total{result=\"error\"} 5",
        "aigw_usage_db_errors_total{op=\"record\"} 6", "aigw_usage_db_errors_total{op=\"query\"} 7",
        "aigw_usage_db_errors_total{op=\"retention\"} 8",
        "aigw_usage_retention_deleted_rows_total 9",
        "aigw_usage_retention_dropped_partitions_total 10", "aigw_usage_batch_seconds_count 1",
        "aigw_usage_batch_seconds_bucket{le=\"0.0025\"} 0",
        "aigw_usage_batch_seconds_bucket{le=\"0.005\"} 1"}) {
    EXPECT_TRUE(absl::StrContains(text, line)) << line << "\n" << text;
  }
}

}  // namespace
}  // namespace aigw::usage
