#include "services/gateway/completion_call.h"

#include <utility>

namespace aigw::gateway {

std::shared_ptr<CompletionCall> CompletionCall::Create(const PipelineContext* ctx,
                                                       aigw::v1::ChatCompletionRequest request,
                                                       std::vector<ResolvedTarget> targets,
                                                       std::shared_ptr<const Catalogue> catalogue,
                                                       ChunkWriter* writer, absl::Time deadline,
                                                       Done done) {
  std::shared_ptr<CompletionCall> call(new CompletionCall(ctx, std::move(request),
                                                          std::move(targets), std::move(catalogue),
                                                          writer, deadline, std::move(done)));
  call->self_ = call;
  return call;
}

CompletionCall::CompletionCall(const PipelineContext* ctx, aigw::v1::ChatCompletionRequest request,
                               std::vector<ResolvedTarget> targets,
                               std::shared_ptr<const Catalogue> catalogue, ChunkWriter* writer,
                               absl::Time deadline, Done done)
    : ctx_(ctx),
      catalogue_(std::move(catalogue)),
      writer_(writer),
      done_(std::move(done)),
      machine_(ctx, std::move(request), std::move(targets), /*stream=*/writer != nullptr,
               deadline, this) {}

void CompletionCall::Start() { machine_.Start(); }

void CompletionCall::Cancel() {
  auto self = shared_from_this();
  ctx_->engine->Post([self] { self->machine_.Cancel(); });
}

void CompletionCall::Lease(const aigw::v1::LeaseKeyRequest& request) {
  auto self = shared_from_this();
  ctx_->leaser->Lease(request, [self](LeaseResult result) {
    self->ctx_->engine->Post([self, result = std::move(result)]() mutable {
      self->machine_.OnLease(std::move(result));
    });
  });
}

void CompletionCall::Send(http::HttpRequest request) {
  auto self = shared_from_this();
  http::HttpCallbacks cb;
  cb.on_headers = [self](int, absl::string_view retry_after) {
    self->machine_.OnHeaders(retry_after);
  };
  if (writer_ != nullptr) {
    cb.on_data = [self](absl::string_view bytes) { self->machine_.OnData(bytes); };
  }
  cb.on_done = [self](absl::Status transport, int status, std::string body) {
    self->machine_.OnAttemptDone(std::move(transport), status, std::move(body));
  };
  transfer_ = ctx_->engine->Start(std::move(request), std::move(cb));
}

void CompletionCall::Abort() { ctx_->engine->Cancel(transfer_); }

void CompletionCall::Schedule(absl::Duration delay) {
  auto self = shared_from_this();
  ctx_->schedule(delay, [self] { self->machine_.OnTimer(); });
}

void CompletionCall::Report(const aigw::v1::ReportUsageRequest& report) {
  ctx_->leaser->Report(report);
}

void CompletionCall::Emit(aigw::v1::CallEvent event) { ctx_->events->Emit(std::move(event)); }

absl::Status CompletionCall::Write(aigw::v1::ChatCompletionChunk chunk, bool last) {
  return writer_->Write(std::move(chunk), last);
}

void CompletionCall::Finish(absl::Status status, aigw::v1::ChatCompletion completion) {
  Done done = std::move(done_);
  // The machine may still report after the answer (a success's keypool
  // report and event): whoever delivered this event holds a reference too.
  std::shared_ptr<CompletionCall> keep = std::move(self_);
  done(std::move(status), std::move(completion));
}

}  // namespace aigw::gateway
