#ifndef AIGW_LIBS_SERVER_GRPC_METRICS_H_
#define AIGW_LIBS_SERVER_GRPC_METRICS_H_

#include <array>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/support/server_interceptor.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace aigw::server {

// Per-RPC counters and latency for every method a server handles:
//   aigw_grpc_server_started_total{grpc_service,grpc_method}
//   aigw_grpc_server_handled_total{grpc_service,grpc_method,grpc_code}
//   aigw_grpc_server_handling_seconds{grpc_service,grpc_method}
// Installed as a gRPC server interceptor, so handlers need no code for it.
class GrpcServerMetrics {
 public:
  explicit GrpcServerMetrics(prometheus::Registry& registry);

  struct Method {
    prometheus::Counter* started;
    prometheus::Histogram* latency;
    std::array<prometheus::Counter*, 17> handled{};  // by grpc::StatusCode
    std::string service;
    std::string method;
  };
  // `full_method` is "/pkg.Service/Method". The pointer lives as long as this.
  Method* ForMethod(const char* full_method);
  prometheus::Counter* Handled(Method* m, int code);

  std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> NewInterceptorFactory();

 private:
  prometheus::Family<prometheus::Counter>& started_;
  prometheus::Family<prometheus::Counter>& handled_;
  prometheus::Family<prometheus::Histogram>& latency_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::unique_ptr<Method>> methods_ ABSL_GUARDED_BY(mu_);
};

}  // namespace aigw::server

#endif  // AIGW_LIBS_SERVER_GRPC_METRICS_H_
