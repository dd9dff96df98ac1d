#ifndef AIGW_SERVICES_KEYPOOL_KEYPOOL_SERVICE_H_
#define AIGW_SERVICES_KEYPOOL_KEYPOOL_SERVICE_H_

#include <functional>

#include "absl/status/statusor.h"
#include "aigw/v1/keypool.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "services/keypool/allotter.h"
#include "services/keypool/key_pool.h"

namespace aigw::keypool {

// Starts re-reading the keys and calls `done` with the number loaded, on any
// thread (KeySync::ReloadAsync).
using AsyncReload =
    std::function<void(std::function<void(absl::StatusOr<int>)> done)>;

// The trailing metadata key carrying when to try again after
// RESOURCE_EXHAUSTED, in whole milliseconds (rounded up).
inline constexpr char kRetryAfterMsMetadata[] = "retry-after-ms";

// The most reports one ReportUsageBatch takes.
inline constexpr int kMaxReportBatch = 1000;

// Whether this replica answers the pool's calls now: the active replica of
// an active/standby pair does, a standby refuses them (KeyPoolRole).
class ServingGate {
 public:
  virtual ~ServingGate() = default;
  // OK, or the status every call is refused with (UNAVAILABLE).
  virtual absl::Status CheckServing() const = 0;
};

// aigw.v1.KeyPool over a KeyPool (callback API). LeaseKey, ReportUsage and
// ListKeyStates answer inline on the gRPC thread (memory only, no I/O);
// Reload hands the database read to `reload` and AllotKeys its database
// write to the Allotter; each answers when that is done.
// Authorisation (service / admin roles) is the server's interceptors' job.
class KeyPoolService final : public aigw::v1::KeyPool::CallbackService {
 public:
  // `pool` is not owned. Without `reload`, Reload is FAILED_PRECONDITION.
  // With a `gate` (not owned), every call is refused while it says so.
  KeyPoolService(KeyPool* pool, AsyncReload reload, const ServingGate* gate = nullptr);

  grpc::ServerUnaryReactor* LeaseKey(grpc::CallbackServerContext* ctx,
                                     const aigw::v1::LeaseKeyRequest* request,
                                     aigw::v1::LeaseKeyResponse* response) override;
  grpc::ServerUnaryReactor* ReportUsage(grpc::CallbackServerContext* ctx,
                                        const aigw::v1::ReportUsageRequest* request,
                                        aigw::v1::ReportUsageResponse* response) override;
  grpc::ServerUnaryReactor* ReportUsageBatch(grpc::CallbackServerContext* ctx,
                                             const aigw::v1::ReportUsageBatchRequest* request,
                                             aigw::v1::ReportUsageBatchResponse* response) override;
  grpc::ServerUnaryReactor* ListKeyStates(grpc::CallbackServerContext* ctx,
                                          const aigw::v1::ListKeyStatesRequest* request,
                                          aigw::v1::ListKeyStatesResponse* response) override;
  grpc::ServerUnaryReactor* Reload(grpc::CallbackServerContext* ctx,
                                   const aigw::v1::ReloadRequest* request,
                                   aigw::v1::ReloadResponse* response) override;
  // Hands the request to the allotter and answers when it is stored.
  grpc::ServerUnaryReactor* AllotKeys(grpc::CallbackServerContext* ctx,
                                      const aigw::v1::AllotKeysRequest* request,
                                      aigw::v1::AllotKeysResponse* response) override;

  // Before serving: AllotKeys goes to `allotter` (not owned); without one it
  // is FAILED_PRECONDITION.
  void set_allotter(Allotter* allotter) { allotter_ = allotter; }

 private:
  // Finishes `reactor` with the gate's refusal and returns true, if any.
  bool Refused(grpc::ServerUnaryReactor* reactor) const;

  KeyPool* const pool_;
  const AsyncReload reload_;
  const ServingGate* const gate_;
  Allotter* allotter_ = nullptr;
};


}  // namespace aigw::keypool

#endif  // AIGW_SERVICES_KEYPOOL_KEYPOOL_SERVICE_H_
