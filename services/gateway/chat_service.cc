#include "services/gateway/chat_service.h"

#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "libs/server/grpc_status.h"
#include "libs/tokenizer/token_counter.h"
#include "services/gateway/chunk_queue.h"
#include "services/gateway/prompt_tokens.h"

namespace aigw::gateway {
namespace {

using server::ToGrpcStatus;

absl::Time DeadlineOf(const grpc::CallbackServerContext* ctx) {
  const auto d = ctx->deadline();
  if (d >= std::chrono::system_clock::time_point::max() - std::chrono::hours(24 * 365)) {
    return absl::InfiniteFuture();
  }
  return absl::FromChrono(d);
}

// A unary completion whose client may cancel.
class UnaryCompletion final : public grpc::ServerUnaryReactor {
 public:
  void Begin(std::shared_ptr<CompletionCall> call) {
    call_ = std::move(call);
    call_->Start();
  }
  void OnCancel() override {
    if (call_) call_->Cancel();
  }
  void OnDone() override { delete this; }

 private:
  std::shared_ptr<CompletionCall> call_;
};

// Relays a stream's chunks to the client one write at a time, in order.
//
// A client that does not read makes writes wait, so chunks queue. The queue
// is bounded (ChunkQueue): past its limit the call ends (the upstream
// transfer is aborted) with RESOURCE_EXHAUSTED, which reaches the client
// after the chunk being written. Pausing the upstream instead (libcurl's
// CURL_WRITEFUNC_PAUSE) was not chosen: in libcurl 7.88 a paused HTTP/2
// stream stops the reading of its whole connection, so one stalled client
// would stall every call multiplexed with it, and the paused call would
// hold its connection and key for as long as the client stalls.
class StreamCompletion final : public grpc::ServerWriteReactor<aigw::v1::ChatCompletionChunk>,
                               public ChunkWriter {
 public:
  explicit StreamCompletion(int64_t max_queued_bytes) : queue_(max_queued_bytes) {}

  void Begin(std::shared_ptr<CompletionCall> call) {
    {
      absl::MutexLock lock(&mu_);
      call_ = std::move(call);
    }
    call_->Start();
  }

  absl::Status Write(aigw::v1::ChatCompletionChunk chunk, bool last) override {
    absl::MutexLock lock(&mu_);
    if (absl::Status taken = queue_.Push(std::move(chunk), last); !taken.ok()) return taken;
    if (!writing_) {
      writing_ = true;
      StartWrite(&queue_.front());
    }
    return absl::OkStatus();
  }

  // Finish is called outside the lock: OnDone (which deletes this) may run
  // on another thread as soon as Finish is issued.
  void Done(absl::Status status) {
    {
      absl::MutexLock lock(&mu_);
      if (writing_) {
        final_status_ = ToGrpcStatus(status);
        finish_pending_ = true;
        return;
      }
    }
    Finish(ToGrpcStatus(status));
  }

  void OnWriteDone(bool ok) override {
    grpc::Status finish;
    {
      absl::MutexLock lock(&mu_);
      queue_.PopFront();
      if (ok && !queue_.empty()) {
        StartWrite(&queue_.front());
        return;
      }
      writing_ = false;
      if (!ok) queue_.Clear();  // the client is gone; OnCancel stops the call
      if (!finish_pending_) return;
      finish = final_status_;
    }
    Finish(finish);
  }

  void OnCancel() override {
    std::shared_ptr<CompletionCall> call;
    {
      absl::MutexLock lock(&mu_);
      call = call_;
    }
    if (call) call->Cancel();
  }

  void OnDone() override { delete this; }

 private:
  absl::Mutex mu_;
  std::shared_ptr<CompletionCall> call_;
  ChunkQueue queue_;  // front is being written
  bool writing_ = false;
  bool finish_pending_ = false;
  grpc::Status final_status_;
};

// Runs a batch's items with bounded concurrency; results keep request order.
class BatchCompletion final : public grpc::ServerUnaryReactor {
 public:
  BatchCompletion(const PipelineContext* pipeline, std::shared_ptr<const Catalogue> catalogue,
                  const ValidationLimits& limits, const aigw::v1::BatchChatCompletionRequest* request,
                  aigw::v1::BatchChatCompletionResponse* response, int concurrency,
                  absl::Time deadline,
                  std::function<aigw::v1::ChatCompletionRequest(
                      const aigw::v1::ChatCompletionRequest&)>
                      prepare)
      : prepare_(std::move(prepare)),
        pipeline_(pipeline),
        catalogue_(std::move(catalogue)),
        limits_(limits),
        request_(request),
        response_(response),
        concurrency_(concurrency),
        deadline_(deadline),
        calls_(request->requests_size()) {
    for (int i = 0; i < request->requests_size(); ++i) response_->add_results()->set_index(i);
  }

  void Begin() {
    bool finish = request_->requests_size() == 0;
    {
      absl::MutexLock lock(&mu_);
      while (running_ < concurrency_ && next_ < request_->requests_size()) StartNextLocked();
      finish = finish || TakeFinishLocked();
    }
    if (finish) Finish(grpc::Status::OK);
  }

  void OnCancel() override {
    std::vector<std::shared_ptr<CompletionCall>> running;
    {
      absl::MutexLock lock(&mu_);
      cancelled_ = true;
      for (auto& c : calls_) {
        if (c) running.push_back(c);
      }
    }
    for (auto& c : running) c->Cancel();
  }
  void OnDone() override { delete this; }

 private:
  void StartNextLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    const int i = next_++;
    const aigw::v1::ChatCompletionRequest& item = request_->requests(i);
    absl::StatusOr<std::vector<ResolvedTarget>> targets =
        ValidateChatRequest(item, *catalogue_, limits_, /*streaming=*/false);
    if (!targets.ok() || cancelled_) {
      RecordLocked(i, cancelled_ ? absl::CancelledError("the client cancelled the batch")
                                 : targets.status(),
                   {});
      return;
    }
    ++running_;
    calls_[i] = CompletionCall::Create(
        pipeline_, prepare_(item), std::move(*targets), catalogue_, nullptr, deadline_,
        [this, i](absl::Status status, aigw::v1::ChatCompletion completion) {
          bool finish;
          {
            absl::MutexLock lock(&mu_);
            --running_;
            calls_[i].reset();
            RecordLocked(i, status, std::move(completion));
            finish = TakeFinishLocked();
          }
          if (finish) Finish(grpc::Status::OK);
        });
    // The lease answer hops to the engine thread, so Start never re-enters
    // this object while the lock is held.
    calls_[i]->Start();
  }

  void RecordLocked(int i, const absl::Status& status, aigw::v1::ChatCompletion completion)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    aigw::v1::BatchChatCompletionResult* r = response_->mutable_results(i);
    if (status.ok()) {
      *r->mutable_completion() = std::move(completion);
      response_->set_succeeded(response_->succeeded() + 1);
    } else {
      r->mutable_error()->set_code(static_cast<int>(status.code()));
      r->mutable_error()->set_message(std::string(status.message()));
      response_->set_failed(response_->failed() + 1);
    }
    ++done_;
    while (running_ < concurrency_ && next_ < request_->requests_size()) StartNextLocked();
  }

  // True once, when every item has a result: the caller then calls Finish
  // outside the lock (OnDone deletes this).
  bool TakeFinishLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (done_ < request_->requests_size() || finished_) return false;
    finished_ = true;
    return true;
  }

  const std::function<aigw::v1::ChatCompletionRequest(const aigw::v1::ChatCompletionRequest&)>
      prepare_;
  const PipelineContext* const pipeline_;
  const std::shared_ptr<const Catalogue> catalogue_;
  const ValidationLimits limits_;
  const aigw::v1::BatchChatCompletionRequest* const request_;
  aigw::v1::BatchChatCompletionResponse* const response_;
  const int concurrency_;
  const absl::Time deadline_;

  absl::Mutex mu_;
  std::vector<std::shared_ptr<CompletionCall>> calls_ ABSL_GUARDED_BY(mu_);
  int next_ ABSL_GUARDED_BY(mu_) = 0;
  int running_ ABSL_GUARDED_BY(mu_) = 0;
  int done_ ABSL_GUARDED_BY(mu_) = 0;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace

ChatServiceImpl::ChatServiceImpl(const PipelineContext* pipeline, CatalogueCache* catalogue,
                                 ChatServiceOptions options)
    : pipeline_(pipeline), catalogue_(catalogue), options_(std::move(options)) {}

aigw::v1::ChatCompletionRequest ChatServiceImpl::WithCaller(
    const grpc::CallbackServerContext& ctx, const aigw::v1::ChatCompletionRequest& request) const {
  aigw::v1::ChatCompletionRequest out = request;
  if (out.caller().user_id().empty() && options_.caller_subject) {
    out.mutable_caller()->set_user_id(options_.caller_subject(ctx));
  }
  if (out.caller().ip_address().empty()) {
    // The peer as gRPC sees it ("ipv4:10.0.0.7:53312"), without the port.
    std::string peer = ctx.peer();
    if (size_t colon = peer.find(':'); colon != std::string::npos) peer = peer.substr(colon + 1);
    if (size_t port = peer.rfind(':'); port != std::string::npos) peer = peer.substr(0, port);
    out.mutable_caller()->set_ip_address(peer);
  }
  return out;
}

grpc::ServerUnaryReactor* ChatServiceImpl::CreateChatCompletion(
    grpc::CallbackServerContext* ctx, const aigw::v1::ChatCompletionRequest* request,
    aigw::v1::ChatCompletion* response) {
  auto* reactor = new UnaryCompletion();
  std::shared_ptr<const Catalogue> catalogue = catalogue_->Get();
  absl::StatusOr<std::vector<ResolvedTarget>> targets =
      ValidateChatRequest(*request, *catalogue, options_.limits, /*streaming=*/false);
  if (!targets.ok()) {
    reactor->Finish(ToGrpcStatus(targets.status()));
    return reactor;
  }
  reactor->Begin(CompletionCall::Create(
      pipeline_, WithCaller(*ctx, *request), std::move(*targets), std::move(catalogue), nullptr,
      DeadlineOf(ctx),
      [reactor, response](absl::Status status, aigw::v1::ChatCompletion completion) {
        if (status.ok()) *response = std::move(completion);
        reactor->Finish(ToGrpcStatus(status));
      }));
  return reactor;
}

grpc::ServerWriteReactor<aigw::v1::ChatCompletionChunk>* ChatServiceImpl::StreamChatCompletion(
    grpc::CallbackServerContext* ctx, const aigw::v1::ChatCompletionRequest* request) {
  auto* reactor = new StreamCompletion(options_.max_queued_bytes);
  std::shared_ptr<const Catalogue> catalogue = catalogue_->Get();
  absl::StatusOr<std::vector<ResolvedTarget>> targets =
      ValidateChatRequest(*request, *catalogue, options_.limits, /*streaming=*/true);
  if (!targets.ok()) {
    reactor->Finish(ToGrpcStatus(targets.status()));
    return reactor;
  }
  reactor->Begin(CompletionCall::Create(
      pipeline_, WithCaller(*ctx, *request), std::move(*targets), std::move(catalogue), reactor,
      DeadlineOf(ctx),
      [reactor](absl::Status status, aigw::v1::ChatCompletion) { reactor->Done(status); }));
  return reactor;
}

grpc::ServerUnaryReactor* ChatServiceImpl::BatchCreateChatCompletion(
    grpc::CallbackServerContext* ctx, const aigw::v1::BatchChatCompletionRequest* request,
    aigw::v1::BatchChatCompletionResponse* response) {
  if (request->requests_size() > options_.max_batch_items) {
    auto* reactor = ctx->DefaultReactor();
    reactor->Finish(grpc::Status(
        grpc::StatusCode::INVALID_ARGUMENT,
        absl::StrCat("requests has ", request->requests_size(), " items; at most ",
                     options_.max_batch_items, " per batch")));
    return reactor;
  }
  if (request->max_concurrency() < 0 || request->max_concurrency() > options_.max_batch_concurrency) {
    auto* reactor = ctx->DefaultReactor();
    reactor->Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                 absl::StrCat("max_concurrency is ", request->max_concurrency(),
                                              ": use 0 (default ",
                                              options_.default_batch_concurrency, ") to ",
                                              options_.max_batch_concurrency)));
    return reactor;
  }
  const int concurrency = request->max_concurrency() > 0 ? request->max_concurrency()
                                                         : options_.default_batch_concurrency;
  auto* reactor = new BatchCompletion(
      pipeline_, catalogue_->Get(), options_.limits, request, response, concurrency,
      DeadlineOf(ctx), [this, ctx](const aigw::v1::ChatCompletionRequest& item) {
        return WithCaller(*ctx, item);
      });
  reactor->Begin();
  return reactor;
}

grpc::ServerUnaryReactor* ChatServiceImpl::CountTokens(grpc::CallbackServerContext* ctx,
                                                       const aigw::v1::CountTokensRequest* request,
                                                       aigw::v1::CountTokensResponse* response) {
  auto* reactor = ctx->DefaultReactor();
  auto finish = [reactor](const absl::Status& st) { reactor->Finish(ToGrpcStatus(st)); };
  std::shared_ptr<const Catalogue> catalogue = catalogue_->Get();
  absl::StatusOr<ResolvedTarget> target =
      ResolveTarget(*catalogue, request->provider_code(), request->model(), "provider_code");
  if (!target.ok()) {
    finish(target.status());
    return reactor;
  }
  if (absl::Status st = ValidateCountTokensRequest(*request, options_.limits); !st.ok()) {
    finish(st);
    return reactor;
  }
  const std::string& model = target->model->code;
  const std::string& provider = target->provider->code;
  const absl::StatusOr<tokenizer::TokenCount> count =
      request->text().empty()
          ? CountPromptTokens(model, provider, request->messages(), request->tools(),
                              ImageRuleFor(*target->provider, *target->model))
          : tokenizer::CountTextTokens(model, request->text(), provider);
  if (!count.ok()) {
    finish(absl::UnavailableError(absl::StrCat("tokenizer: ", count.status().message())));
    return reactor;
  }
  response->set_token_count(count->tokens);
  response->set_model(model);
  response->set_encoding(count->encoding);
  response->set_is_estimate(count->is_estimate);
  finish(absl::OkStatus());
  return reactor;
}

}  // namespace aigw::gateway
