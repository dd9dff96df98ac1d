#include "services/gateway/key_leaser.h"

#include <algorithm>
#include <memory>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "libs/common/logging.h"
#include "libs/server/grpc_status.h"
#include "services/gateway/event_sanitizer.h"

namespace aigw::gateway {
namespace {

// A refused batch costs about two calls per halving for each report singled
// out; past this many, what is still refused is dropped whole.
constexpr int kMaxSingledOut = 16;

}  // namespace

GrpcKeyLeaser::GrpcKeyLeaser(std::shared_ptr<grpc::Channel> channel, absl::Duration lease_timeout,
                             std::function<std::string()> authorization,
                             absl::Duration report_delay)
    : stub_(aigw::v1::KeyPool::NewStub(std::move(channel))),
      lease_timeout_(lease_timeout),
      authorization_(std::move(authorization)),
      report_delay_(report_delay) {
  if (report_delay_ > absl::ZeroDuration()) {
    // Runs when asked: report_delay_ after reports start waiting.
    flusher_ = std::make_unique<PeriodicTask>(absl::InfiniteDuration(), [this] { SendReports(); });
    flusher_->Start();
  }
}

GrpcKeyLeaser::~GrpcKeyLeaser() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (flusher_ != nullptr) flusher_->Stop();
  SendReports();
  absl::MutexLock lock(&mu_);
  auto idle = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return in_flight_ == 0 && (pending_reports_.empty() || !batches_supported_);
  };
  mu_.AwaitWithTimeout(absl::Condition(&idle), absl::Seconds(5));
}

void GrpcKeyLeaser::PrepareContext(grpc::ClientContext* ctx, absl::Duration timeout) const {
  ctx->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  if (authorization_) ctx->AddMetadata("authorization", authorization_());
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
  PrepareContext(&call->ctx, lease_timeout_);
  if (handover_wait_ > absl::ZeroDuration() &&
      absl::Now() - absl::FromUnixNanos(last_answer_ns_.load(std::memory_order_relaxed)) <
          handover_wait_) {
    call->ctx.set_wait_for_ready(true);
  }
  CallStarted();
  stub_->async()->LeaseKey(&call->ctx, &call->request, &call->response,
                           [this, call](grpc::Status status) {
                             if (status.error_code() != grpc::StatusCode::UNAVAILABLE &&
                                 status.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED) {
                               last_answer_ns_.store(absl::ToUnixNanos(absl::Now()),
                                                     std::memory_order_relaxed);
                             }
                             LeaseResult result;
                             result.status = server::ToAbslStatus(status);
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

absl::StatusOr<aigw::v1::AllotKeysResponse> GrpcKeyLeaser::AllotKeys(
    const aigw::v1::AllotKeysRequest& request) {
  grpc::ClientContext ctx;
  PrepareContext(&ctx, kReportTimeout);
  aigw::v1::AllotKeysResponse response;
  grpc::Status status = stub_->AllotKeys(&ctx, request, &response);
  if (!status.ok()) return server::ToAbslStatus(status);
  return response;
}

void GrpcKeyLeaser::Report(const aigw::v1::ReportUsageRequest& request) {
  {
    absl::MutexLock lock(&mu_);
    pending_reports_.push_back(request);
    // Error text cut inside a character would make the whole batch
    // undecodable to the keypool.
    MakeSendable(&pending_reports_.back());
    if (batch_in_flight_) return;  // its answer sends or schedules these
    if (!SendNowLocked()) {
      GatherLocked();
      return;
    }
  }
  SendReports();
}

void GrpcKeyLeaser::GatherLocked() {
  // The flusher sends them report_delay_ after the first began to wait;
  // later ones do not put that off.
  if (!pending_reports_.empty() && flusher_ != nullptr) flusher_->RunWithin(report_delay_);
}

bool GrpcKeyLeaser::SendNowLocked() const {
  // With a delay the flusher sends them, unless the batch is full already
  // or the leaser is going away.
  return report_delay_ == absl::ZeroDuration() || stopping_ ||
         pending_reports_.size() >= kEagerReportBatch;
}

void GrpcKeyLeaser::SendReports() {
  struct Call {
    grpc::ClientContext ctx;
    aigw::v1::ReportUsageBatchRequest request;
    aigw::v1::ReportUsageBatchResponse response;
  };
  auto call = std::make_unique<Call>();
  std::vector<aigw::v1::ReportUsageRequest> one_by_one;
  {
    absl::MutexLock lock(&mu_);
    if (batch_in_flight_ || pending_reports_.empty()) return;
    if (!batches_supported_) {
      one_by_one.swap(pending_reports_);
    } else {
      const size_t n = std::min(pending_reports_.size(), kMaxReportBatch);
      call->request.mutable_reports()->Reserve(static_cast<int>(n));
      for (size_t i = 0; i < n; ++i) {
        *call->request.add_reports() = std::move(pending_reports_[i]);
      }
      pending_reports_.erase(pending_reports_.begin(), pending_reports_.begin() + n);
      batch_in_flight_ = true;
      ++in_flight_;
    }
  }
  if (!one_by_one.empty()) {
    for (const auto& r : one_by_one) ReportOne(r);
    return;
  }
  PrepareContext(&call->ctx, kReportTimeout);
  Call* c = call.release();
  stub_->async()->ReportUsageBatch(
      &c->ctx, &c->request, &c->response, [this, c](grpc::Status status) {
        std::unique_ptr<Call> done(c);
        if (status.ok()) {
          absl::MutexLock lock(&mu_);
          batches_answered_ = true;
        } else {
          // Refused reports are singled out; on any other failure those
          // leases expire in the keypool and keep their estimates (accuracy
          // lost, never a stuck key).
          OnBatchAnswer(std::move(done->request), status, std::make_shared<std::atomic<int>>(0));
        }
        done.reset();
        bool now;
        {
          absl::MutexLock lock(&mu_);
          batch_in_flight_ = false;
          now = SendNowLocked();
          if (!now) GatherLocked();
        }
        if (now) SendReports();
        CallDone();  // last: the destructor may run from here on
      });
}

int64_t GrpcKeyLeaser::refused_reports() {
  absl::MutexLock lock(&mu_);
  return refused_reports_;
}

void GrpcKeyLeaser::OnBatchAnswer(aigw::v1::ReportUsageBatchRequest batch,
                                  const grpc::Status& status,
                                  std::shared_ptr<std::atomic<int>> singled_out) {
  switch (status.error_code()) {
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      Narrow(std::move(batch), status, std::move(singled_out));
      return;
    case grpc::StatusCode::UNIMPLEMENTED:
      break;
    default:
      return;
  }
  bool has_batch_rpc;
  {
    absl::MutexLock lock(&mu_);
    has_batch_rpc = batches_answered_;
  }
  if (has_batch_rpc) {
    // The keypool could not decode this request.
    Narrow(std::move(batch), status, std::move(singled_out));
    return;
  }
  // gRPC's callback API answers UNIMPLEMENTED for a request it cannot
  // decode, and so does a keypool without ReportUsageBatch: an empty batch
  // tells them apart.
  struct Probe {
    grpc::ClientContext ctx;
    aigw::v1::ReportUsageBatchRequest empty;
    aigw::v1::ReportUsageBatchResponse response;
    aigw::v1::ReportUsageBatchRequest held;
    grpc::Status status;
    std::shared_ptr<std::atomic<int>> singled_out;
  };
  auto* p = new Probe;
  p->held = std::move(batch);
  p->status = status;
  p->singled_out = std::move(singled_out);
  PrepareContext(&p->ctx, kReportTimeout);
  CallStarted();
  stub_->async()->ReportUsageBatch(
      &p->ctx, &p->empty, &p->response, [this, p](grpc::Status answer) {
        std::unique_ptr<Probe> probe(p);
        if (answer.error_code() == grpc::StatusCode::UNIMPLEMENTED) {
          // An older keypool: these and later reports go one by one.
          {
            absl::MutexLock lock(&mu_);
            batches_supported_ = false;
          }
          spdlog::warn("msg=\"the keypool has no ReportUsageBatch; reports go one by one\"");
          for (const auto& r : probe->held.reports()) ReportOne(r);
        } else {
          Narrow(std::move(probe->held), probe->status, probe->singled_out);
        }
        probe.reset();
        CallDone();
      });
}

void GrpcKeyLeaser::Narrow(aigw::v1::ReportUsageBatchRequest batch, const grpc::Status& status,
                           std::shared_ptr<std::atomic<int>> singled_out) {
  const int n = batch.reports_size();
  if (n == 0) return;
  if (n == 1 || singled_out->load() >= kMaxSingledOut) {
    if (n == 1) singled_out->fetch_add(1);
    spdlog::warn(
        "msg=\"the keypool refused usage reports; dropped (their leases expire)\" "
        "reports={} lease_id=\"{}\" code={} error=\"{}\"",
        n, batch.reports(0).lease_id(), static_cast<int>(status.error_code()),
        status.error_message());
    absl::MutexLock lock(&mu_);
    refused_reports_ += n;
    return;
  }
  aigw::v1::ReportUsageBatchRequest first, second;
  for (int i = 0; i < n; ++i) {
    *(i < n / 2 ? first.add_reports() : second.add_reports()) =
        std::move(*batch.mutable_reports(i));
  }
  SendPart(std::move(first), singled_out);
  SendPart(std::move(second), std::move(singled_out));
}

void GrpcKeyLeaser::SendPart(aigw::v1::ReportUsageBatchRequest part,
                             std::shared_ptr<std::atomic<int>> singled_out) {
  struct Call {
    grpc::ClientContext ctx;
    aigw::v1::ReportUsageBatchRequest request;
    aigw::v1::ReportUsageBatchResponse response;
    std::shared_ptr<std::atomic<int>> singled_out;
  };
  auto* call = new Call;
  call->request = std::move(part);
  call->singled_out = std::move(singled_out);
  PrepareContext(&call->ctx, kReportTimeout);
  CallStarted();
  stub_->async()->ReportUsageBatch(
      &call->ctx, &call->request, &call->response, [this, call](grpc::Status status) {
        std::unique_ptr<Call> done(call);
        if (!status.ok()) OnBatchAnswer(std::move(done->request), status, done->singled_out);
        done.reset();
        CallDone();
      });
}

void GrpcKeyLeaser::ReportOne(const aigw::v1::ReportUsageRequest& request) {
  struct Call {
    grpc::ClientContext ctx;
    aigw::v1::ReportUsageRequest request;
    aigw::v1::ReportUsageResponse response;
  };
  auto* call = new Call;
  call->request = request;
  PrepareContext(&call->ctx, kReportTimeout);
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
