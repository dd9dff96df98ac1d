#include "libs/server/grpc_metrics.h"

#include <chrono>

#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"

namespace aigw::server {
namespace {

constexpr const char* kCodeNames[17] = {
    "OK",       "CANCELLED",          "UNKNOWN",           "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
    "NOT_FOUND", "ALREADY_EXISTS",    "PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",      "UNIMPLEMENTED",    "INTERNAL",
    "UNAVAILABLE", "DATA_LOSS",       "UNAUTHENTICATED"};

class MetricsInterceptor : public grpc::experimental::Interceptor {
 public:
  MetricsInterceptor(GrpcServerMetrics* metrics, GrpcServerMetrics::Method* method)
      : metrics_(metrics), method_(method), start_(std::chrono::steady_clock::now()) {
    method_->started->Increment();
  }

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_STATUS)) {
      const int code = methods->GetSendStatus().error_code();
      metrics_->Handled(method_, code)->Increment();
      method_->latency->Observe(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count());
    }
    methods->Proceed();
  }

 private:
  GrpcServerMetrics* metrics_;
  GrpcServerMetrics::Method* method_;
  std::chrono::steady_clock::time_point start_;
};

class MetricsInterceptorFactory : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit MetricsInterceptorFactory(GrpcServerMetrics* metrics) : metrics_(metrics) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new MetricsInterceptor(metrics_, metrics_->ForMethod(info->method()));
  }

 private:
  GrpcServerMetrics* metrics_;
};

}  // namespace

GrpcServerMetrics::GrpcServerMetrics(prometheus::Registry& registry)
    : started_(prometheus::BuildCounter()
                   .Name("aigw_grpc_server_started_total")
                   .Help("RPCs started on the server, by method.")
                   .Register(registry)),
      handled_(prometheus::BuildCounter()
                   .Name("aigw_grpc_server_handled_total")
                   .Help("RPCs completed on the server, by method and gRPC status code.")
                   .Register(registry)),
      latency_(prometheus::BuildHistogram()
                   .Name("aigw_grpc_server_handling_seconds")
                   .Help("Time from receiving an RPC to sending its status.")
                   .Register(registry)) {}

GrpcServerMetrics::Method* GrpcServerMetrics::ForMethod(const char* full_method) {
  absl::string_view name = full_method == nullptr ? "" : full_method;
  absl::MutexLock lock(&mu_);
  auto it = methods_.find(name);
  if (it != methods_.end()) return it->second.get();
  auto m = std::make_unique<Method>();
  absl::string_view trimmed = absl::StripPrefix(name, "/");
  size_t slash = trimmed.find('/');
  m->service = std::string(trimmed.substr(0, slash));
  m->method = slash == absl::string_view::npos ? "" : std::string(trimmed.substr(slash + 1));
  m->started = &started_.Add({{"grpc_service", m->service}, {"grpc_method", m->method}});
  m->latency = &latency_.Add(
      {{"grpc_service", m->service}, {"grpc_method", m->method}},
      prometheus::Histogram::BucketBoundaries{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                              0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60});
  Method* out = m.get();
  methods_.emplace(std::string(name), std::move(m));
  return out;
}

prometheus::Counter* GrpcServerMetrics::Handled(Method* m, int code) {
  if (code < 0 || code > 16) code = 2;  // UNKNOWN
  absl::MutexLock lock(&mu_);
  if (m->handled[code] == nullptr) {
    m->handled[code] = &handled_.Add(
        {{"grpc_service", m->service}, {"grpc_method", m->method}, {"grpc_code", kCodeNames[code]}});
  }
  return m->handled[code];
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
GrpcServerMetrics::NewInterceptorFactory() {
  return std::make_unique<MetricsInterceptorFactory>(this);
}

}  // namespace aigw::server
