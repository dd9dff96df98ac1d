#ifndef AIGW_SERVICES_GATEWAY_COMPLETION_MACHINE_H_
#define AIGW_SERVICES_GATEWAY_COMPLETION_MACHINE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "aigw/v1/chat.pb.h"
#include "aigw/v1/keypool.pb.h"
#include "aigw/v1/usage.pb.h"
#include "libs/common/clock.h"
#include "libs/http/host_allowlist.h"
#include "libs/http/http_engine.h"
#include "libs/providers/outcome.h"
#include "libs/providers/provider_call.h"
#include "libs/providers/stream_accumulator.h"
#include "libs/tokenizer/image_tokens.h"
#include "services/gateway/gateway_metrics.h"
#include "services/gateway/key_leaser.h"
#include "services/gateway/request_validation.h"
#include "services/gateway/retry_policy.h"

namespace aigw::gateway {

// How every completion behaves: retries, bounds, and the seams a test sets
// (the clock, the jitter).
struct CompletionSettings {
  GatewayMetrics* metrics = nullptr;  // optional
  Clock* clock = Clock::Real();
  RetryOptions retry;
  // One upstream attempt, whole (unary) or until the first byte (streams).
  absl::Duration upstream_timeout = absl::Seconds(120);
  // A stream silent for this long is cut.
  absl::Duration stream_idle_timeout = absl::Seconds(60);
  // A stream is cut this long after the call began, whatever the client's
  // deadline (a trickle of keep-alives must not hold a call for ever).
  // Zero: no limit.
  absl::Duration max_stream_duration = absl::Minutes(10);
  // A stream is cut once its content (text and reasoning) would pass this
  // many bytes. Zero: no limit.
  int64_t max_stream_content_bytes = 4 << 20;
  // --provider_host_allowlist: a target whose URL names another host is
  // refused without sending (its base_url may have been edited in the
  // database by hand). Null or empty: any host.
  const http::HostAllowlist* provider_hosts = nullptr;
  // Uniform in [0, 1): backoff jitter. Unset: 0.5 (no jitter).
  std::function<double()> random;
};

// What the machine asks of the world. Each action is called from inside one
// of the machine's event handlers and must not call back into the machine:
// its answer, if any, is a later event.
class CompletionActions {
 public:
  virtual ~CompletionActions() = default;
  // Ask the keypool for a key: answered by OnLease.
  virtual void Lease(const aigw::v1::LeaseKeyRequest& request) = 0;
  // Start the upstream transfer: answered by OnHeaders, OnData (streams) and
  // at last OnAttemptDone.
  virtual void Send(http::HttpRequest request) = 0;
  // End the transfer in flight early: OnAttemptDone follows (CANCELLED).
  virtual void Abort() = 0;
  // Call OnTimer after `delay` (a backoff, a Retry-After).
  virtual void Schedule(absl::Duration delay) = 0;
  // Tell the keypool how a lease was used. Fire and forget.
  virtual void Report(const aigw::v1::ReportUsageRequest& report) = 0;
  // Record one attempt in the call log (the usage service).
  virtual void Emit(aigw::v1::CallEvent event) = 0;
  // Hand the client the next chunk of a stream; a refusal (the client is too
  // far behind) cuts the stream. The `last` chunk is always taken.
  virtual absl::Status Write(aigw::v1::ChatCompletionChunk chunk, bool last) = 0;
  // The call's answer: the completion (unary) or the final status. Exactly
  // once.
  virtual void Finish(absl::Status status, aigw::v1::ChatCompletion completion) = 0;
};

// One client request as a state machine, without threads or I/O: for each
// target (the first, then the fallbacks) that has what the request needs
// (CheckCapabilities: tools, images; one without is skipped, recorded as an
// attempt NOT_SENT with UNSUPPORTED_CAPABILITY) lease a key, call the provider,
// report to the keypool, emit a CallEvent; retry with backoff on 5xx and
// network errors; switch key at once on 429, a rejected key (401) and a 403
// for the key, and wait for a 429's Retry-After only when no other key of
// the target can serve; move to the next target when one is exhausted or
// refuses every key (403 region). A stream retries only until its first
// delta has been sent; one that ends after it (client cancel, upstream cut,
// idle timeout, a bound) is charged for the tokens delivered. What an
// upstream may send is bounded (content and duration of a stream here; body,
// headers, one event, JSON depth below): an attempt over a bound is not
// retried. Provider error text leaves scrubbed of the key.
//
// Events come in through the On* methods, one at a time (the driver,
// CompletionCall, serialises them on one thread); every effect goes out
// through CompletionActions. The same machine serves unary calls, streams
// and batch items.
class CompletionMachine {
 public:
  // `targets` must stay valid while the machine lives. `stream`: the answer
  // goes out as chunks (Write), and Finish carries only the status.
  CompletionMachine(const CompletionSettings* settings, aigw::v1::ChatCompletionRequest request,
                    std::vector<ResolvedTarget> targets, bool stream, absl::Time deadline,
                    CompletionActions* out);

  // Events.
  void Start();
  void OnLease(LeaseResult result);
  // The upstream answer's headers arrived; `retry_after` is its Retry-After.
  void OnHeaders(absl::string_view retry_after);
  // A piece of a streamed answer's body.
  void OnData(absl::string_view bytes);
  // The upstream transfer ended (HttpCallbacks::on_done).
  void OnAttemptDone(absl::Status transport, int http_status, std::string body);
  void OnTimer();
  // The client went away: an upstream transfer is aborted, a wait ends.
  void Cancel();

  const std::string& request_id() const { return request_.request_id(); }
  bool finished() const { return finished_; }

 private:
  struct Failure {
    absl::Status status;    // what the client would get
    bool upstream = false;  // an upstream answer, not a refused lease
    bool skipped = false;   // the target lacked a capability and was not tried
  };
  // The gateway ended an attempt itself, mid-stream: a bound was passed,
  // the stream did not parse, or the client fell behind. How the attempt is
  // recorded, and what follows.
  struct Cut {
    aigw::v1::Outcome outcome;
    providers::NextStep step;
    std::string error_code;
    absl::Status status;
  };

  const ResolvedTarget& target() const { return targets_[target_index_]; }
  // The call moved to targets_[target_index_]: lease for it, or skip it when
  // its model lacks what the request needs.
  void EnterTarget();
  // Records the skip (an event NOT_SENT naming the capability) and moves on.
  void SkipTarget(const absl::Status& why, absl::string_view capability);
  void LeaseNext();
  void SendAttempt();
  // The target's URL is outside --provider_host_allowlist: nothing is sent,
  // the lease goes back unused, and the call moves to its next target.
  void RefuseHost(const absl::Status& refusal);
  // A lease was refused: wait for a rate-limited key, or record an attempt
  // that was never sent and move on.
  void OnNoLease(const LeaseResult& result);
  // One parsed delta to the client. False when the stream was cut.
  bool Relay(const providers::StreamEvent& event);
  // Has the driver abort the transfer; OnAttemptDone records the attempt as
  // `cut` says.
  void CutShort(Cut cut);
  // The transfer timed out at the stream's own time limit, not the client's.
  bool HitStreamTimeLimit(const absl::Status& transport, absl::Time now) const;
  // After a failed attempt: retry, move on, or finish.
  void AfterFailure(providers::AttemptResult result);
  // How long before the retry of a failed attempt; false: no retry.
  bool RetryDelay(const providers::AttemptResult& result, absl::Duration* delay);
  // A lease came back RESOURCE_EXHAUSTED after a 429 on this target: every
  // other key is taken too, so wait as the 429 asked (or, once waited, as the
  // keypool's `keypool_retry_after_ms` says) and lease again. False when
  // there is nothing to wait for or it would take too long.
  bool WaitForRateLimitedKey(int64_t keypool_retry_after_ms);
  void RecordFailure(const absl::Status& failure, bool upstream);
  // The upstream-attempt metric for the attempt that just ended.
  void CountAttempt(const std::string& outcome, absl::Time now);
  void NextTarget();
  void Succeed(providers::Completion completion);
  void Fail(absl::Status status);
  void Finish(absl::Status status, aigw::v1::ChatCompletion completion);
  void FailCancelled();
  double Random() const;

  // One attempt's record for the usage service and the keypool.
  // `event`: also emit the CallEvent (not for a lease never used).
  void ReportAttempt(aigw::v1::Outcome outcome, int http_status, const std::string& error_code,
                     const std::string& error_message, const providers::TokenUsage& usage,
                     int64_t cost_nanos, bool is_final, bool event, int64_t retry_after_ms = 0);
  void ReportKey(aigw::v1::Outcome outcome, int http_status, const std::string& error_message,
                 const providers::TokenUsage& usage, int64_t retry_after_ms);
  // Usage from the provider, or counted by the tokenizer when it sent none.
  providers::TokenUsage UsageOf(const providers::Completion& c) const;
  int64_t CountPromptTokens() const;
  int64_t CountCompletionTokens(const providers::Completion& c) const;
  // What a stream that ended after content reached the client costs: the
  // prompt and the completion delivered so far, never zero.
  void ChargeDelivered(providers::TokenUsage* usage, int64_t* cost) const;
  // The token and cost metrics of a billed attempt.
  void RecordSpend(const providers::TokenUsage& usage, int64_t cost_nanos) const;
  int64_t EstimatedTokens() const;
  // How the current target's provider counts images.
  tokenizer::ImageRule TargetImageRule() const;
  providers::ProviderCall Call() const;

  const CompletionSettings* const settings_;
  aigw::v1::ChatCompletionRequest request_;
  const std::vector<ResolvedTarget> targets_;
  const RequestNeeds needs_;
  const bool stream_mode_;
  const absl::Time deadline_;
  CompletionActions* const out_;
  const absl::Time started_;
  // When a stream is cut whatever the deadline (max_stream_duration).
  absl::Time stream_end_;

  size_t target_index_ = 0;
  int attempt_ = 0;          // across targets: the CallEvent's attempt number
  int target_attempts_ = 0;  // on the current target
  std::vector<int64_t> excluded_keys_;
  // The keys of excluded_keys_ that answered 429 and were not waited for yet,
  // the shortest wait they asked for (none when each asked for longer than
  // RetryOptions::max_retry_after), and the waits so far on this target.
  std::vector<int64_t> rate_limited_keys_;
  std::optional<absl::Duration> rate_limit_wait_;
  int rate_limit_waits_ = 0;
  aigw::v1::LeaseKeyResponse lease_;
  bool has_lease_ = false;
  bool transfer_active_ = false;
  bool lease_pending_ = false;
  std::string retry_after_header_;
  absl::Time attempt_started_;
  std::optional<absl::Duration> ttft_;
  std::unique_ptr<providers::StreamParser> parser_;
  providers::StreamAccumulator stream_;
  std::vector<providers::StreamEvent> events_scratch_;
  std::optional<Cut> cut_;
  int64_t streamed_bytes_ = 0;  // content of this attempt's stream so far
  bool first_delta_sent_ = false;
  int tool_calls_ = 0;  // in the successful answer, for its call event
  bool cancelled_ = false;
  bool finished_ = false;
  // The last failure on each target, for the final error.
  std::vector<std::optional<Failure>> failures_;
};

}  // namespace aigw::gateway

#endif  // AIGW_SERVICES_GATEWAY_COMPLETION_MACHINE_H_
