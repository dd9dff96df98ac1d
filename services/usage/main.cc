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

namespace aigw::usage {
namespace {

// The service's own flags, checked, with the stats zone loaded.
struct UsageFlags {
  std::string zone_name;
  absl::TimeZone zone;
  int max_batch_events = 0;
  int retention_days = 0;
};

absl::StatusOr<UsageFlags> ReadFlags() {
  UsageFlags f;
  f.zone_name = absl::GetFlag(FLAGS_stats_time_zone);
  if (!absl::LoadTimeZone(f.zone_name, &f.zone)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--stats_time_zone: unknown time zone '", f.zone_name, "'"));
  }
  f.max_batch_events = absl::GetFlag(FLAGS_max_batch_events);
  if (f.max_batch_events < 1) {
    return absl::InvalidArgumentError("--max_batch_events must be 1 or more");
  }
  f.retention_days = absl::GetFlag(FLAGS_log_retention_days);
  if (f.retention_days < 0) {
    return absl::InvalidArgumentError("--log_retention_days must be 0 or more");
  }
  if (absl::GetFlag(FLAGS_retention_interval) <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--retention_interval must be positive");
  }
  return f;
}

// Log retention, running in the background from now on.
std::shared_ptr<LogRetention> StartRetention(db::Database* db, const UsageFlags& flags,
                                             UsageMetrics* metrics, Clock* clock) {
  RetentionOptions options;
  options.retention_days = flags.retention_days;
  options.interval = absl::GetFlag(FLAGS_retention_interval);
  options.batch_rows = absl::GetFlag(FLAGS_retention_batch_rows);
  auto retention = std::make_shared<LogRetention>(db, options, metrics, clock);
  retention->Start();
  return retention;
}

absl::StatusOr<server::ServiceParts> BuildService(server::ServiceContext& ctx) {
  absl::StatusOr<UsageFlags> flags = ReadFlags();
  if (!flags.ok()) return flags.status();
  auto metrics = std::make_shared<UsageMetrics>(*ctx.metrics);
  Clock* clock = Clock::Real();

  UsageStoreOptions store_options;
  store_options.max_batch_events = flags->max_batch_events;
  store_options.stats_zone = flags->zone;
  absl::StatusOr<std::unique_ptr<UsageStore>> store =
      UsageStore::Create(ctx.db, store_options, metrics.get(), clock);
  if (!store.ok()) return store.status();
  UsageQueryOptions query_options;
  query_options.stats_zone = flags->zone;
  query_options.max_counted_logs = absl::GetFlag(FLAGS_logs_count_cap);
  absl::StatusOr<std::unique_ptr<UsageQueries>> queries =
      UsageQueries::Create(ctx.db, query_options, metrics.get(), clock);
  if (!queries.ok()) return queries.status();

  std::shared_ptr<LogRetention> retention = StartRetention(ctx.db, *flags, metrics.get(), clock);
  spdlog::info("msg=\"usage ready\" stats_time_zone=\"{}\" log_retention_days={}", flags->zone_name,
               flags->retention_days);

  UsageServiceOptions service_options;
  service_options.worker_threads = absl::GetFlag(FLAGS_usage_workers);
  server::ServiceParts parts;
  parts.services.push_back(
      std::make_unique<UsageServiceImpl>(*std::move(store), *std::move(queries), service_options));
  parts.on_shutdown = [retention] { retention->Stop(); };
  // The retention thread and the store use the metrics: both live until
  // the process ends.
  parts.keep_alive.push_back(retention);
  parts.keep_alive.push_back(metrics);
  return parts;
}

}  // namespace
}  // namespace aigw::usage

int main(int argc, char** argv) {
  aigw::server::ServiceSpec spec{.name = "usage",
                                 .default_grpc_port = 50053,
                                 .default_metrics_port = 9103,
                                 .env_flags = {{"stats_time_zone", "AIGW_STATS_TIME_ZONE"},
                                               {"max_batch_events", "AIGW_USAGE_MAX_BATCH_EVENTS"},
                                               {"log_retention_days", "AIGW_LOG_RETENTION_DAYS"},
                                               {"retention_interval", "AIGW_RETENTION_INTERVAL"}},
                                 // Every RPC, RecordCalls first, needs the database.
                                 .database_bound_services = {"aigw.v1.UsageService"}};
  return aigw::server::RunServiceMain(spec, argc, argv, aigw::usage::BuildService);
}
