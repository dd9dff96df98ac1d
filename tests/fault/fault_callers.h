#ifndef AIGW_TESTS_FAULT_FAULT_CALLERS_H_
#define AIGW_TESTS_FAULT_FAULT_CALLERS_H_

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "aigw/v1/chat.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace aigw::fault {

// The kinds of call the harness's clients make, in a fixed rotation.
enum class CallKind {
  kUnary,     // openai, answered
  kStream,    // openai, streamed
  kFallback,  // deepseek (always 503: retried) falling back to openai
  kRefused,   // a model the provider refuses with 400: one attempt, an error
  kInvalid,   // temperature 5: refused by the gateway's validation, never sent
};
std::string CallKindName(CallKind kind);
// "OK", "UNAVAILABLE", ...
std::string StatusCodeName(grpc::StatusCode code);

// What one client saw of one call.
struct CallRecord {
  std::string request_id;
  CallKind kind = CallKind::kUnary;
  grpc::StatusCode code = grpc::StatusCode::OK;
  std::string message;
  // From the answer (OK only): attempts made, tokens and cost charged.
  int attempts = 0;
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  int64_t total_tokens = 0;
  int64_t cost_nanos = 0;
  absl::Time start;
  absl::Time end;
};

// A few concurrent closed-loop clients of the gateways. Every call carries a
// unique caller-supplied request_id (`<prefix>-c<client>-<n>`); each client
// records what it saw.
class FaultCallers {
 public:
  // Client i calls gateway_targets[i % size].
  FaultCallers(const std::vector<std::string>& gateway_targets, std::string bearer_token,
               int clients);
  ~FaultCallers();

  // Starts the clients; their request ids begin with `prefix`.
  void Start(const std::string& prefix);
  // Stops them after their calls in flight end; returns every call made
  // since Start.
  std::vector<CallRecord> Stop();

 private:
  void Run(int client);
  CallRecord Call(aigw::v1::ChatService::Stub& stub, CallKind kind,
                  const std::string& request_id);

  std::vector<std::unique_ptr<aigw::v1::ChatService::Stub>> stubs_;
  const std::string token_;
  const int clients_;
  std::string prefix_;
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
  absl::Mutex mu_;
  std::vector<CallRecord> records_ ABSL_GUARDED_BY(mu_);
};

}  // namespace aigw::fault

#endif  // AIGW_TESTS_FAULT_FAULT_CALLERS_H_
