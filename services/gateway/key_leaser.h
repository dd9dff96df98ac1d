#ifndef AIGW_SERVICES_GATEWAY_KEY_LEASER_H_
#define AIGW_SERVICES_GATEWAY_KEY_LEASER_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "aigw/v1/keypool.grpc.pb.h"
#include "grpcpp/grpcpp.h"

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
// thread waits for an answer). `metadata` is attached to every call (the
// service token).
class GrpcKeyLeaser : public KeyLeaser {
 public:
  GrpcKeyLeaser(std::shared_ptr<grpc::Channel> channel, absl::Duration lease_timeout,
                std::function<std::string()> authorization = nullptr);
  // Waits (a few seconds at most) for the calls still in flight, so no
  // report is lost on shutdown and no callback outlives the process's state.
  ~GrpcKeyLeaser() override;
  void Lease(const aigw::v1::LeaseKeyRequest& request,
             std::function<void(LeaseResult)> done) override;
  void Report(const aigw::v1::ReportUsageRequest& request) override;

 private:
  void CallStarted();
  void CallDone();

  std::unique_ptr<aigw::v1::KeyPool::Stub> stub_;
  const absl::Duration lease_timeout_;
  const std::function<std::string()> authorization_;
  absl::Mutex mu_;
  int64_t in_flight_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace aigw::gateway

#endif  // AIGW_SERVICES_GATEWAY_KEY_LEASER_H_
