#ifndef AIGW_LIBS_PROVIDERS_PROVIDER_CALL_H_
#define AIGW_LIBS_PROVIDERS_PROVIDER_CALL_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "aigw/v1/common.pb.h"
#include "libs/common/clock.h"
#include "libs/http/http_engine.h"
#include "libs/providers/adapter.h"
#include "libs/providers/chat_types.h"
#include "libs/providers/outcome.h"
#include "libs/providers/stream_accumulator.h"

// One call to a provider with one key, the way every service makes it:
// build the request (the adapter of the provider's api_format), send it
// (the HTTP engine), parse the answer, read a failure as a typed upstream
// error, and classify it (outcome.h) into what the caller hears, what the
// call log records and what may serve instead. The gateway sends its chat
// calls asynchronously (its completion driver) and reads them here; admin
// lists models and validates keys through SendAndWait.
namespace aigw::providers {

// What one upstream attempt came to.
struct AttemptResult {
  aigw::v1::Outcome outcome = aigw::v1::SUCCESS;
  NextStep next = NextStep::kGiveUp;
  // The provider's HTTP status (a stream's in-band error: the status its
  // type implies).
  int http_status = 0;
  // A failure's code for the call log: an outcome's name or error_code's.
  std::string error_code;
  // What the client hears of a failure; the provider's words scrubbed of the
  // key.
  absl::Status failure;
  std::optional<int64_t> retry_after_ms;
  // The answer, on SUCCESS.
  Completion completion;

  bool ok() const { return outcome == aigw::v1::SUCCESS; }
};

// A finished transfer as the HTTP engine reports it.
struct HttpAnswer {
  absl::Status transport;
  int status = 0;
  std::string retry_after;  // the Retry-After header, "" when absent
  std::string body;
};

// The provider's part of one call: where it goes and with which key. Cheap
// to make (views, no allocation); the strings it views must outlive it.
class ProviderCall {
 public:
  // `provider` names the provider in what the caller hears ("openai
  // unreachable: ..."); `api_key` is the key the call is sent with and is
  // scrubbed out of anything the provider says back.
  ProviderCall(const ProviderAdapter& adapter, absl::string_view provider,
               absl::string_view api_key, Clock* clock = Clock::Real())
      : adapter_(&adapter), provider_(provider), api_key_(api_key), clock_(clock) {}

  const ProviderAdapter& adapter() const { return *adapter_; }

  // The chat call to `base_url` (timeouts are the caller's to set).
  http::HttpRequest BuildChat(const ChatParams& params, absl::string_view base_url) const {
    return adapter_->BuildRequest(params, base_url, api_key_);
  }
  // The model list call that validates a key and syncs models.
  http::HttpRequest BuildListModels(absl::string_view base_url) const;

  // A unary chat answer: the completion, or why there is none.
  AttemptResult ReadChat(const HttpAnswer& answer) const;
  // A streamed chat answer, once its transfer ended: `stream` holds what the
  // stream's events amounted to (its completion is taken on success).
  AttemptResult ReadStream(const HttpAnswer& answer, StreamAccumulator& stream) const;

  // A non-2xx answer's error, its message scrubbed of the key.
  UpstreamError ReadError(const HttpAnswer& answer) const;
  // The provider's words with the key taken out wherever it was echoed.
  std::string Scrub(absl::string_view text) const;

  // What the client hears of an attempt that failed with `outcome` (the
  // provider's HTTP answer in the gRPC vocabulary): a timeout
  // DEADLINE_EXCEEDED, a network failure or a server error UNAVAILABLE, a
  // rate limit RESOURCE_EXHAUSTED, a rejected key UNAUTHENTICATED, a 403
  // PERMISSION_DENIED, 404 NOT_FOUND, 400/413/422 INVALID_ARGUMENT, any
  // other refusal FAILED_PRECONDITION. `upstream_message` is scrubbed.
  absl::Status AttemptStatus(aigw::v1::Outcome outcome, int http_status,
                             const absl::Status& transport,
                             absl::string_view upstream_message) const;
  // An answer over one of the bounds on what an upstream may send: its
  // target is not tried again.
  absl::Status OverLimit(absl::string_view what) const;

 private:
  // A failure of an answer that is not a 2xx: over a bound, a redirect, a
  // network failure, or the provider's error answer.
  AttemptResult ReadFailure(const HttpAnswer& answer, aigw::v1::Outcome outcome) const;

  const ProviderAdapter* adapter_;
  absl::string_view provider_;
  absl::string_view api_key_;
  Clock* clock_;
};

// Sends `request` through `engine` and blocks the calling thread until the
// transfer ends (for synchronous callers: admin's handlers).
HttpAnswer SendAndWait(http::HttpEngine& engine, http::HttpRequest request);

}  // namespace aigw::providers

#endif  // AIGW_LIBS_PROVIDERS_PROVIDER_CALL_H_
