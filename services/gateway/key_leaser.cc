#include "services/gateway/key_leaser.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace aigw::gateway {
namespace {

absl::Status ToAbsl(const grpc::Status& s) {
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
}

}  // namespace

GrpcKeyLeaser::GrpcKeyLeaser(std::shared_ptr<grpc::Channel> channel, absl::Duration lease_timeout,
                             std::function<std::string()> authorization)
    : stub_(aigw::v1::KeyPool::NewStub(std::move(channel))),
      lease_timeout_(lease_timeout),
      authorization_(std::move(authorization)) {}

GrpcKeyLeaser::~GrpcKeyLeaser() {
  absl::MutexLock lock(&mu_);
  auto idle = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return in_flight_ == 0; };
  mu_.AwaitWithTimeout(absl::Condition(&idle), absl::Seconds(5));
}

void GrpcKeyLeaser::CallStarted() {
  absl::MutexLock lock(&mu_);
  ++in_flight_;
}

void GrpcKeyLeaser::CallDone() {
  absl::MutexLock lock(&mu_);
  --in_flight_;
}

void GrpcKeyLeaser::Lease(const aigw::v1::LeaseKeyRequest& request,
                          std::function<void(LeaseResult)> done) {
  struct Call {
    grpc::ClientContext ctx;
    aigw::v1::LeaseKeyRequest request;
    aigw::v1::LeaseKeyResponse response;
    std::function<void(LeaseResult)> done;
  };
  auto* call = new Call;
  call->request = request;
  call->done = std::move(done);
  call->ctx.set_deadline(absl::ToChronoTime(absl::Now() + lease_timeout_));
  if (authorization_) call->ctx.AddMetadata("authorization", authorization_());
  CallStarted();
  stub_->async()->LeaseKey(&call->ctx, &call->request, &call->response,
                           [this, call](grpc::Status status) {
                             LeaseResult result;
                             result.status = ToAbsl(status);
                             if (status.ok()) {
                               result.lease = std::move(call->response);
                             } else {
                               const auto& trailers = call->ctx.GetServerTrailingMetadata();
                               auto it = trailers.find("retry-after-ms");
                               if (it != trailers.end()) {
                                 int64_t ms = 0;
                                 if (absl::SimpleAtoi(absl::string_view(it->second.data(),
                                                                        it->second.size()),
                                                      &ms)) {
                                   result.retry_after_ms = ms;
                                 }
                               }
                             }
                             auto done = std::move(call->done);
                             delete call;
                             done(std::move(result));
                             CallDone();
                           });
}

void GrpcKeyLeaser::Report(const aigw::v1::ReportUsageRequest& request) {
  struct Call {
    grpc::ClientContext ctx;
    aigw::v1::ReportUsageRequest request;
    aigw::v1::ReportUsageResponse response;
  };
  auto* call = new Call;
  call->request = request;
  call->ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  if (authorization_) call->ctx.AddMetadata("authorization", authorization_());
  // An unreported lease expires in the keypool and keeps its estimate, so a
  // lost report costs accuracy, never a stuck key.
  CallStarted();
  stub_->async()->ReportUsage(&call->ctx, &call->request, &call->response,
                              [this, call](grpc::Status) {
                                delete call;
                                CallDone();
                              });
}

}  // namespace aigw::gateway
