#ifndef AIGW_SERVICES_USAGE_USAGE_SERVICE_H_
#define AIGW_SERVICES_USAGE_USAGE_SERVICE_H_

#include <memory>

#include "aigw/v1/usage.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "services/usage/blocking_executor.h"
#include "services/usage/usage_queries.h"
#include "services/usage/usage_store.h"

namespace aigw::usage {

// QueryLogs paging snapshot, carried in gRPC metadata because the proto has
// page/page_size only. Every QueryLogs answer sends it back in its initial
// metadata; a client paging through the log sends the value from its first
// page with each later page, and then pages are offsets into the log as it
// was at that first page: rows recorded meanwhile neither shift a page nor
// change `total`, so the walk has no gaps and no repeats. Without it each
// call pages over the log as it is now (new rows at the top push older rows
// onto later pages, which repeats rows but never skips one).
inline constexpr char kLogsSnapshotMetadata[] = "aigw-logs-snapshot-id";
// Sent back (initial metadata, "true") when QueryLogs' total stopped at the
// counting cap (UsageQueryOptions::max_counted_logs): there are at least
// that many rows, and pages past it still return rows.
inline constexpr char kLogsTotalCappedMetadata[] = "aigw-logs-total-capped";

struct UsageServiceOptions {
  // Threads running database work for the handlers.
  int worker_threads = 4;
  // Calls waiting for a worker beyond which new calls get UNAVAILABLE.
  size_t max_queued_calls = 1024;
};

// aigw.v1.UsageService over the usage library: each handler hands its call
// to the worker pool, which runs the store or query and finishes the
// reactor. Library statuses map to gRPC codes one to one.
class UsageServiceImpl final : public v1::UsageService::CallbackService {
 public:
  UsageServiceImpl(std::unique_ptr<UsageStore> store, std::unique_ptr<UsageQueries> queries,
                   UsageServiceOptions options);
  ~UsageServiceImpl() override;

  grpc::ServerUnaryReactor* RecordCalls(grpc::CallbackServerContext* ctx,
                                        const v1::RecordCallsRequest* req,
                                        v1::RecordCallsResponse* resp) override;
  grpc::ServerUnaryReactor* GetUsage(grpc::CallbackServerContext* ctx,
                                     const v1::GetUsageRequest* req,
                                     v1::GetUsageResponse* resp) override;
  grpc::ServerUnaryReactor* GetTrend(grpc::CallbackServerContext* ctx,
                                     const v1::GetTrendRequest* req,
                                     v1::GetTrendResponse* resp) override;
  grpc::ServerUnaryReactor* GetDashboard(grpc::CallbackServerContext* ctx,
                                         const v1::GetDashboardRequest* req,
                                         v1::GetDashboardResponse* resp) override;
  grpc::ServerUnaryReactor* QueryLogs(grpc::CallbackServerContext* ctx,
                                      const v1::QueryLogsRequest* req,
                                      v1::QueryLogsResponse* resp) override;

 private:
  // Runs `work` on a worker and finishes the call with its status.
  grpc::ServerUnaryReactor* Offload(grpc::CallbackServerContext* ctx,
                                    std::function<grpc::Status()> work);

  std::unique_ptr<UsageStore> store_;
  std::unique_ptr<UsageQueries> queries_;
  // Last member: destroyed (drained and joined) first, while the store and
  // queries its tasks use are still alive.
  std::unique_ptr<BlockingExecutor> executor_;
};


}  // namespace aigw::usage

#endif  // AIGW_SERVICES_USAGE_USAGE_SERVICE_H_
