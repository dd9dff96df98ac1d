#include "services/usage/usage_service.h"

#include <string>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "libs/server/grpc_status.h"

namespace aigw::usage {

using ::aigw::server::ToGrpcStatus;

UsageServiceImpl::UsageServiceImpl(std::unique_ptr<UsageStore> store,
                                   std::unique_ptr<UsageQueries> queries,
                                   UsageServiceOptions options)
    : store_(std::move(store)),
      queries_(std::move(queries)),
      executor_(
          std::make_unique<BlockingExecutor>(options.worker_threads, options.max_queued_calls)) {}

UsageServiceImpl::~UsageServiceImpl() { executor_.reset(); }

grpc::ServerUnaryReactor* UsageServiceImpl::Offload(grpc::CallbackServerContext* ctx,
                                                    std::function<grpc::Status()> work) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  const bool queued =
      executor_->Submit([reactor, work = std::move(work)] { reactor->Finish(work()); });
  if (!queued) {
    reactor->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                 "usage service is overloaded (too many calls waiting for the "
                                 "database); retry later"));
  }
  return reactor;
}

grpc::ServerUnaryReactor* UsageServiceImpl::RecordCalls(grpc::CallbackServerContext* ctx,
                                                        const v1::RecordCallsRequest* req,
                                                        v1::RecordCallsResponse* resp) {
  return Offload(ctx, [this, req, resp] {
    absl::StatusOr<RecordResult> r = store_->RecordCalls(req->events());
    if (!r.ok()) return ToGrpcStatus(r.status());
    resp->set_accepted(r->accepted);
    resp->set_duplicates(r->duplicates);
    return grpc::Status::OK;
  });
}

grpc::ServerUnaryReactor* UsageServiceImpl::GetUsage(grpc::CallbackServerContext* ctx,
                                                     const v1::GetUsageRequest* req,
                                                     v1::GetUsageResponse* resp) {
  return Offload(ctx, [this, req, resp] {
    absl::StatusOr<v1::GetUsageResponse> r = queries_->GetUsage(*req);
    if (!r.ok()) return ToGrpcStatus(r.status());
    resp->Swap(&*r);
    return grpc::Status::OK;
  });
}

grpc::ServerUnaryReactor* UsageServiceImpl::GetTrend(grpc::CallbackServerContext* ctx,
                                                     const v1::GetTrendRequest* req,
                                                     v1::GetTrendResponse* resp) {
  return Offload(ctx, [this, req, resp] {
    absl::StatusOr<v1::GetTrendResponse> r = queries_->GetTrend(*req);
    if (!r.ok()) return ToGrpcStatus(r.status());
    resp->Swap(&*r);
    return grpc::Status::OK;
  });
}

grpc::ServerUnaryReactor* UsageServiceImpl::GetDashboard(grpc::CallbackServerContext* ctx,
                                                         const v1::GetDashboardRequest* req,
                                                         v1::GetDashboardResponse* resp) {
  return Offload(ctx, [this, req, resp] {
    absl::StatusOr<v1::GetDashboardResponse> r = queries_->GetDashboard(*req);
    if (!r.ok()) return ToGrpcStatus(r.status());
    resp->Swap(&*r);
    return grpc::Status::OK;
  });
}

grpc::ServerUnaryReactor* UsageServiceImpl::QueryLogs(grpc::CallbackServerContext* ctx,
                                                      const v1::QueryLogsRequest* req,
                                                      v1::QueryLogsResponse* resp) {
  int64_t snapshot = 0;
  auto it = ctx->client_metadata().find(kLogsSnapshotMetadata);
  if (it != ctx->client_metadata().end()) {
    const absl::string_view value(it->second.data(), it->second.size());
    if (!absl::SimpleAtoi(value, &snapshot) || snapshot < 0) {
      grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
      reactor->Finish(grpc::Status(
          grpc::StatusCode::INVALID_ARGUMENT,
          absl::StrCat("metadata ", kLogsSnapshotMetadata, " must be a log id (0 or more), got '",
                       value.substr(0, 40), "'")));
      return reactor;
    }
  }
  return Offload(ctx, [this, ctx, req, resp, snapshot] {
    absl::StatusOr<LogPage> r = queries_->QueryLogs(*req, snapshot);
    if (!r.ok()) return ToGrpcStatus(r.status());
    ctx->AddInitialMetadata(kLogsSnapshotMetadata, absl::StrCat(r->snapshot_id));
    if (r->total_capped) ctx->AddInitialMetadata(kLogsTotalCappedMetadata, "true");
    resp->Swap(&r->response);
    return grpc::Status::OK;
  });
}

}  // namespace aigw::usage
