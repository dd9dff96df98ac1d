#include "services/gateway/completion_machine.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "libs/common/byte_size.h"
#include "libs/common/proto_time.h"
#include "libs/common/utf8.h"
#include "libs/providers/cost.h"
#include "libs/tokenizer/token_counter.h"
#include "services/gateway/chat_params.h"
#include "services/gateway/event_sanitizer.h"
#include "services/gateway/prompt_tokens.h"

namespace aigw::gateway {
namespace {

using aigw::v1::Outcome;
using providers::AttemptResult;
using providers::NextStep;
namespace error_code = providers::error_code;

constexpr int kClientClosedRequest = 499;  // nginx's code for a client that left
constexpr char kCancelledMessage[] = "the client cancelled the call";
constexpr size_t kEventsPerRead = 8;

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

// A failed attempt that the gateway classified itself (a cut, a refused
// lease).
AttemptResult Failed(Outcome outcome, NextStep next, int http_status, std::string code,
                     absl::Status failure) {
  AttemptResult r;
  r.outcome = outcome;
  r.next = next;
  r.http_status = http_status;
  r.error_code = std::move(code);
  r.failure = std::move(failure);
  return r;
}

}  // namespace

CompletionMachine::CompletionMachine(const CompletionSettings* settings,
                                     aigw::v1::ChatCompletionRequest request,
                                     std::vector<ResolvedTarget> targets, bool stream,
                                     absl::Time deadline, CompletionActions* out)
    : settings_(settings),
      request_(std::move(request)),
      targets_(std::move(targets)),
      needs_(NeedsOf(request_)),
      stream_mode_(stream),
      deadline_(deadline),
      out_(out),
      started_(settings->clock->Now()) {
  stream_end_ = settings_->max_stream_duration > absl::ZeroDuration()
                    ? started_ + settings_->max_stream_duration
                    : absl::InfiniteFuture();
  if (request_.request_id().empty()) request_.set_request_id(NewRequestId(started_));
  failures_.resize(targets_.size());
}

void CompletionMachine::Start() {
  if (settings_->metrics != nullptr) settings_->metrics->inflight().Increment();
  EnterTarget();
}

void CompletionMachine::EnterTarget() {
  // Validation refused a first target without the capabilities; fallbacks
  // are checked here, so that one the request cannot use is passed over
  // instead of failing the call.
  const absl::string_view missing = MissingCapability(*target().model, needs_);
  if (missing.empty()) {
    LeaseNext();
    return;
  }
  SkipTarget(CheckCapabilities(target(), needs_,
                               target_index_ == 0
                                   ? std::string()
                                   : absl::StrCat("fallbacks[", target_index_ - 1, "]")),
             missing);
}

void CompletionMachine::SkipTarget(const absl::Status& why, absl::string_view capability) {
  if (cancelled_) {
    FailCancelled();
    return;
  }
  ++attempt_;
  attempt_started_ = settings_->clock->Now();
  lease_.Clear();  // the event names no key
  failures_[target_index_] = Failure{why, /*upstream=*/false, /*skipped=*/true};
  if (settings_->metrics != nullptr) {
    settings_->metrics->TargetSkipped(target().provider->code, target().model->code,
                                      std::string(capability));
  }
  const bool is_final = target_index_ + 1 >= targets_.size();
  ReportAttempt(aigw::v1::NOT_SENT, 0, error_code::kUnsupportedCapability,
                std::string(why.message()), {}, 0, is_final, /*event=*/true);
  NextTarget();
}

void CompletionMachine::Cancel() {
  if (finished_ || cancelled_) return;
  cancelled_ = true;
  if (transfer_active_) {
    out_->Abort();  // OnAttemptDone finishes the call
  } else if (!lease_pending_) {
    FailCancelled();  // waiting for a retry
  }
}

void CompletionMachine::FailCancelled() { Fail(absl::CancelledError(kCancelledMessage)); }

double CompletionMachine::Random() const {
  return settings_->random ? settings_->random() : 0.5;
}

tokenizer::ImageRule CompletionMachine::TargetImageRule() const {
  return ImageRuleFor(*target().provider, *target().model);
}

providers::ProviderCall CompletionMachine::Call() const {
  return providers::ProviderCall(providers::AdapterFor(lease_.api_format()),
                                 target().provider->code, lease_.api_key(), settings_->clock);
}

int64_t CompletionMachine::EstimatedTokens() const {
  int64_t completion = request_.has_max_tokens() ? request_.max_tokens() : 0;
  if (completion == 0) {
    const int32_t model_max = target().model->max_output_tokens;
    completion = model_max > 0 ? std::min<int64_t>(model_max, 1024) : 1024;
  }
  // Text at ~4 bytes a token, tools and images by their rules; the keypool
  // reconciles with the real count.
  return EstimatePromptTokens(request_, TargetImageRule()) + completion;
}

void CompletionMachine::LeaseNext() {
  if (finished_) return;
  if (cancelled_) {
    FailCancelled();
    return;
  }
  aigw::v1::LeaseKeyRequest req;
  req.set_provider_code(target().provider->code);
  req.set_model(target().model->code);
  req.set_estimated_tokens(EstimatedTokens());
  for (int64_t k : excluded_keys_) req.add_exclude_key_ids(k);
  lease_pending_ = true;
  out_->Lease(req);
}

void CompletionMachine::OnTimer() { LeaseNext(); }

void CompletionMachine::OnLease(LeaseResult result) {
  lease_pending_ = false;
  if (finished_) return;
  if (result.status.ok()) {
    lease_ = std::move(result.lease);
    has_lease_ = true;
  }
  if (cancelled_) {
    if (has_lease_) {
      ReportAttempt(aigw::v1::CLIENT_ERROR, kClientClosedRequest, error_code::kCancelled,
                    kCancelledMessage, {}, 0, /*is_final=*/true, /*event=*/false);
    }
    FailCancelled();
    return;
  }
  if (!result.status.ok()) {
    OnNoLease(result);
    return;
  }
  SendAttempt();
}

void CompletionMachine::OnNoLease(const LeaseResult& result) {
  // No key this time: the call log must not name an earlier attempt's key.
  lease_.Clear();
  const absl::StatusCode code = result.status.code();
  if (code == absl::StatusCode::kResourceExhausted &&
      WaitForRateLimitedKey(result.retry_after_ms)) {
    return;
  }
  absl::Status failure;
  std::string error;
  if (code == absl::StatusCode::kResourceExhausted || code == absl::StatusCode::kNotFound) {
    failure = absl::Status(code, result.status.message());
    error = error_code::kNoAvailableKeys;
  } else {
    failure =
        absl::UnavailableError(absl::StrCat("keypool unavailable: ", result.status.message()));
    error = error_code::kKeypoolUnavailable;
  }
  ++attempt_;
  attempt_started_ = settings_->clock->Now();
  RecordFailure(failure, /*upstream=*/false);
  const bool is_final = target_index_ + 1 >= targets_.size();
  ReportAttempt(aigw::v1::NOT_SENT, 0, error, std::string(failure.message()), {}, 0, is_final,
                /*event=*/true);
  NextTarget();
}

void CompletionMachine::SendAttempt() {
  ++attempt_;
  ++target_attempts_;
  const absl::Time now = settings_->clock->Now();
  attempt_started_ = now;
  retry_after_header_.clear();
  const providers::ProviderCall call = Call();
  const std::string& base_url =
      lease_.base_url().empty() ? target().provider->base_url : lease_.base_url();
  http::HttpRequest req =
      call.BuildChat(BuildChatParams(request_, *target().model, stream_mode_), base_url);
  if (settings_->provider_hosts != nullptr) {
    if (absl::Status allowed = settings_->provider_hosts->Check(req.url); !allowed.ok()) {
      RefuseHost(allowed);
      return;
    }
  }
  const absl::Duration remaining = deadline_ - now;
  absl::Duration timeout;
  if (stream_mode_) {
    timeout = std::min(remaining, stream_end_ - now);
    req.idle_timeout = settings_->stream_idle_timeout;
    parser_ = call.adapter().NewStreamParser();
    // A read usually completes several events (a short answer all of
    // them): room for them up front, not a regrowth of the vector of large
    // StreamEvents on each call's first reads.
    events_scratch_.reserve(kEventsPerRead);
    stream_ = providers::StreamAccumulator();
    streamed_bytes_ = 0;
  } else {
    timeout = std::min(settings_->upstream_timeout, remaining);
  }
  req.timeout = timeout == absl::InfiniteDuration() ? absl::ZeroDuration()
                                                     : std::max(timeout, absl::Milliseconds(1));
  transfer_active_ = true;
  out_->Send(std::move(req));
}

void CompletionMachine::RefuseHost(const absl::Status& refusal) {
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

void CompletionMachine::OnHeaders(absl::string_view retry_after) {
  retry_after_header_.assign(retry_after.data(), retry_after.size());
}

void CompletionMachine::OnData(absl::string_view bytes) {
  if (finished_ || cancelled_ || cut_.has_value()) return;
  events_scratch_.clear();
  const absl::Status st = parser_->Feed(bytes, &events_scratch_);
  for (const providers::StreamEvent& ev : events_scratch_) {
    if (!Relay(ev)) return;
  }
  if (st.code() == absl::StatusCode::kResourceExhausted) {  // an event over a bound
    CutShort({aigw::v1::SERVER_ERROR, NextStep::kNextTarget, error_code::kResponseTooLarge,
              Call().OverLimit(st.message())});
  } else if (!st.ok()) {
    // The parser is not fed again: the attempt ends as an unreadable answer.
    CutShort({aigw::v1::SERVER_ERROR, providers::NextStepFor(aigw::v1::SERVER_ERROR),
              error_code::kBadResponse,
              absl::UnavailableError(absl::StrCat(target().provider->code,
                                                  " sent a malformed stream: ",
                                                  Call().Scrub(st.message())))});
  }
}

bool CompletionMachine::Relay(const providers::StreamEvent& ev) {
  // A tool call's piece is content like text: it ends retries and counts
  // toward the bound.
  const bool delta = ev.kind == providers::StreamEvent::Kind::kDelta ||
                     ev.kind == providers::StreamEvent::Kind::kToolCall;
  if (delta && settings_->max_stream_content_bytes > 0) {
    streamed_bytes_ += static_cast<int64_t>(ev.delta_content.size() + ev.delta_reasoning.size() +
                                            ev.tool_call.arguments_delta.size());
    if (streamed_bytes_ > settings_->max_stream_content_bytes) {
      CutShort({aigw::v1::CLIENT_ERROR, NextStep::kGiveUp, error_code::kStreamTooLarge,
                absl::ResourceExhaustedError(absl::StrCat(
                    target().provider->code, " streamed more than ",
                    ByteSizeText(settings_->max_stream_content_bytes),
                    " of content, the gateway's limit per call: ask for fewer max_tokens"))});
      return false;
    }
  }
  stream_.Add(ev);
  if (!delta) return true;
  aigw::v1::ChatCompletionChunk chunk;
  chunk.set_id(stream_.completion().id);
  SetDelta(ev, &chunk);
  if (!first_delta_sent_) {
    first_delta_sent_ = true;
    ttft_ = settings_->clock->Now() - started_;
    if (settings_->metrics != nullptr) {
      settings_->metrics->FirstToken(target().provider->code, absl::ToDoubleSeconds(*ttft_));
    }
    chunk.set_model(target().model->code);
    chunk.set_provider_code(target().provider->code);
    chunk.set_request_id(request_.request_id());
  }
  if (absl::Status taken = out_->Write(std::move(chunk), /*last=*/false); !taken.ok()) {
    CutShort({aigw::v1::CLIENT_ERROR, NextStep::kGiveUp, error_code::kClientTooSlow,
              std::move(taken)});
    return false;
  }
  return true;
}

void CompletionMachine::CutShort(Cut cut) {
  cut_ = std::move(cut);
  out_->Abort();
}

bool CompletionMachine::HitStreamTimeLimit(const absl::Status& transport, absl::Time now) const {
  return stream_mode_ && transport.code() == absl::StatusCode::kDeadlineExceeded &&
         stream_end_ < deadline_ && now + absl::Seconds(1) >= stream_end_;
}

void CompletionMachine::OnAttemptDone(absl::Status transport, int http_status, std::string body) {
  transfer_active_ = false;
  if (finished_) return;
  const absl::Time now = settings_->clock->Now();
  if (cancelled_) {
    CountAttempt("CANCELLED", now);
    providers::TokenUsage usage;
    int64_t cost = 0;
    if (first_delta_sent_) ChargeDelivered(&usage, &cost);
    ReportAttempt(aigw::v1::CLIENT_ERROR, kClientClosedRequest, error_code::kCancelled,
                  kCancelledMessage, usage, cost, /*is_final=*/true, /*event=*/true);
    FailCancelled();
    return;
  }
  if (cut_.has_value()) {
    Cut cut = *std::move(cut_);
    cut_.reset();
    CountAttempt(aigw::v1::Outcome_Name(cut.outcome), now);
    AfterFailure(Failed(cut.outcome, cut.step, http_status, std::move(cut.error_code),
                        std::move(cut.status)));
    return;
  }
  AttemptResult result;
  if (HitStreamTimeLimit(transport, now)) {
    result = Failed(aigw::v1::NETWORK_ERROR, NextStep::kGiveUp, http_status,
                    error_code::kStreamTooLong,
                    absl::DeadlineExceededError(absl::StrCat(
                        target().provider->code, "'s stream ran for ",
                        absl::FormatDuration(settings_->max_stream_duration),
                        ", the gateway's limit per call")));
  } else {
    const providers::HttpAnswer answer{std::move(transport), http_status,
                                       std::move(retry_after_header_), std::move(body)};
    result = stream_mode_ ? Call().ReadStream(answer, stream_) : Call().ReadChat(answer);
  }
  CountAttempt(result.ok() ? "SUCCESS" : aigw::v1::Outcome_Name(result.outcome), now);
  if (result.ok()) {
    Succeed(std::move(result.completion));
    return;
  }
  AfterFailure(std::move(result));
}

void CompletionMachine::CountAttempt(const std::string& outcome, absl::Time now) {
  if (settings_->metrics == nullptr) return;
  settings_->metrics->UpstreamAttempt(target().provider->code, outcome,
                                      absl::ToDoubleSeconds(now - attempt_started_));
}

void CompletionMachine::RecordFailure(const absl::Status& failure, bool upstream) {
  std::optional<Failure>& slot = failures_[target_index_];
  // A lease refused after an upstream failure says less than that failure.
  if (slot.has_value() && slot->upstream && !upstream) return;
  slot = Failure{failure, upstream};
}

bool CompletionMachine::RetryDelay(const AttemptResult& result, absl::Duration* delay) {
  *delay = absl::ZeroDuration();  // another key, at once
  const NextStep step = result.next;
  bool retry = (step == NextStep::kRetrySameKey || step == NextStep::kRetryOtherKey) &&
               !first_delta_sent_ && target_attempts_ < settings_->retry.max_attempts_per_target;
  if (retry && result.outcome == aigw::v1::RATE_LIMITED) {
    // This key's Retry-After binds this key only: the retry leases another
    // at once, and the wait is kept for when no other can serve (OnLease).
    const absl::Duration wait =
        BackoffDelay(settings_->retry, target_attempts_, result.retry_after_ms, Random());
    if (rate_limited_keys_.empty()) rate_limit_wait_.reset();  // none waiting: a new round
    // Longer than the call waits: only another key (or target) may serve.
    if (wait <= settings_->retry.max_retry_after) {
      rate_limit_wait_ = rate_limit_wait_.has_value() ? std::min(*rate_limit_wait_, wait) : wait;
    }
    if (has_lease_) rate_limited_keys_.push_back(lease_.key_id());
  } else if (retry && step == NextStep::kRetrySameKey) {
    *delay = BackoffDelay(settings_->retry, target_attempts_, result.retry_after_ms, Random());
    if (result.retry_after_ms.has_value() &&
        absl::Milliseconds(*result.retry_after_ms) > settings_->retry.max_retry_after) {
      retry = false;  // the provider asks for longer than we wait: next target
    }
  }
  return retry && settings_->clock->Now() + *delay < deadline_;
}

void CompletionMachine::AfterFailure(AttemptResult result) {
  RecordFailure(result.failure, /*upstream=*/true);
  absl::Duration delay;
  const bool retry = RetryDelay(result, &delay);
  const NextStep step = result.next;
  if (step == NextStep::kRetryOtherKey && has_lease_) excluded_keys_.push_back(lease_.key_id());
  const bool ends_call = !retry && (step == NextStep::kGiveUp || first_delta_sent_ ||
                                    target_index_ + 1 >= targets_.size());
  providers::TokenUsage usage;
  int64_t cost = 0;
  if (first_delta_sent_) ChargeDelivered(&usage, &cost);
  ReportAttempt(result.outcome, result.http_status, result.error_code,
                std::string(result.failure.message()), usage, cost, ends_call, /*event=*/true,
                result.retry_after_ms.value_or(0));
  if (retry) {
    if (settings_->metrics != nullptr) {
      settings_->metrics->Retry(target().provider->code, result.error_code);
    }
    out_->Schedule(delay);
    return;
  }
  if (step == NextStep::kGiveUp || first_delta_sent_) {
    Fail(std::move(result.failure));
    return;
  }
  NextTarget();
}

bool CompletionMachine::WaitForRateLimitedKey(int64_t keypool_retry_after_ms) {
  if (!rate_limit_wait_.has_value() ||
      rate_limit_waits_ >= settings_->retry.max_attempts_per_target) {
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
  if (delay > settings_->retry.max_retry_after ||
      settings_->clock->Now() + delay >= deadline_) {
    return false;
  }
  for (int64_t key : rate_limited_keys_) {
    excluded_keys_.erase(std::remove(excluded_keys_.begin(), excluded_keys_.end(), key),
                         excluded_keys_.end());
  }
  rate_limited_keys_.clear();
  ++rate_limit_waits_;
  out_->Schedule(delay);
  return true;
}

void CompletionMachine::NextTarget() {
  if (target_index_ + 1 >= targets_.size()) {
    std::vector<std::string> parts;
    // The last target tried says what went wrong; a skipped one's
    // INVALID_ARGUMENT only when every target was skipped.
    absl::StatusCode code = absl::StatusCode::kUnavailable;
    absl::StatusCode skipped_code = absl::StatusCode::kOk;
    for (size_t i = 0; i < targets_.size(); ++i) {
      if (!failures_[i].has_value()) continue;
      (failures_[i]->skipped ? skipped_code : code) = failures_[i]->status.code();
      parts.push_back(std::string(failures_[i]->status.message()));
    }
    const bool all_skipped = std::all_of(failures_.begin(), failures_.end(), [](const auto& f) {
      return f.has_value() && f->skipped;
    });
    if (all_skipped) code = skipped_code;
    std::string message = parts.size() == 1
                              ? parts.front()
                              : absl::StrCat("every target failed: ", absl::StrJoin(parts, "; "));
    Fail(absl::Status(code, message));
    return;
  }
  const std::string& from = target().provider->code;
  ++target_index_;
  if (settings_->metrics != nullptr) settings_->metrics->Fallback(from, target().provider->code);
  target_attempts_ = 0;
  excluded_keys_.clear();
  rate_limited_keys_.clear();
  rate_limit_wait_.reset();
  rate_limit_waits_ = 0;
  EnterTarget();
}

int64_t CompletionMachine::CountPromptTokens() const {
  absl::StatusOr<tokenizer::TokenCount> prompt =
      gateway::CountPromptTokens(target().model->code, target().provider->code,
                                 request_.messages(), request_.tools(), TargetImageRule());
  return prompt.ok() ? prompt->tokens : EstimatePromptTokens(request_, TargetImageRule());
}

int64_t CompletionMachine::CountCompletionTokens(const providers::Completion& c) const {
  absl::StatusOr<tokenizer::TokenCount> completion =
      tokenizer::CountTextTokens(target().model->code, absl::StrCat(c.reasoning_content, c.content),
                                 target().provider->code);
  return completion.ok()
             ? completion->tokens
             : static_cast<int64_t>(c.content.size() + c.reasoning_content.size() + 3) / 4;
}

providers::TokenUsage CompletionMachine::UsageOf(const providers::Completion& c) const {
  providers::TokenUsage u = c.usage;
  if (!c.has_usage) {
    // Never log a call with zero tokens: count what the provider did not.
    u.prompt = CountPromptTokens();
    u.completion = CountCompletionTokens(c);
  }
  if (u.total == 0) u.total = u.prompt + u.completion;
  return u;
}

void CompletionMachine::ChargeDelivered(providers::TokenUsage* usage, int64_t* cost) const {
  const providers::Completion& c = stream_.completion();
  providers::TokenUsage u = c.usage;
  // The provider's figures so far, if any, are partial (some formats send
  // the prompt's at the start and the completion's at the end, others all
  // at the end): the tokenizer fills in what they do not cover yet.
  if (u.prompt == 0) u.prompt = CountPromptTokens();
  u.completion = std::max(u.completion, CountCompletionTokens(c));
  u.total = std::max(u.total, u.prompt + u.completion);
  *cost = providers::CostNanos(u, target().model->prices);
  *usage = u;
  RecordSpend(u, *cost);
}

void CompletionMachine::RecordSpend(const providers::TokenUsage& usage, int64_t cost_nanos) const {
  if (settings_->metrics == nullptr) return;
  GatewayMetrics::PerModel& pm =
      settings_->metrics->ForModel(target().provider->code, target().model->code);
  pm.prompt_tokens->Increment(static_cast<double>(usage.prompt));
  pm.completion_tokens->Increment(static_cast<double>(usage.completion));
  pm.cached_prompt_tokens->Increment(static_cast<double>(usage.cached_prompt));
  pm.cache_creation_tokens->Increment(static_cast<double>(usage.cache_creation));
  pm.reasoning_tokens->Increment(static_cast<double>(usage.reasoning));
  pm.cost_usd->Increment(NanosToUsd(cost_nanos));
}

void CompletionMachine::ReportKey(Outcome outcome, int http_status,
                                  const std::string& error_message,
                                  const providers::TokenUsage& usage, int64_t retry_after_ms) {
  aigw::v1::ReportUsageRequest r;
  r.set_lease_id(lease_.lease_id());
  r.set_outcome(outcome);
  r.set_http_status(http_status);
  r.set_prompt_tokens(usage.prompt);
  r.set_completion_tokens(usage.completion);
  r.set_total_tokens(usage.total);
  r.set_retry_after_ms(retry_after_ms);
  if (!error_message.empty()) r.set_error_message(Truncate(error_message));
  out_->Report(r);
  has_lease_ = false;
}

void CompletionMachine::ReportAttempt(Outcome outcome, int http_status,
                                      const std::string& error_code,
                                      const std::string& error_message,
                                      const providers::TokenUsage& usage, int64_t cost_nanos,
                                      bool is_final, bool event, int64_t retry_after_ms) {
  if (has_lease_) ReportKey(outcome, http_status, error_message, usage, retry_after_ms);
  if (!event) return;
  const absl::Time now = settings_->clock->Now();
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
  ev.set_is_stream(stream_mode_);
  ToProtoTimestamp(attempt_started_, ev.mutable_created_at());
  ev.set_is_final(is_final);
  if (outcome == aigw::v1::SUCCESS) ev.set_tool_calls(tool_calls_);
  ev.set_images(CountImages(request_));
  out_->Emit(std::move(ev));
}

void CompletionMachine::Succeed(providers::Completion completion) {
  const providers::TokenUsage usage = UsageOf(completion);
  const int64_t cost = providers::CostNanos(usage, target().model->prices);
  const std::string& provider = target().provider->code;
  const std::string& model = target().model->code;
  RecordSpend(usage, cost);
  tool_calls_ = static_cast<int>(completion.tool_calls.size());
  if (settings_->metrics != nullptr) {
    settings_->metrics->ToolCallsAndImages(provider, model, tool_calls_, CountImages(request_));
  }
  aigw::v1::ChatCompletion out;
  if (stream_mode_) {
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
    out_->Write(std::move(last), /*last=*/true).IgnoreError();  // always taken
  } else {
    SetToolCalls(completion.tool_calls, &out);
    out.set_id(std::move(completion.id));
    out.set_content(std::move(completion.content));
    out.set_reasoning_content(std::move(completion.reasoning_content));
    out.set_model(completion.model.empty() ? model : completion.model);
    out.set_provider_code(provider);
    ToProto(usage, out.mutable_usage());
    out.set_finish_reason(std::move(completion.finish_reason));
    ToProtoTimestamp(settings_->clock->Now(), out.mutable_created_at());
    out.set_cost_usd(NanosToUsd(cost));
    out.set_cost_nanos(cost);
    out.set_attempts(attempt_);
    out.set_request_id(request_.request_id());
  }
  Finish(absl::OkStatus(), std::move(out));
  // The keypool report and the call event leave after the answer: they are
  // not on the caller's path.
  ReportAttempt(aigw::v1::SUCCESS, 200, "", "", usage, cost, /*is_final=*/true, /*event=*/true);
}

void CompletionMachine::Fail(absl::Status status) { Finish(std::move(status), {}); }

void CompletionMachine::Finish(absl::Status status, aigw::v1::ChatCompletion completion) {
  if (finished_) return;
  finished_ = true;
  if (settings_->metrics != nullptr) {
    settings_->metrics->inflight().Decrement();
    settings_->metrics->RequestDone(target().provider->code, target().model->code,
                                    static_cast<int>(status.code()), stream_mode_,
                                    absl::ToDoubleSeconds(settings_->clock->Now() - started_));
  }
  out_->Finish(std::move(status), std::move(completion));
}

}  // namespace aigw::gateway
