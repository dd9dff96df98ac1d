// aigw-usage: call log, daily aggregates and usage queries
// (aigw.v1.UsageService).

#include <memory>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "aigw/v1/usage.grpc.pb.h"
#include "libs/common/clock.h"
#include "libs/server/service_main.h"
#include "services/usage/log_retention.h"
#include "services/usage/usage_metrics.h"
#include "services/usage/usage_queries.h"
#include "services/usage/usage_service.h"
#include "services/usage/usage_store.h"
#include "spdlog/spdlog.h"

ABSL_FLAG(std::string, stats_time_zone, "UTC",
          "Zone whose calendar days the daily statistics count (IANA name) "
          "[env AIGW_STATS_TIME_ZONE]");
ABSL_FLAG(int, max_batch_events, 5000,
          "Most events one RecordCalls batch may carry [env AIGW_USAGE_MAX_BATCH_EVENTS]");
ABSL_FLAG(int, log_retention_days, 90,
          "Call log rows older than this many days are removed; 0 keeps them "
          "[env AIGW_LOG_RETENTION_DAYS]");
ABSL_FLAG(absl::Duration, retention_interval, absl::Hours(1),
          "How often log retention runs [env AIGW_RETENTION_INTERVAL]");
ABSL_FLAG(int, retention_batch_rows, 1000, "Log rows per retention DELETE");
ABSL_FLAG(int, usage_workers, 4, "Threads running the database work of the RPCs");
ABSL_FLAG(int64_t, logs_count_cap, 10000,
          "QueryLogs counts at most this many rows for its total (then metadata "
          "aigw-logs-total-capped: true); 0 counts all");

int main(int argc, char** argv) {
  aigw::server::ServiceSpec spec{.name = "usage",
                                 .default_grpc_port = 50053,
                                 .default_metrics_port = 9103,
                                 .env_flags = {{"stats_time_zone", "AIGW_STATS_TIME_ZONE"},
                                               {"max_batch_events", "AIGW_USAGE_MAX_BATCH_EVENTS"},
                                               {"log_retention_days", "AIGW_LOG_RETENTION_DAYS"},
                                               {"retention_interval", "AIGW_RETENTION_INTERVAL"}}};
  return aigw::server::RunServiceMain(
      spec, argc, argv,
      [](aigw::server::ServiceContext& ctx) -> absl::StatusOr<aigw::server::ServiceParts> {
        using namespace aigw::usage;  // NOLINT(build/namespaces): one factory, many names
        absl::TimeZone zone;
        const std::string zone_name = absl::GetFlag(FLAGS_stats_time_zone);
        if (!absl::LoadTimeZone(zone_name, &zone)) {
          return absl::InvalidArgumentError(
              absl::StrCat("--stats_time_zone: unknown time zone '", zone_name, "'"));
        }
        const int max_batch = absl::GetFlag(FLAGS_max_batch_events);
        if (max_batch < 1) {
          return absl::InvalidArgumentError("--max_batch_events must be 1 or more");
        }
        const int retention_days = absl::GetFlag(FLAGS_log_retention_days);
        if (retention_days < 0) {
          return absl::InvalidArgumentError("--log_retention_days must be 0 or more");
        }
        if (absl::GetFlag(FLAGS_retention_interval) <= absl::ZeroDuration()) {
          return absl::InvalidArgumentError("--retention_interval must be positive");
        }
        auto metrics = std::make_shared<UsageMetrics>(*ctx.metrics);
        aigw::Clock* clock = aigw::Clock::Real();

        UsageStoreOptions store_options;
        store_options.max_batch_events = max_batch;
        store_options.stats_zone = zone;
        absl::StatusOr<std::unique_ptr<UsageStore>> store =
            UsageStore::Create(ctx.db, store_options, metrics.get(), clock);
        if (!store.ok()) return store.status();
        UsageQueryOptions query_options;
        query_options.stats_zone = zone;
        query_options.max_counted_logs = absl::GetFlag(FLAGS_logs_count_cap);
        absl::StatusOr<std::unique_ptr<UsageQueries>> queries =
            UsageQueries::Create(ctx.db, query_options, metrics.get(), clock);
        if (!queries.ok()) return queries.status();

        RetentionOptions retention_options;
        retention_options.retention_days = retention_days;
        retention_options.interval = absl::GetFlag(FLAGS_retention_interval);
        retention_options.batch_rows = absl::GetFlag(FLAGS_retention_batch_rows);
        auto retention =
            std::make_shared<LogRetention>(ctx.db, retention_options, metrics.get(), clock);
        retention->Start();
        spdlog::info("msg=\"usage ready\" stats_time_zone=\"{}\" log_retention_days={}", zone_name,
                     retention_days);

        UsageServiceOptions service_options;
        service_options.worker_threads = absl::GetFlag(FLAGS_usage_workers);
        aigw::server::ServiceParts parts;
        parts.services.push_back(std::make_unique<UsageServiceImpl>(
            *std::move(store), *std::move(queries), service_options));
        parts.on_shutdown = [retention] { retention->Stop(); };
        // The retention thread and the store use the metrics: both live until
        // the process ends.
        parts.keep_alive.push_back(retention);
        parts.keep_alive.push_back(metrics);
        return parts;
      });
}
