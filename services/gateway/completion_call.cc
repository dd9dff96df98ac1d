#include "services/gateway/completion_call.h"

#include <algorithm>
#include <limits>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/util/time_util.h"
#include "libs/common/byte_size.h"
#include "libs/common/proto_time.h"
#include "libs/common/utf8.h"
#include "libs/crypto/secret_scrub.h"
#include "libs/providers/cost.h"
#include "libs/tokenizer/token_counter.h"
#include "services/gateway/event_sanitizer.h"

namespace aigw::gateway {
namespace {

using aigw::v1::Outcome;
using providers::ClassifyAttempt;
using providers::ClassifyUpstreamError;
using providers::NextStep;
using providers::Verdict;
namespace error_code = providers::error_code;

constexpr int kClientClosedRequest = 499;  // nginx's code for a client that left

// "req_" + the Unix time in milliseconds (12 hex digits) + 64 random bits.
// Time first, so ids sort by creation (like a UUIDv7): the usage log's
// unique (request_id, attempt) index then grows at its end instead of at a
// random page per call, which is most of what an insert costs there.
std::string NewRequestId(absl::Time now) {
  thread_local absl::BitGen gen;
  const uint64_t ms = static_cast<uint64_t>(absl::ToUnixMillis(now));
  return absl::StrCat("req_", absl::Hex(ms & 0xFFFFFFFFFFFFull, absl::kZeroPad12),
                      absl::Hex(absl::Uniform<uint64_t>(gen), absl::kZeroPad16));
}

void ToProto(const providers::TokenUsage& u, aigw::v1::Usage* out) {
  out->set_prompt_tokens(u.prompt);
  out->set_completion_tokens(u.completion);
  out->set_total_tokens(u.total);
  out->set_cached_prompt_tokens(u.cached_prompt);
  out->set_cache_creation_tokens(u.cache_creation);
  out->set_reasoning_tokens(u.reasoning);
}

double NanosToUsd(int64_t nanos) { return static_cast<double>(nanos) / 1e9; }

// Provider error text for the keypool and the call log: valid UTF-8, cut
// between characters (a cut inside one makes the whole batch it travels in
// undecodable).
std::string Truncate(absl::string_view s) {
  return CleanUtf8(s, std::numeric_limits<size_t>::max(), kMaxEventErrorMessageBytes);
}

// The client-facing status of one failed upstream attempt.
absl::Status AttemptStatus(Outcome outcome, int http_status, const absl::Status& transport,
                           absl::string_view provider, absl::string_view upstream_message) {
  const std::string what = absl::StrCat(provider, ": ", upstream_message);
  switch (outcome) {
    case aigw::v1::NETWORK_ERROR:
      if (transport.code() == absl::StatusCode::kDeadlineExceeded) {
        return absl::DeadlineExceededError(absl::StrCat(provider, " timed out: ", upstream_message));
      }
      return absl::UnavailableError(absl::StrCat(provider, " unreachable: ", upstream_message));
    case aigw::v1::RATE_LIMITED:
      return absl::ResourceExhaustedError(
          absl::StrCat(provider, " rate limit (HTTP 429): ", upstream_message));
    case aigw::v1::AUTH_FAILED:
      return absl::UnauthenticatedError(absl::StrCat(provider, " rejected the API key (HTTP ",
                                                     http_status, "): ", upstream_message));
    case aigw::v1::PERMISSION_DENIED:
      return absl::PermissionDeniedError(absl::StrCat(provider, " refused the request (HTTP ",
                                                      http_status, "): ", upstream_message));
    case aigw::v1::SERVER_ERROR:
      return absl::UnavailableError(
          absl::StrCat(provider, " failed (HTTP ", http_status, "): ", upstream_message));
    default:
      if (http_status == 404) return absl::NotFoundError(what);
      if (http_status == 400 || http_status == 413 || http_status == 422) {
        return absl::InvalidArgumentError(
            absl::StrCat(provider, " refused the request (HTTP ", http_status, "): ",
                         upstream_message));
      }
      return absl::FailedPreconditionError(
          absl::StrCat(provider, " refused the request (HTTP ", http_status, "): ",
                       upstream_message));
  }
}

// An answer over a bound: the upstream is broken or hostile, so its target
// is not tried again (the next fallback may be).
absl::Status OverLimit(absl::string_view provider, absl::string_view what) {
  return absl::UnavailableError(absl::StrCat(provider, " answered beyond a limit: ", what));
}

std::string ErrorCode(Outcome outcome, const absl::Status& transport) {
  if (outcome == aigw::v1::NETWORK_ERROR &&
      transport.code() == absl::StatusCode::kDeadlineExceeded) {
    return error_code::kTimeout;
  }
  return aigw::v1::Outcome_Name(outcome);
}

}  // namespace

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
      request_(std::move(request)),
      targets_(std::move(targets)),
      catalogue_(std::move(catalogue)),
      writer_(writer),
      deadline_(deadline),
      done_(std::move(done)),
      started_(ctx->clock->Now()) {
  stream_end_ = ctx->max_stream_duration > absl::ZeroDuration()
                    ? started_ + ctx->max_stream_duration
                    : absl::InfiniteFuture();
  if (request_.request_id().empty()) request_.set_request_id(NewRequestId(started_));
  failures_.resize(targets_.size());
}

void CompletionCall::Start() {
  if (ctx_->metrics != nullptr) ctx_->metrics->inflight().Increment();
  LeaseNext();
}

void CompletionCall::Cancel() {
  auto self = shared_from_this();
  ctx_->engine->Post([self] { self->DoCancel(); });
}

void CompletionCall::DoCancel() {
  if (finished_ || cancelled_) return;
  cancelled_ = true;
  if (transfer_active_) {
    ctx_->engine->Cancel(transfer_);  // OnHttpDone finishes the call
  } else if (!lease_pending_) {
    Fail(absl::CancelledError("the client cancelled the call"));  // waiting for a retry
  }
}

int64_t CompletionCall::EstimatedTokens() const {
  int64_t bytes = 0;
  for (const auto& m : request_.messages()) bytes += static_cast<int64_t>(m.content().size());
  int64_t completion = request_.has_max_tokens() ? request_.max_tokens() : 0;
  if (completion == 0) {
    const int32_t model_max = target().model->max_output_tokens;
    completion = model_max > 0 ? std::min<int64_t>(model_max, 1024) : 1024;
  }
  // ~4 bytes a token for English; the keypool reconciles with the real count.
  return bytes / 4 + completion;
}

void CompletionCall::LeaseNext() {
  if (finished_) return;
  if (cancelled_) {
    Fail(absl::CancelledError("the client cancelled the call"));
    return;
  }
  aigw::v1::LeaseKeyRequest req;
  req.set_provider_code(target().provider->code);
  req.set_model(target().model->code);
  req.set_estimated_tokens(EstimatedTokens());
  for (int64_t k : excluded_keys_) req.add_exclude_key_ids(k);
  lease_pending_ = true;
  auto self = shared_from_this();
  ctx_->leaser->Lease(req, [self](LeaseResult result) {
    self->ctx_->engine->Post(
        [self, result = std::move(result)]() mutable { self->OnLease(std::move(result)); });
  });
}

void CompletionCall::OnLease(LeaseResult result) {
  lease_pending_ = false;
  if (finished_) return;
  if (result.status.ok()) {
    lease_ = std::move(result.lease);
    has_lease_ = true;
  }
  if (cancelled_) {
    if (has_lease_) {
      ReportAttempt(aigw::v1::CLIENT_ERROR, kClientClosedRequest, error_code::kCancelled,
                    "the client cancelled the call", {}, 0, /*is_final=*/true, /*event=*/false);
    }
    Fail(absl::CancelledError("the client cancelled the call"));
    return;
  }
  if (!result.status.ok()) {
    // No key this time: the call log must not name an earlier attempt's key.
    lease_.Clear();
    if (result.status.code() == absl::StatusCode::kResourceExhausted &&
        WaitForRateLimitedKey(result.retry_after_ms)) {
      return;
    }
    absl::Status failure;
    std::string code;
    if (result.status.code() == absl::StatusCode::kResourceExhausted ||
        result.status.code() == absl::StatusCode::kNotFound) {
      failure = absl::Status(result.status.code(), result.status.message());
      code = error_code::kNoAvailableKeys;
    } else {
      failure = absl::UnavailableError(
          absl::StrCat("keypool unavailable: ", result.status.message()));
      code = error_code::kKeypoolUnavailable;
    }
    ++attempt_;
    attempt_started_ = ctx_->clock->Now();
    RecordFailure(failure, /*upstream=*/false);
    const bool is_final = target_index_ + 1 >= targets_.size();
    ReportAttempt(aigw::v1::NOT_SENT, 0, code, std::string(failure.message()), {}, 0,
                  is_final, /*event=*/true);
    NextTarget();
    return;
  }
  SendAttempt();
}

providers::ChatParams CompletionCall::BuildParams() const {
  providers::ChatParams p;
  const ModelEntry& model = *target().model;
  p.model = model.code;
  p.messages.reserve(request_.messages_size());
  for (const auto& m : request_.messages()) {
    p.messages.push_back(providers::ChatMessage{m.role(), m.content(), m.name()});
  }
  if (request_.has_max_tokens()) {
    int64_t max_tokens = request_.max_tokens();
    // A fallback model may allow less than the first target.
    if (model.max_output_tokens > 0) max_tokens = std::min<int64_t>(max_tokens, model.max_output_tokens);
    p.max_tokens = max_tokens;
  } else if (providers::AdapterFor(lease_.api_format()).api_format() == "anthropic") {
    // Anthropic requires max_tokens: the model's own output limit.
    p.max_tokens = model.max_output_tokens > 0 ? model.max_output_tokens : 4096;
  }
  if (request_.has_temperature()) p.temperature = request_.temperature();
  if (request_.has_top_p()) p.top_p = request_.top_p();
  p.stop.assign(request_.stop().begin(), request_.stop().end());
  p.stream = writer_ != nullptr;
  p.user = request_.caller().user_id();
  return p;
}

void CompletionCall::SendAttempt() {
  ++attempt_;
  ++target_attempts_;
  const absl::Time now = ctx_->clock->Now();
  attempt_started_ = now;
  retry_after_header_.clear();
  const providers::ProviderAdapter& adapter = providers::AdapterFor(lease_.api_format());
  const std::string& base_url =
      lease_.base_url().empty() ? target().provider->base_url : lease_.base_url();
  providers::HttpRequest built = adapter.BuildRequest(BuildParams(), base_url, lease_.api_key());
  if (ctx_->provider_hosts != nullptr) {
    if (absl::Status allowed = ctx_->provider_hosts->Check(built.url); !allowed.ok()) {
      RefuseHost(allowed);
      return;
    }
  }

  http::HttpRequest req;
  req.method = std::move(built.method);
  req.url = std::move(built.url);
  req.body = std::move(built.body);
  req.headers.reserve(built.headers.size());
  for (auto& [name, value] : built.headers) req.headers.push_back(absl::StrCat(name, ": ", value));
  const absl::Duration remaining = deadline_ - now;
  absl::Duration timeout;
  if (writer_ != nullptr) {
    timeout = std::min(remaining, stream_end_ - now);
    req.idle_timeout = ctx_->stream_idle_timeout;
    parser_ = adapter.NewStreamParser();
    stream_ = providers::StreamAccumulator();
    stream_error_ = absl::OkStatus();
    streamed_bytes_ = 0;
  } else {
    timeout = std::min(ctx_->upstream_timeout, remaining);
  }
  req.timeout = timeout == absl::InfiniteDuration() ? absl::ZeroDuration()
                                                     : std::max(timeout, absl::Milliseconds(1));

  auto self = shared_from_this();
  http::HttpCallbacks cb;
  cb.on_headers = [self](int, absl::string_view retry_after) {
    self->retry_after_header_ = std::string(retry_after);
  };
  if (writer_ != nullptr) {
    cb.on_data = [self](absl::string_view bytes) { self->OnData(bytes); };
  }
  cb.on_done = [self](absl::Status transport, int status, std::string body) {
    self->OnHttpDone(std::move(transport), status, std::move(body));
  };
  transfer_active_ = true;
  transfer_ = ctx_->engine->Start(std::move(req), std::move(cb));
}

void CompletionCall::RefuseHost(const absl::Status& refusal) {
  const std::string message =
      absl::StrCat("provider ", target().provider->code, ": ", refusal.message());
  // The key was never used: its lease goes back whole, its health is not in
  // question, and the call log records an attempt that was not sent (key 0).
  ReportAttempt(aigw::v1::RELEASED, 0, "", "", {}, 0, /*is_final=*/false, /*event=*/false);
  lease_.Clear();
  const absl::Status failure(refusal.code(), message);
  RecordFailure(failure, /*upstream=*/false);
  const bool is_final = target_index_ + 1 >= targets_.size();
  ReportAttempt(aigw::v1::NOT_SENT, 0, error_code::kHostNotAllowed, message, {}, 0, is_final,
                /*event=*/true);
  NextTarget();
}

void CompletionCall::OnData(absl::string_view bytes) {
  if (finished_ || cancelled_ || !stream_error_.ok() || cut_.has_value()) return;
  events_scratch_.clear();
  absl::Status st = parser_->Feed(bytes, &events_scratch_);
  const std::string& provider = target().provider->code;
  for (const providers::StreamEvent& ev : events_scratch_) {
    if (ev.kind == providers::StreamEvent::Kind::kDelta && ctx_->max_stream_content_bytes > 0) {
      streamed_bytes_ += static_cast<int64_t>(ev.delta_content.size() + ev.delta_reasoning.size());
      if (streamed_bytes_ > ctx_->max_stream_content_bytes) {
        CutShort({aigw::v1::CLIENT_ERROR, NextStep::kGiveUp, error_code::kStreamTooLarge,
                  absl::ResourceExhaustedError(absl::StrCat(
                      provider, " streamed more than ",
                      ByteSizeText(ctx_->max_stream_content_bytes),
                      " of content, the gateway's limit per call: ask for fewer max_tokens"))});
        return;
      }
    }
    stream_.Add(ev);
    if (ev.kind != providers::StreamEvent::Kind::kDelta) continue;
    aigw::v1::ChatCompletionChunk chunk;
    chunk.set_id(stream_.completion().id);
    chunk.set_delta_content(ev.delta_content);
    chunk.set_delta_reasoning_content(ev.delta_reasoning);
    if (!first_delta_sent_) {
      first_delta_sent_ = true;
      ttft_ = ctx_->clock->Now() - started_;
      if (ctx_->metrics != nullptr) {
        ctx_->metrics->FirstToken(target().provider->code, absl::ToDoubleSeconds(*ttft_));
      }
      chunk.set_model(target().model->code);
      chunk.set_provider_code(target().provider->code);
      chunk.set_request_id(request_.request_id());
    }
    if (absl::Status taken = writer_->Write(std::move(chunk), /*last=*/false); !taken.ok()) {
      CutShort({aigw::v1::CLIENT_ERROR, NextStep::kGiveUp, error_code::kClientTooSlow, std::move(taken)});
      return;
    }
  }
  if (st.code() == absl::StatusCode::kResourceExhausted) {  // an event over a bound
    CutShort({aigw::v1::SERVER_ERROR, NextStep::kNextTarget, error_code::kResponseTooLarge,
              OverLimit(provider, st.message())});
  } else if (!st.ok()) {
    stream_error_ = st;
    ctx_->engine->Cancel(transfer_);
  }
}

void CompletionCall::CutShort(Cut cut) {
  cut_ = std::move(cut);
  ctx_->engine->Cancel(transfer_);
}

void CompletionCall::OnHttpDone(absl::Status transport, int status, std::string body) {
  transfer_active_ = false;
  if (finished_) return;
  const absl::Time now = ctx_->clock->Now();
  const std::string& provider = target().provider->code;
  if (cancelled_) {
    CountAttempt("CANCELLED", now);
    providers::TokenUsage usage;
    int64_t cost = 0;
    if (first_delta_sent_) ChargeDelivered(&usage, &cost);
    ReportAttempt(aigw::v1::CLIENT_ERROR, kClientClosedRequest, error_code::kCancelled,
                  "the client cancelled the call", usage, cost, /*is_final=*/true,
                  /*event=*/true);
    Fail(absl::CancelledError("the client cancelled the call"));
    return;
  }
  if (cut_.has_value()) {
    Cut cut = *std::move(cut_);
    cut_.reset();
    CountAttempt(aigw::v1::Outcome_Name(cut.outcome), now);
    AfterFailure(cut.outcome, cut.step, status, std::move(cut.status), cut.error_code,
                 std::nullopt);
    return;
  }
  const providers::ProviderAdapter& adapter = providers::AdapterFor(lease_.api_format());
  // Provider text may quote the key back: what it says reaches the caller,
  // the call log and the keypool's last error scrubbed (our own words stay).
  auto scrub = [this](absl::string_view text) {
    return crypto::ScrubSecret(text, lease_.api_key());
  };
  Outcome outcome = ClassifyAttempt(transport, status);
  NextStep step = providers::NextStepFor(outcome);
  std::optional<int64_t> retry_after_ms;
  std::string code;
  absl::Status failure;

  if (outcome == aigw::v1::SUCCESS) {
    if (writer_ != nullptr) {
      if (!stream_error_.ok() && transport.code() == absl::StatusCode::kCancelled) {
        outcome = aigw::v1::SERVER_ERROR;
        step = providers::NextStepFor(outcome);
        code = error_code::kBadResponse;
        failure = absl::UnavailableError(
            absl::StrCat(provider, " sent a malformed stream: ", scrub(stream_error_.message())));
      } else if (stream_.error().has_value()) {
        const providers::UpstreamError& e = *stream_.error();
        const Verdict verdict = ClassifyUpstreamError(e);
        outcome = verdict.outcome;
        step = verdict.next;
        code = aigw::v1::Outcome_Name(outcome);
        failure = AttemptStatus(outcome, e.http_status, transport, provider,
                                scrub(absl::StrCat(e.type, e.type.empty() ? "" : ": ", e.message)));
        status = e.http_status;
        retry_after_ms = e.retry_after_ms;
      } else if (!stream_.done() && stream_.completion().finish_reason.empty()) {
        outcome = aigw::v1::NETWORK_ERROR;
        step = providers::NextStepFor(outcome);
        code = error_code::kStreamInterrupted;
        failure = absl::UnavailableError(absl::StrCat(provider, " ended the stream early"));
      } else {
        CountAttempt("SUCCESS", now);
        Succeed(stream_.Take());
        return;
      }
    } else {
      absl::StatusOr<providers::Completion> parsed = adapter.ParseResponse(body);
      if (parsed.ok()) {
        CountAttempt("SUCCESS", now);
        Succeed(*std::move(parsed));
        return;
      }
      outcome = aigw::v1::SERVER_ERROR;
      if (parsed.status().code() == absl::StatusCode::kResourceExhausted) {  // nested too deep
        step = NextStep::kNextTarget;
        code = error_code::kResponseTooLarge;
        failure = OverLimit(provider, parsed.status().message());
      } else {
        step = providers::NextStepFor(outcome);
        code = error_code::kBadResponse;
        failure = absl::UnavailableError(absl::StrCat(
            provider, " sent an unreadable answer: ", scrub(parsed.status().message())));
      }
    }
  } else if (transport.code() == absl::StatusCode::kResourceExhausted) {
    // The engine cut an answer over its bounds (body, headers).
    outcome = aigw::v1::SERVER_ERROR;
    step = NextStep::kNextTarget;
    code = error_code::kResponseTooLarge;
    failure = OverLimit(provider, transport.message());
  } else if (writer_ != nullptr && transport.code() == absl::StatusCode::kDeadlineExceeded &&
             stream_end_ < deadline_ && now + absl::Seconds(1) >= stream_end_) {
    // The transfer's timeout was the stream's time limit, not the client's.
    step = NextStep::kGiveUp;
    code = error_code::kStreamTooLong;
    failure = absl::DeadlineExceededError(
        absl::StrCat(provider, "'s stream ran for ", absl::FormatDuration(ctx_->max_stream_duration),
                     ", the gateway's limit per call"));
  } else if (status >= 300 && status < 400) {
    outcome = aigw::v1::SERVER_ERROR;
    step = NextStep::kNextTarget;
    code = error_code::kRedirect;
    failure = absl::UnavailableError(absl::StrCat(
        provider, " answered with a redirect (HTTP ", status,
        "): the gateway follows no redirects; correct the provider's base_url"));
  } else if (outcome == aigw::v1::NETWORK_ERROR) {
    code = ErrorCode(outcome, transport);
    failure = AttemptStatus(outcome, 0, transport, provider, scrub(transport.message()));
  } else {
    providers::UpstreamError e =
        adapter.ParseError(status, body, retry_after_header_, ctx_->clock);
    const Verdict verdict = ClassifyUpstreamError(e);
    outcome = verdict.outcome;
    step = verdict.next;
    retry_after_ms = e.retry_after_ms;
    code = ErrorCode(outcome, transport);
    failure = AttemptStatus(outcome, status, transport, provider, scrub(e.message));
  }
  CountAttempt(aigw::v1::Outcome_Name(outcome), now);
  AfterFailure(outcome, step, status, std::move(failure), code, retry_after_ms);
}

void CompletionCall::CountAttempt(const std::string& outcome, absl::Time now) {
  if (ctx_->metrics == nullptr) return;
  ctx_->metrics->UpstreamAttempt(target().provider->code, outcome,
                                 absl::ToDoubleSeconds(now - attempt_started_));
}

void CompletionCall::RecordFailure(const absl::Status& failure, bool upstream) {
  std::optional<Failure>& slot = failures_[target_index_];
  // A lease refused after an upstream failure says less than that failure.
  if (slot.has_value() && slot->upstream && !upstream) return;
  slot = Failure{failure, upstream};
}

void CompletionCall::AfterFailure(Outcome outcome, NextStep step, int http_status,
                                  absl::Status failure, const std::string& error_code,
                                  std::optional<int64_t> retry_after_ms) {
  RecordFailure(failure, /*upstream=*/true);
  bool retry = (step == NextStep::kRetrySameKey || step == NextStep::kRetryOtherKey) &&
               !first_delta_sent_ && target_attempts_ < ctx_->retry.max_attempts_per_target;
  absl::Duration delay = absl::ZeroDuration();  // another key, at once
  if (retry && outcome == aigw::v1::RATE_LIMITED) {
    // This key's Retry-After binds this key only: the retry leases another
    // at once, and the wait is kept for when no other can serve (OnLease).
    const double r = ctx_->random ? ctx_->random() : 0.5;
    const absl::Duration wait = BackoffDelay(ctx_->retry, target_attempts_, retry_after_ms, r);
    if (rate_limited_keys_.empty()) rate_limit_wait_.reset();  // none waiting: a new round
    // Longer than the call waits: only another key (or target) may serve.
    if (wait <= ctx_->retry.max_retry_after) {
      rate_limit_wait_ = rate_limit_wait_.has_value() ? std::min(*rate_limit_wait_, wait) : wait;
    }
    if (has_lease_) rate_limited_keys_.push_back(lease_.key_id());
  } else if (retry && step == NextStep::kRetrySameKey) {
    const double r = ctx_->random ? ctx_->random() : 0.5;
    delay = BackoffDelay(ctx_->retry, target_attempts_, retry_after_ms, r);
    if (retry_after_ms.has_value() &&
        absl::Milliseconds(*retry_after_ms) > ctx_->retry.max_retry_after) {
      retry = false;  // the provider asks for longer than we wait: next target
    }
  }
  if (retry && ctx_->clock->Now() + delay >= deadline_) retry = false;
  if (step == NextStep::kRetryOtherKey && has_lease_) excluded_keys_.push_back(lease_.key_id());
  const bool ends_call = !retry && (step == NextStep::kGiveUp || first_delta_sent_ ||
                                    target_index_ + 1 >= targets_.size());
  providers::TokenUsage usage;
  int64_t cost = 0;
  if (first_delta_sent_) ChargeDelivered(&usage, &cost);
  ReportAttempt(outcome, http_status, error_code, std::string(failure.message()), usage, cost,
                ends_call, /*event=*/true, retry_after_ms.value_or(0));
  if (retry) {
    if (ctx_->metrics != nullptr) ctx_->metrics->Retry(target().provider->code, error_code);
    auto self = shared_from_this();
    ctx_->schedule(delay, [self] { self->LeaseNext(); });
    return;
  }
  if (step == NextStep::kGiveUp || first_delta_sent_) {
    Fail(std::move(failure));
    return;
  }
  NextTarget();
}

bool CompletionCall::WaitForRateLimitedKey(int64_t keypool_retry_after_ms) {
  if (!rate_limit_wait_.has_value() ||
      rate_limit_waits_ >= ctx_->retry.max_attempts_per_target) {
    return false;
  }
  absl::Duration delay;
  if (!rate_limited_keys_.empty()) {
    delay = *rate_limit_wait_;  // the lease excluded them: wait as they asked
  } else {
    // Waited already, and the keypool still has them cooling (its cooldown
    // began when the report arrived, a little after the 429): as it says.
    if (keypool_retry_after_ms <= 0) return false;
    delay = absl::Milliseconds(keypool_retry_after_ms);
  }
  if (delay > ctx_->retry.max_retry_after || ctx_->clock->Now() + delay >= deadline_) {
    return false;
  }
  for (int64_t key : rate_limited_keys_) {
    excluded_keys_.erase(std::remove(excluded_keys_.begin(), excluded_keys_.end(), key),
                         excluded_keys_.end());
  }
  rate_limited_keys_.clear();
  ++rate_limit_waits_;
  auto self = shared_from_this();
  ctx_->schedule(delay, [self] { self->LeaseNext(); });
  return true;
}

void CompletionCall::NextTarget() {
  if (target_index_ + 1 >= targets_.size()) {
    std::vector<std::string> parts;
    absl::StatusCode code = absl::StatusCode::kUnavailable;
    for (size_t i = 0; i < targets_.size(); ++i) {
      if (!failures_[i].has_value()) continue;
      code = failures_[i]->status.code();
      parts.push_back(std::string(failures_[i]->status.message()));
    }
    std::string message = parts.size() == 1
                              ? parts.front()
                              : absl::StrCat("every target failed: ", absl::StrJoin(parts, "; "));
    Fail(absl::Status(code, message));
    return;
  }
  const std::string& from = target().provider->code;
  ++target_index_;
  if (ctx_->metrics != nullptr) ctx_->metrics->Fallback(from, target().provider->code);
  target_attempts_ = 0;
  excluded_keys_.clear();
  rate_limited_keys_.clear();
  rate_limit_wait_.reset();
  rate_limit_waits_ = 0;
  LeaseNext();
}

int64_t CompletionCall::CountPromptTokens() const {
  std::vector<tokenizer::ChatMessage> messages;
  messages.reserve(request_.messages_size());
  int64_t bytes = 0;
  for (const auto& m : request_.messages()) {
    messages.push_back(tokenizer::ChatMessage{m.role(), m.content(), m.name()});
    bytes += static_cast<int64_t>(m.content().size());
  }
  absl::StatusOr<tokenizer::TokenCount> prompt =
      tokenizer::CountChatTokens(target().model->code, messages, target().provider->code);
  return prompt.ok() ? prompt->tokens : (bytes + 3) / 4;
}

int64_t CompletionCall::CountCompletionTokens(const providers::Completion& c) const {
  absl::StatusOr<tokenizer::TokenCount> completion =
      tokenizer::CountTextTokens(target().model->code, absl::StrCat(c.reasoning_content, c.content),
                                 target().provider->code);
  return completion.ok()
             ? completion->tokens
             : static_cast<int64_t>(c.content.size() + c.reasoning_content.size() + 3) / 4;
}

providers::TokenUsage CompletionCall::UsageOf(const providers::Completion& c) const {
  providers::TokenUsage u = c.usage;
  if (!c.has_usage) {
    // Never log a call with zero tokens: count what the provider did not.
    u.prompt = CountPromptTokens();
    u.completion = CountCompletionTokens(c);
  }
  if (u.total == 0) u.total = u.prompt + u.completion;
  return u;
}

void CompletionCall::ChargeDelivered(providers::TokenUsage* usage, int64_t* cost) const {
  const providers::Completion& c = stream_.completion();
  providers::TokenUsage u = c.usage;
  // The provider's figures so far, if any, are partial (Anthropic sends the
  // prompt's at the start, the completion's at the end; OpenAI all at the
  // end): the tokenizer fills in what they do not cover yet.
  if (u.prompt == 0) u.prompt = CountPromptTokens();
  u.completion = std::max(u.completion, CountCompletionTokens(c));
  u.total = std::max(u.total, u.prompt + u.completion);
  *cost = providers::CostNanos(u, target().model->prices);
  *usage = u;
  RecordSpend(u, *cost);
}

void CompletionCall::RecordSpend(const providers::TokenUsage& usage, int64_t cost_nanos) const {
  if (ctx_->metrics == nullptr) return;
  GatewayMetrics::PerModel& pm =
      ctx_->metrics->ForModel(target().provider->code, target().model->code);
  pm.prompt_tokens->Increment(static_cast<double>(usage.prompt));
  pm.completion_tokens->Increment(static_cast<double>(usage.completion));
  pm.cached_prompt_tokens->Increment(static_cast<double>(usage.cached_prompt));
  pm.cache_creation_tokens->Increment(static_cast<double>(usage.cache_creation));
  pm.reasoning_tokens->Increment(static_cast<double>(usage.reasoning));
  pm.cost_usd->Increment(NanosToUsd(cost_nanos));
}

void CompletionCall::ReportAttempt(Outcome outcome, int http_status, const std::string& error_code,
                                   const std::string& error_message,
                                   const providers::TokenUsage& usage, int64_t cost_nanos,
                                   bool is_final, bool event, int64_t retry_after_ms) {
  if (has_lease_) {
    aigw::v1::ReportUsageRequest r;
    r.set_lease_id(lease_.lease_id());
    r.set_outcome(outcome);
    r.set_http_status(http_status);
    r.set_prompt_tokens(usage.prompt);
    r.set_completion_tokens(usage.completion);
    r.set_total_tokens(usage.total);
    r.set_retry_after_ms(retry_after_ms);
    if (!error_message.empty()) r.set_error_message(Truncate(error_message));
    ctx_->leaser->Report(r);
    has_lease_ = false;
  }
  if (!event) return;
  const absl::Time now = ctx_->clock->Now();
  aigw::v1::CallEvent ev;
  ev.set_request_id(request_.request_id());
  ev.set_attempt(attempt_);
  ev.set_provider_code(target().provider->code);
  ev.set_provider_id(target().provider->id);
  ev.set_key_id(lease_.key_id());
  ev.set_model(target().model->code);
  *ev.mutable_caller() = request_.caller();
  ev.set_outcome(outcome);
  ev.set_error_code(error_code);
  ev.set_error_message(Truncate(error_message));
  ev.set_http_status(http_status);
  ToProto(usage, ev.mutable_usage());
  ev.set_cost_nanos(cost_nanos);
  ev.set_latency_ms(absl::ToInt64Milliseconds(now - attempt_started_));
  if (ttft_.has_value()) ev.set_ttft_ms(absl::ToInt64Milliseconds(*ttft_));
  ev.set_is_stream(writer_ != nullptr);
  ToProtoTimestamp(attempt_started_, ev.mutable_created_at());
  ev.set_is_final(is_final);
  ctx_->events->Emit(std::move(ev));
}

void CompletionCall::Succeed(providers::Completion completion) {
  const providers::TokenUsage usage = UsageOf(completion);
  const int64_t cost = providers::CostNanos(usage, target().model->prices);
  const std::string& provider = target().provider->code;
  const std::string& model = target().model->code;
  RecordSpend(usage, cost);
  aigw::v1::ChatCompletion out;
  if (writer_ != nullptr) {
    aigw::v1::ChatCompletionChunk last;
    last.set_id(completion.id);
    last.set_finish_reason(completion.finish_reason);
    ToProto(usage, last.mutable_usage());
    last.set_cost_usd(NanosToUsd(cost));
    last.set_cost_nanos(cost);
    last.set_model(completion.model.empty() ? model : completion.model);
    last.set_provider_code(provider);
    last.set_request_id(request_.request_id());
    last.set_attempts(attempt_);
    writer_->Write(std::move(last), /*last=*/true).IgnoreError();  // always taken
  } else {
    out.set_id(std::move(completion.id));
    out.set_content(std::move(completion.content));
    out.set_reasoning_content(std::move(completion.reasoning_content));
    out.set_model(completion.model.empty() ? model : completion.model);
    out.set_provider_code(provider);
    ToProto(usage, out.mutable_usage());
    out.set_finish_reason(std::move(completion.finish_reason));
    ToProtoTimestamp(ctx_->clock->Now(), out.mutable_created_at());
    out.set_cost_usd(NanosToUsd(cost));
    out.set_cost_nanos(cost);
    out.set_attempts(attempt_);
    out.set_request_id(request_.request_id());
  }
  Finish(absl::OkStatus(), std::move(out));
  // The keypool report and the call event leave after the answer: they are
  // not on the caller's path. (The lambda that called us still holds a
  // reference, so this object outlives Finish.)
  ReportAttempt(aigw::v1::SUCCESS, 200, "", "", usage, cost, /*is_final=*/true, /*event=*/true);
}

void CompletionCall::Fail(absl::Status status) { Finish(std::move(status), {}); }

void CompletionCall::Finish(absl::Status status, aigw::v1::ChatCompletion completion) {
  if (finished_) return;
  finished_ = true;
  if (ctx_->metrics != nullptr) {
    ctx_->metrics->inflight().Decrement();
    ctx_->metrics->RequestDone(target().provider->code, target().model->code,
                               static_cast<int>(status.code()), writer_ != nullptr,
                               absl::ToDoubleSeconds(ctx_->clock->Now() - started_));
  }
  Done done = std::move(done_);
  std::shared_ptr<CompletionCall> keep = std::move(self_);
  done(std::move(status), std::move(completion));
}

}  // namespace aigw::gateway
