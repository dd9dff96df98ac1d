#ifndef AIGW_SERVICES_GATEWAY_KEY_LEASER_H_
#define AIGW_SERVICES_GATEWAY_KEY_LEASER_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "aigw/v1/keypool.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "libs/common/periodic_task.h"

namespace aigw::gateway {

// A lease answer, or why there is none (with the keypool's retry hint).
struct LeaseResult {
  absl::Status status;
  aigw::v1::LeaseKeyResponse lease;
  int64_t retry_after_ms = 0;
};

// The gateway's view of the keypool. Callbacks may run on any thread.
class KeyLeaser {
 public:
  virtual ~KeyLeaser() = default;
  virtual void Lease(const aigw::v1::LeaseKeyRequest& request,
                     std::function<void(LeaseResult)> done) = 0;
  // Fire and forget: off the request's critical path.
  virtual void Report(const aigw::v1::ReportUsageRequest& request) = 0;
};

// Over a persistent gRPC channel to aigw-keypool, with the callback API (no
// thread waits for an answer). `authorization` is attached to every call
// (the service token).
//
// Reports go in batches (ReportUsageBatch): one call at a time, carrying
// every report that arrived while the previous one was under way and, with
// a `report_delay`, for that long after the first of them (a background
// thread sends them). A report is off every request's path, and the
// keypool's view of a key trails by that delay at most; a busy gateway sends
// a few calls a second instead of one per upstream attempt. Shutdown sends
// what is left at once.
//
// Every report is made sendable first (MakeSendable: its error text valid
// UTF-8 and bounded). A batch the keypool refuses for what it holds
// (INVALID_ARGUMENT, RESOURCE_EXHAUSTED, or UNIMPLEMENTED while the keypool
// does serve ReportUsageBatch: what gRPC's callback API answers for a
// request it cannot decode) is halved until the refused reports stand alone;
// those are dropped (their leases expire in the keypool) and the rest is
// applied. Only a keypool that answers UNIMPLEMENTED to an empty batch too
// has no ReportUsageBatch: it gets the reports one by one.
class GrpcKeyLeaser : public KeyLeaser {
 public:
  GrpcKeyLeaser(std::shared_ptr<grpc::Channel> channel, absl::Duration lease_timeout,
                std::function<std::string()> authorization = nullptr,
                absl::Duration report_delay = absl::ZeroDuration());
  // Waits (a few seconds at most) for the calls still in flight, so no
  // report is lost on shutdown and no callback outlives the process's state.
  ~GrpcKeyLeaser() override;
  void Lease(const aigw::v1::LeaseKeyRequest& request,
             std::function<void(LeaseResult)> done) override;
  void Report(const aigw::v1::ReportUsageRequest& request) override;
  // Reports the keypool refused one by one and that were dropped.
  int64_t refused_reports();
  // One AllotKeys round trip, blocking (the allotment refresher's thread);
  // fails fast when no keypool serves.
  absl::StatusOr<aigw::v1::AllotKeysResponse> AllotKeys(const aigw::v1::AllotKeysRequest& request);

  // Before the first call: while a keypool answered less than `wait` ago, a
  // lease finding none that serves (the active keypool just died and its
  // standby is taking over, the channel following the replicas' health)
  // waits for one, within the lease deadline, instead of failing at once.
  // After `wait` without an answer, leases fail fast again (UNAVAILABLE).
  // Zero (the default): always fail fast.
  void set_handover_wait(absl::Duration wait) { handover_wait_ = wait; }

 private:
  static constexpr size_t kMaxReportBatch = 1000;
  // A batch this full goes at once, delay or not.
  static constexpr size_t kEagerReportBatch = 256;

  static constexpr absl::Duration kReportTimeout = absl::Seconds(10);

  // The call's deadline and service token.
  void PrepareContext(grpc::ClientContext* ctx, absl::Duration timeout) const;
  void CallStarted();
  void CallDone();
  // Whether pending reports go now rather than after the flusher's delay.
  bool SendNowLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Has the flusher send what is pending after the delay.
  void GatherLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Sends what is pending if no batch is under way.
  void SendReports();
  void ReportOne(const aigw::v1::ReportUsageRequest& request);
  // Sends one batch that narrows a refused one (no batch_in_flight_).
  void SendPart(aigw::v1::ReportUsageBatchRequest part,
                std::shared_ptr<std::atomic<int>> singled_out);
  // What to do with a batch the keypool answered `status`: nothing, narrow
  // it, or (no batch RPC at all) send its reports one by one. Takes a call.
  void OnBatchAnswer(aigw::v1::ReportUsageBatchRequest batch, const grpc::Status& status,
                     std::shared_ptr<std::atomic<int>> singled_out);
  // Halves a refused batch, or drops its report once it stands alone.
  void Narrow(aigw::v1::ReportUsageBatchRequest batch, const grpc::Status& status,
              std::shared_ptr<std::atomic<int>> singled_out);

  std::unique_ptr<aigw::v1::KeyPool::Stub> stub_;
  const absl::Duration lease_timeout_;
  const std::function<std::string()> authorization_;
  const absl::Duration report_delay_;
  absl::Duration handover_wait_ = absl::ZeroDuration();
  // When a keypool last answered a lease (any code but UNAVAILABLE and
  // DEADLINE_EXCEEDED), in Unix nanoseconds.
  std::atomic<int64_t> last_answer_ns_{0};
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  int64_t in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<aigw::v1::ReportUsageRequest> pending_reports_ ABSL_GUARDED_BY(mu_);
  bool batch_in_flight_ ABSL_GUARDED_BY(mu_) = false;
  bool batches_supported_ ABSL_GUARDED_BY(mu_) = true;
  // A batch was answered OK once: the keypool has the RPC.
  bool batches_answered_ ABSL_GUARDED_BY(mu_) = false;
  int64_t refused_reports_ ABSL_GUARDED_BY(mu_) = 0;
  // Sends the gathered reports (only with a report delay).
  std::unique_ptr<PeriodicTask> flusher_;
};

}  // namespace aigw::gateway

#endif  // AIGW_SERVICES_GATEWAY_KEY_LEASER_H_
