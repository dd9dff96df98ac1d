#ifndef AIGW_SERVICES_GATEWAY_COMPLETION_CALL_H_
#define AIGW_SERVICES_GATEWAY_COMPLETION_CALL_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "aigw/v1/chat.pb.h"
#include "libs/http/http_engine.h"
#include "services/gateway/catalogue.h"
#include "services/gateway/completion_machine.h"
#include "services/gateway/event_sink.h"
#include "services/gateway/key_leaser.h"
#include "services/gateway/request_validation.h"

namespace aigw::gateway {

// What every completion call shares: the process's engine, keypool client,
// event sink, timers, and the settings of every call's CompletionMachine.
struct PipelineContext : CompletionSettings {
  http::HttpEngine* engine = nullptr;
  KeyLeaser* leaser = nullptr;
  EventSink* events = nullptr;
  // Runs `fn` on the engine's loop after `delay`. Tests replace it to record
  // the backoff delays and skip the waiting.
  std::function<void(absl::Duration delay, std::function<void()> fn)> schedule;
};

// Receives a streamed completion's chunks in order, on the engine thread.
// Must not block.
class ChunkWriter {
 public:
  virtual ~ChunkWriter() = default;
  // Takes the next chunk, or refuses it (RESOURCE_EXHAUSTED) when the client
  // is too far behind to queue more: the call then ends with that status.
  // The `last` chunk (usage and cost) is always taken.
  virtual absl::Status Write(aigw::v1::ChatCompletionChunk chunk, bool last) = 0;
};

// One client request through the pipeline: the driver of its
// CompletionMachine (which decides every step: leases, attempts, retries,
// fallbacks, what is reported). The driver binds the machine's actions to
// the keypool client, the HTTP engine, the engine's timers, the event sink
// and the client's ChunkWriter, and feeds their answers back as events.
//
// Every event reaches the machine on the HTTP engine's loop thread (the
// lease answer and a cancel are posted there), so the machine needs no lock.
// The object keeps itself alive until it has finished.
class CompletionCall : public std::enable_shared_from_this<CompletionCall>,
                       private CompletionActions {
 public:
  // Unary: the completion or the error. Streams: the final status (the last
  // chunk, with usage and cost, was written before).
  using Done = std::function<void(absl::Status status, aigw::v1::ChatCompletion completion)>;

  // `writer` null: a unary call.
  static std::shared_ptr<CompletionCall> Create(const PipelineContext* ctx,
                                                aigw::v1::ChatCompletionRequest request,
                                                std::vector<ResolvedTarget> targets,
                                                std::shared_ptr<const Catalogue> catalogue,
                                                ChunkWriter* writer, absl::Time deadline,
                                                Done done);
  void Start();
  // The client went away: the upstream transfer is aborted. Thread-safe.
  void Cancel();

  const std::string& request_id() const { return machine_.request_id(); }

 private:
  CompletionCall(const PipelineContext* ctx, aigw::v1::ChatCompletionRequest request,
                 std::vector<ResolvedTarget> targets, std::shared_ptr<const Catalogue> catalogue,
                 ChunkWriter* writer, absl::Time deadline, Done done);

  // CompletionActions.
  void Lease(const aigw::v1::LeaseKeyRequest& request) override;
  void Send(http::HttpRequest request) override;
  void Abort() override;
  void Schedule(absl::Duration delay) override;
  void Report(const aigw::v1::ReportUsageRequest& report) override;
  void Emit(aigw::v1::CallEvent event) override;
  absl::Status Write(aigw::v1::ChatCompletionChunk chunk, bool last) override;
  void Finish(absl::Status status, aigw::v1::ChatCompletion completion) override;

  const PipelineContext* const ctx_;
  const std::shared_ptr<const Catalogue> catalogue_;  // keeps the targets valid
  ChunkWriter* const writer_;
  Done done_;
  std::shared_ptr<CompletionCall> self_;  // alive until finished
  http::HttpEngine::TransferId transfer_ = 0;
  // Engine-thread state.
  CompletionMachine machine_;
};

}  // namespace aigw::gateway

#endif  // AIGW_SERVICES_GATEWAY_COMPLETION_CALL_H_
